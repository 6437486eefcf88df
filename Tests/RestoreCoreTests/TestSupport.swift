import Foundation
import XCTest
@testable import RestoreCore

enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
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
