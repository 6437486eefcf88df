import Foundation
import XCTest
@testable import RestoreCore

/// model.json's mel block is checked against the front end a model folder's tokenizer implies.
final class ModelManifestTests: XCTestCase {
    func folder(mel: [String: Any]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("manifest-\(UUID().uuidString)/default")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let json = try JSONSerialization.data(withJSONObject: ["name": "t", "mel": mel, "components": [:]])
        try json.write(to: dir.appendingPathComponent("model.json"))
        addTeardownBlock { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        return dir.path
    }

    let standard: [String: Any] = ["sample_rate": 22050, "n_fft": 1024, "hop": 256, "n_mels": 80, "fmin": 0, "fmax": 8000,
                                   "db_range": [-100, 20]]

    func testMatchingMelPasses() throws {
        XCTAssertNoThrow(try ModelManifest.checkMel(manifestFolder: folder(mel: standard), against: MelConfig(dbMin: -100)))
    }

    func testAnotherFloorIsRefusedWithTheKeyAndBothValues() throws {
        let dir = try folder(mel: standard)
        XCTAssertThrowsError(try ModelManifest.checkMel(manifestFolder: dir, against: MelConfig())) { e in
            XCTAssertEqual("\(e)", "\(dir)/model.json: mel db_range[0] is -100 but the front end (with the tokenizer's normalisation) uses -80; the model folder's files do not belong together")
        }
    }

    func testAnotherHopIsRefused() throws {
        var mel = standard
        mel["hop"] = 512
        XCTAssertThrowsError(try ModelManifest.checkMel(manifestFolder: folder(mel: mel), against: MelConfig(dbMin: -100))) { e in
            XCTAssertTrue("\(e)".contains("mel hop is 512 but the front end"), "\(e)")
        }
    }

    func testFolderWithoutManifestIsNotChecked() throws {
        XCTAssertNoThrow(try ModelManifest.checkMel(manifestFolder: "/nonexistent-\(UUID().uuidString)", against: MelConfig()))
    }
}
