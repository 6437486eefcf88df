import Foundation
import RestoreCore
import XCTest

/// `fill-gap --detect --list` prints what it would fill and writes nothing; `info` counts
/// the same dropouts.
final class FillGapListTests: XCTestCase {
    var folder = ""
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("restore-list-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    func testListPrintsTheGapsAndWritesNothing() throws {
        let rate = 22050.0
        var x = (0..<Int(3 * rate)).map { i in Float(0.3 * sin(2 * .pi * 330 * Double(i) / rate) + 0.1 * sin(2 * .pi * 1210 * Double(i) / rate)) }
        for i in Int(1.0 * rate)..<Int(1.1 * rate) { x[i] = 0 }
        let path = "\(folder)/take.wav"
        try AudioWriter.write(AudioBuffer(sampleRate: rate, mono: x), to: path, options: .init(encoding: .pcm16))
        // A model folder that does not exist: --list must not need one.
        let r = try CLI.run(["fill-gap", "--detect", "--list", "--model", "\(folder)/no-model", path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "\(path): 1 gap to fill: 1.000–1.100 s (100 ms)\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["take.wav"])
        let json = try CLI.run(["fill-gap", "--detect", "--list", "--json", path])
        struct Listed: Decodable { struct Gap: Decodable { var start: Double; var end: Double }; var gaps: [Gap]; var detected: Int }
        let listed = try XCTUnwrap(try json.reports(Listed.self).first)
        XCTAssertEqual(listed.detected, 1)
        XCTAssertEqual(listed.gaps.first?.start ?? 0, 1.0, accuracy: 1e-3)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["take.wav"])
        let info = try CLI.run(["info", path])
        XCTAssertTrue(info.stdout.contains("dropouts:    1"), info.stdout)
    }
}
