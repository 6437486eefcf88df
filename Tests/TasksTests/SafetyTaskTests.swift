import Foundation
import XCTest
import RestoreCore
@testable import Tasks

/// Issue 14: nothing we ship may make a good recording worse. `bwe --cutoff auto` copies what
/// has no confident cutoff; `fill-gap --detect` leaves pauses alone and says what it filled.
final class SafetyTaskTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("restore-safety-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    static let model: EngineModel? = try? EngineModel.load()

    func context(_ out: String) throws -> TaskContext {
        guard let m = Self.model else { throw XCTSkip("engine model not found (run scripts/fetch-pretrained)") }
        return TaskContext(sampling: SamplingSettings(iterations: 2, seed: 0), outputPath: out,
                           writeOptions: AudioWriteOptions(), loadModel: { m })
    }

    func write(_ x: [Float], _ name: String, rate: Double = 22050) throws -> String {
        let p = dir + "/" + name
        try AudioWriter.write(AudioBuffer(sampleRate: rate, mono: x), to: p, options: AudioWriteOptions(encoding: .pcm16))
        return p
    }

    func samples(_ path: String) throws -> [[Float]] { try AudioFile.read(path).0.channels }

    func testBweAutoCopiesWhatHasNoConfidentCutoff() throws {
        let rate = 22050.0, n = Int(2 * rate)
        let inputs: [(String, [Float])] = [
            ("silence", [Float](repeating: 0, count: n)),
            ("dc", [Float](repeating: 0.3, count: n)),
            ("sine", TestSignals.sine(frequency: 1000, sampleRate: rate, seconds: 2)),
            ("rolloff", RestoreCoreSignals.pink(rate: rate, seconds: 2)),
        ]
        for (name, x) in inputs {
            let path = try write(x, name + ".wav")
            let ctx = try context(dir + "/\(name).bwe.wav")
            let r = try BandwidthExtension(options: .init()).run(input: TaskInput(path: path), context: ctx)
            XCTAssertEqual(r.report["windows"], 0, name)
            XCTAssertEqual(r.report["copied"], true, name)
            XCTAssertEqual(try samples(dir + "/\(name).bwe.wav"), try samples(path), "\(name): changed")
            XCTAssertTrue(ctx.notes.contains { $0.contains("copied unchanged") }, "\(name): \(ctx.notes)")
        }
    }

    func testBweAutoStillExtendsAConfidentCutoff() throws {
        let rate = 22050.0
        let x = FIRFilter.lowPass(cutoff: 4000, sampleRate: rate).apply(TestSignals.whiteNoise(sampleRate: rate, seconds: 2, amplitude: 0.2, seed: 4))
        let path = try write(x, "lp.wav")
        let r = try BandwidthExtension(options: .init()).run(input: TaskInput(path: path), context: try context(dir + "/lp.bwe.wav"))
        guard case .number(let cut)? = r.report["cutoff_hz"] else { return XCTFail("no cutoff") }
        XCTAssertEqual(cut, 4000, accuracy: 200)
        XCTAssertNotEqual(r.report["windows"], 0)
    }

    func testFillGapDetectReportsTheCountAndLeavesPausesAlone() throws {
        let rate = DropoutDetectionTests.rate
        var x = RestorationFixtures.loud(seconds: 5, rate: rate)
        for (s, e) in [(1.0, 1.05), (3.0, 3.1)] { for i in Int(s * rate)..<Int(e * rate) { x[i] = 0 } }
        let damaged = try write(x, "damaged.wav")
        var o = FillGap.Options()
        o.detect = true
        let ctx = try context(dir + "/damaged.filled.wav")
        let r = try FillGap(options: o).run(input: TaskInput(path: damaged), context: ctx)
        XCTAssertEqual(r.report["filled"], 2)
        XCTAssertEqual(r.report["detected"], 2)
        XCTAssertTrue(ctx.notes.contains { $0.contains("filled 2 gaps") }, "\(ctx.notes)")

        let gated = try write(DropoutDetectionTests.gate(DropoutDetectionTests.phrases(seconds: 5, floor: 0.003), threshold: 0.02), "gated.wav")
        let g = try FillGap(options: o).run(input: TaskInput(path: gated), context: try context(dir + "/gated.filled.wav"))
        XCTAssertEqual(g.report["filled"], 0)
        XCTAssertEqual(try samples(dir + "/gated.filled.wav"), try samples(gated))
    }
}

enum RestoreCoreSignals {
    /// Noise falling 12 dB/octave above 1 kHz (two one-pole low-passes): natural roll-off.
    static func pink(rate: Double, seconds: Double) -> [Float] {
        var rng = SplitMix64(seed: 8)
        let a = exp(-2 * Double.pi * 1000 / rate)
        var l1 = 0.0, l2 = 0.0
        return (0..<Int(seconds * rate)).map { _ in
            l1 = (1 - a) * rng.gaussian() + a * l1
            l2 = (1 - a) * l1 + a * l2
            return Float(0.5 * l2)
        }
    }
}
