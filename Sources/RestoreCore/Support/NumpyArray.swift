import Foundation

/// A float array in NumPy's .npy format (v1/v2/v3, C order, little-endian
/// float16/32/64 or int32/64). Used for golden fixtures and `embed` output.
public struct NumpyArray: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape does not match element count")
        self.shape = shape
        self.values = values
    }

    public static func read(_ path: String) throws -> NumpyArray {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RestoreError.fileNotFound(path: path)
        }
        return try parse(data, path: path)
    }

    public static func parse(_ data: Data, path: String) throws -> NumpyArray {
        func bad(_ r: String) -> RestoreError { .invalidData(path: path, reason: "not a valid .npy file (\(r))") }
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else { throw bad("bad magic") }
        let major = bytes[6]
        let headerLen: Int, start: Int
        if major == 1 {
            headerLen = Int(bytes[8]) | Int(bytes[9]) << 8
            start = 10
        } else if major == 2 || major == 3 {
            guard bytes.count >= 12 else { throw bad("truncated header") }
            headerLen = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            start = 12
        } else { throw bad("version \(major)") }
        guard start + headerLen <= bytes.count else { throw bad("truncated header") }
        let header = String(decoding: bytes[start..<(start + headerLen)], as: UTF8.self)
        guard let descr = field(header, "descr"), let shapeText = field(header, "shape") else { throw bad("header lacks descr or shape") }
        if let fo = field(header, "fortran_order"), fo.hasPrefix("True") { throw bad("Fortran order is not supported") }
        let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var shape: [Int] = []
        for d in dims { guard let v = Int(d), v >= 0 else { throw bad("shape \(shapeText)") }; shape.append(v) }
        let count = shape.reduce(1, *)
        let type = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        let size: Int
        switch type {
        case "<f2": size = 2
        case "<f4", "<i4": size = 4
        case "<f8", "<i8": size = 8
        default: throw bad("dtype \(type) is not supported")
        }
        let body = start + headerLen
        guard bytes.count - body >= count * size else { throw bad("data shorter than shape \(shape)") }
        var values = [Float](repeating: 0, count: count)
        data.withUnsafeBytes { raw in
            let p = raw.baseAddress! + body
            for i in 0..<count {
                switch type {
                case "<f2": values[i] = Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))))
                case "<f4": values[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                case "<i4": values[i] = Float(Int32(littleEndian: p.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)))
                case "<f8": values[i] = Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))))
                default: values[i] = Float(Int64(littleEndian: p.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)))
                }
            }
        }
        return NumpyArray(shape: shape, values: values)
    }

    /// The text after `'key':` in the header dict, up to the next top-level comma.
    private static func field(_ header: String, _ key: String) -> String? {
        guard let r = header.range(of: "'\(key)':") else { return nil }
        var rest = header[r.upperBound...].drop { $0 == " " }
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[...close])
        }
        if let comma = rest.firstIndex(where: { $0 == "," || $0 == "}" }) { rest = rest[..<comma] }
        return String(rest)
    }

    /// Little-endian float32 .npy, version 1.0.
    public func encoded() -> Data {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(dims), }"
        // Total preamble is padded to a multiple of 64 bytes, ending in a newline.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let n = UInt16(header.utf8.count)
        out.append(contentsOf: [UInt8(n & 0xff), UInt8(n >> 8)])
        out.append(contentsOf: Array(header.utf8))
        values.withUnsafeBufferPointer { out.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self), count: $0.count * 4)) }
        return out
    }
}
