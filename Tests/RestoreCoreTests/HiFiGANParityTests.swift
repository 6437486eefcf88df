import Foundation
import XCTest
@testable import RestoreCore

/// The Swift generator against PyTorch on the golden 2 s mel written by
/// training/export_hifigan.py. Needs the converted weights (scripts/fetch-pretrained,
/// which `make test` always runs).
final class HiFiGANParityTests: XCTestCase {
    static let weights = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Models/pretrained/hifigan-universal.safetensors").path

    func loadVocoder() throws -> HiFiGAN {
        guard FileManager.default.fileExists(atPath: HiFiGANParityTests.weights) else {
            throw XCTSkip("SKIPPED: \(HiFiGANParityTests.weights) is absent; run scripts/fetch-pretrained (make test does)")
        }
        return try HiFiGAN(path: HiFiGANParityTests.weights)
    }

    func testOutputMatchesPyTorchWithin1e4() throws {
        let vocoder = try loadVocoder()
        let mel = try Fixtures.npy("hifigan/mel.npy")
        let ref = try Fixtures.npy("hifigan/audio.npy")
        XCTAssertEqual(mel.shape, [80, 172])
        let out = vocoder(Tensor(shape: mel.shape, data: mel.values))
        XCTAssertEqual(out.count, 172 * 256)
        XCTAssertEqual(out.count, ref.values.count)
        let err = relativeL2(out, ref.values)
        print("hifigan parity: relative L2 error \(err)")
        XCTAssertLessThan(err, 1e-4)
    }

    func testConfigAndShapesAreValidated() throws {
        let vocoder = try loadVocoder()
        XCTAssertEqual(vocoder.hop, 256)
        XCTAssertEqual(vocoder.config.sampling_rate, 22050)
        // A file whose tensors do not fit its config fails with the tensor named.
        let f = try SafeTensorsFile(path: HiFiGANParityTests.weights)
        var tensors: [String: Tensor] = [:]
        for n in f.names { tensors[n] = try f.tensor(n) }
        tensors["conv_post.weight"] = Tensor(zeros: [1, 16, 7])
        let data = try SafeTensorsWriter.encode(tensors, metadata: f.metadata)
        XCTAssertThrowsError(try HiFiGAN(file: SafeTensorsFile(data: data, name: "bad.safetensors"))) { e in
            XCTAssertEqual("\(e)", "bad.safetensors: tensor 'conv_post.weight': shape [1, 16, 7] does not match the expected [1, 32, 7]")
        }
    }
}
