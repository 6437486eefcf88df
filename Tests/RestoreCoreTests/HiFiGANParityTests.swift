import Foundation
import XCTest
@testable import RestoreCore

/// The Swift generator against PyTorch on the golden 2 s mel written by
/// training/export_hifigan.py. Needs the converted weights (scripts/fetch-pretrained,
/// which `make test` always runs).
final class HiFiGANParityTests: XCTestCase {
    static let weights = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Models/pretrained/hifigan-universal.safetensors").path

    // Parity is an fp32 contract; bf16 (the default on AVX512-BF16 CPUs) has its own test
    // in KernelBackendTests.
    private var savedPrecision = VocoderPrecision.current
    override func setUp() { savedPrecision = VocoderPrecision.current; VocoderPrecision.current = .fp32 }
    override func tearDown() { VocoderPrecision.current = savedPrecision }

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

extension HiFiGANParityTests {
    /// Chunks with 16 frames of context reproduce the whole-input output, in parallel or not.
    func testChunkedSynthesisEqualsWholeInput() throws {
        let vocoder = try loadVocoder()
        let mel = try Fixtures.npy("hifigan/mel.npy")
        let spec = MelSpectrogram(melCount: 80, frames: 172, values: mel.values)
        let whole = vocoder(Tensor(shape: mel.shape, data: mel.values), threads: 1)
        for (chunk, threads) in [(64, 1), (50, 2), (1024, 2)] {
            let chunked = vocoder.synthesize(spec, chunkFrames: chunk, threads: threads)
            XCTAssertEqual(chunked.count, whole.count)
            XCTAssertLessThan(relativeL2(chunked, whole), 1e-5, "chunk \(chunk), threads \(threads)")
        }
    }

    func testResynthesisKeepsRateChannelsAndLength() throws {
        let vocoder = try loadVocoder()
        let left = TestSignals.sine(frequency: 440, sampleRate: 44100, seconds: 0.5, amplitude: 0.3)
        let right = TestSignals.sine(frequency: 660, sampleRate: 44100, seconds: 0.5, amplitude: 0.2)
        let result = try Resynthesis(vocoder: vocoder).run(AudioBuffer(sampleRate: 44100, channels: [left, right]))
        XCTAssertEqual(result.audio.sampleRate, 44100)
        XCTAssertEqual(result.audio.channelCount, 2)
        XCTAssertEqual(result.audio.frameCount, left.count)
        XCTAssertTrue(result.melL1.isFinite)
        XCTAssertLessThan(result.melL1, 1.5)
        // The vocoder keeps pitch, not phase: each channel's spectral peak is its tone.
        let stft = STFT(nFFT: 4096, hop: 1024)
        for (k, f) in [(0, 440.0), (1, 660.0)] {
            let mag = stft.magnitude(result.audio.channels[k])
            var mean = [Float](repeating: 0, count: stft.bins)
            for t in 0..<(mag.count / stft.bins) { for b in 0..<stft.bins { mean[b] += mag[t * stft.bins + b] } }
            let peak = mean.indices.max { mean[$0] < mean[$1] }!
            XCTAssertEqual(Double(peak) * 44100 / 4096, f, accuracy: 44100 / 4096, "channel \(k)")
        }
    }
}
