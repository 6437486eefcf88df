import XCTest
import RestoreCore
@testable import Tasks

final class AudioReportTests: XCTestCase {
    func info(_ rate: Double, _ channels: Int) -> AudioFileInfo {
        AudioFileInfo(path: "mem.wav", format: AudioFormat(sndfileFormat: 0x010002), sampleRate: rate,
                      channelCount: channels, declaredFrames: 0)
    }

    /// A file measured block by block reports what the whole buffer does: levels, length,
    /// bandwidth (a 3 kHz low-passed noise over several blocks) and the silent runs.
    func testStreamedMeasureMatchesTheWholeBuffer() throws {
        let rate = 22050.0
        var rng = SplitMix64(seed: 4)
        var x = (0..<Int(rate * 12)).map { _ in Float(rng.gaussian() * 0.1) }
        // A steep low-pass at 3 kHz: a cutoff (gentle one-pole smoothing would be natural roll-off).
        x = FIRFilter.lowPass(cutoff: 3000, sampleRate: rate).apply(x)
        for i in 100_000..<101_000 { x[i] = 0 }   // a 45 ms dropout
        let buffer = AudioBuffer(sampleRate: rate, channels: [x, x.map { -$0 * 0.5 }])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/n.wav"
        try AudioWriter.write(buffer, to: path, options: AudioWriteOptions(encoding: .float32))
        let (streamed, silence) = try AudioReport.measureStream(path: path)
        let whole = AudioReport.measure(buffer, info: try AudioFileReader(path: path).info)
        XCTAssertEqual(streamed.frames, whole.frames)
        XCTAssertEqual(streamed.peakDBFS, whole.peakDBFS, accuracy: 1e-9)
        XCTAssertEqual(streamed.rmsDBFS, whole.rmsDBFS, accuracy: 1e-6)
        XCTAssertEqual(streamed.bandwidth, whole.bandwidth, accuracy: 1e-6)
        XCTAssertFalse(streamed.fullBand)
        XCTAssertEqual(streamed.bandwidth, 3000, accuracy: 150)
        XCTAssertEqual(streamed.dropouts, 1)
        XCTAssertEqual(whole.dropouts, 1)
        XCTAssertEqual(silence.dropouts(minimum: 0.020, rate: rate), DropoutDetector.find(buffer))
        XCTAssertEqual(silence.dropouts(minimum: 0.020, rate: rate).count, 1)
    }

    func testLevelsOfAKnownSine() {
        // A full-period sine of amplitude 0.5: peak −6.02 dBFS, RMS −9.03 dBFS.
        let x = TestSignals.sine(frequency: 441, sampleRate: 44100, seconds: 1, amplitude: 0.5)
        let r = AudioReport.measure(AudioBuffer(sampleRate: 44100, mono: x), info: info(44100, 1))
        XCTAssertEqual(r.peakDBFS, 20 * log10(0.5), accuracy: 0.01)
        XCTAssertEqual(r.rmsDBFS, 20 * log10(0.5 / 2.0.squareRoot()), accuracy: 0.01)
        XCTAssertEqual(r.clippedRatio, 0)
        XCTAssertEqual(r.duration, 1, accuracy: 1e-9)
        XCTAssertEqual(r.format, "WAV")
        XCTAssertEqual(r.subtype, "PCM_16")
    }

    func testClippedRatioCountsFullScaleSamples() {
        var x = TestSignals.sine(frequency: 100, sampleRate: 8000, seconds: 1, amplitude: 2)
        x = x.map { min(1, max(-1, $0)) }
        let r = AudioReport.measure(AudioBuffer(sampleRate: 8000, channels: [x, [Float](repeating: 0, count: x.count)]), info: info(8000, 2))
        // |2 sin θ| ≥ 1 for θ in [π/6, 5π/6]: two thirds of one channel, a third of all samples.
        XCTAssertEqual(r.clippedRatio, 1.0 / 3, accuracy: 0.01)
        XCTAssertEqual(r.peakDBFS, 0, accuracy: 1e-6)
    }

    func testSilenceReportsTheFloorNotInfinity() {
        let r = AudioReport.measure(AudioBuffer(sampleRate: 8000, mono: [Float](repeating: 0, count: 800)), info: info(8000, 1))
        XCTAssertEqual(r.peakDBFS, AudioReport.silenceDB)
        XCTAssertEqual(r.rmsDBFS, AudioReport.silenceDB)
        XCTAssertTrue(r.text.contains("peak:        -inf dBFS"))
    }

    func testReportsTheBandwidth() {
        let noise = TestSignals.whiteNoise(sampleRate: 22050, seconds: 2, seed: 2)
        let y = FIRFilter.lowPass(cutoff: 4000, sampleRate: 22050).apply(noise)
        let r = AudioReport.measure(AudioBuffer(sampleRate: 22050, mono: y), info: info(22050, 1))
        XCTAssertEqual(r.bandwidth, 4000, accuracy: 200)
        XCTAssertFalse(r.fullBand)
    }
}
