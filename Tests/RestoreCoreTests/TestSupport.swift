import Foundation
import XCTest
@testable import RestoreCore

enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    /// A safetensors file's bytes with its `__metadata__` replaced (tensors unchanged).
    static func safetensors(_ path: String, metadata: [String: String]) throws -> Data {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let n = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        var header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + n))) as! [String: Any]
        header["__metadata__"] = metadata
        var json = try JSONSerialization.data(withJSONObject: header, options: .sortedKeys)
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        return out + json + bytes.subdata(in: (8 + n)..<bytes.count)
    }

    static func npy(_ relative: String) throws -> NumpyArray {
        try NumpyArray.read(root.appendingPathComponent(relative).path)
    }
}

/// ‖a − b‖ / ‖b‖ in Double.
func relativeL2(_ a: [Float], _ b: [Float]) -> Double { Approximate.relativeL2(a, b) }

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// A fresh folder under the system temp directory, removed by the caller's teardown.
func makeTempFolder() throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("restore-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}
