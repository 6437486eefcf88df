import CZlib
import Foundation

/// An 8-bit RGB image and its PNG encoding (IHDR, one zlib IDAT, IEND; filter 0 on every
/// scanline), written by the project so plots need nothing beyond zlib.
public struct RGBImage: Sendable, Equatable {
    public let width: Int, height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        precondition(width > 0 && height > 0)
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) { pixels[3 * i] = fill.0; pixels[3 * i + 1] = fill.1; pixels[3 * i + 2] = fill.2 }
    }

    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        get { let i = 3 * (y * width + x); return (pixels[i], pixels[i + 1], pixels[i + 2]) }
        set {
            guard x >= 0, x < width, y >= 0, y < height else { return }
            let i = 3 * (y * width + x)
            pixels[i] = newValue.0; pixels[i + 1] = newValue.1; pixels[i + 2] = newValue.2
        }
    }

    /// A rectangle outline, `thickness` pixels wide, clipped to the image.
    public mutating func outline(x0: Int, y0: Int, x1: Int, y1: Int, color: (UInt8, UInt8, UInt8), thickness: Int = 2) {
        for t in 0..<thickness {
            for x in x0...max(x0, x1) { self[x, y0 + t] = color; self[x, y1 - t] = color }
            for y in y0...max(y0, y1) { self[x0 + t, y] = color; self[x1 - t, y] = color }
        }
    }

    public func pngData() throws -> Data {
        var raw = [UInt8]()
        raw.reserveCapacity(height * (1 + 3 * width))
        for y in 0..<height {
            raw.append(0)
            raw += pixels[(3 * y * width)..<(3 * (y + 1) * width)]
        }
        var size = compressBound(uLong(raw.count))
        var packed = [UInt8](repeating: 0, count: Int(size))
        let status = compress2(&packed, &size, raw, uLong(raw.count), 6)
        guard status == Z_OK else { throw RestoreError.invalidArgument("PNG: zlib compression failed (\(status))") }
        packed.removeLast(packed.count - Int(size))
        var out = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header.append(contentsOf: [8, 2, 0, 0, 0])   // 8 bit, RGB, deflate, filter 0, no interlace
        Self.chunk("IHDR", header, into: &out)
        Self.chunk("IDAT", Data(packed), into: &out)
        Self.chunk("IEND", Data(), into: &out)
        return out
    }

    static func chunk(_ type: String, _ body: Data, into out: inout Data) {
        out.appendBigEndian(UInt32(body.count))
        var typed = Data(type.utf8)
        typed.append(body)
        out.append(typed)
        let crc = typed.withUnsafeBytes { crc32(0, $0.bindMemory(to: UInt8.self).baseAddress, uInt(typed.count)) }
        out.appendBigEndian(UInt32(crc))
    }
}

extension Data {
    mutating func appendBigEndian(_ v: UInt32) {
        append(contentsOf: [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)])
    }
}
