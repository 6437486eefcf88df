import XCTest
@testable import RestoreCore

/// The streaming resampler and mel give what the one-shot versions give on the whole signal,
/// whatever the block sizes.
final class StreamingTests: XCTestCase {
    /// Deterministic test signal: two tones and a little noise.
    func signal(_ n: Int, rate: Double) -> [Float] {
        var g = SeededLCG(seed: 7)
        return (0..<n).map { i in
            let t = Double(i) / rate
            return Float(0.4 * sin(2 * .pi * 440 * t) + 0.2 * sin(2 * .pi * 3100 * t)) + 0.05 * (g.nextFloat() - 0.5)
        }
    }

    /// Block sizes that do not line up with hops or windows.
    func blocks(_ n: Int) -> [Range<Int>] {
        let sizes = [1, 4095, 65536, 333, 17, 10_000]
        var out: [Range<Int>] = [], start = 0, k = 0
        while start < n { let end = min(n, start + sizes[k % sizes.count]); out.append(start..<end); start = end; k += 1 }
        return out
    }

    func testResamplerStreamEqualsOneShot() throws {
        for (from, to, n) in [(44100.0, 22050.0, 123_457), (8000.0, 22050.0, 40_001), (48000.0, 22050.0, 5), (22050.0, 22050.0, 1000), (44100.0, 22050.0, 0)] {
            let x = signal(n, rate: from)
            let whole = try Resampler.resample(AudioBuffer(sampleRate: from, mono: x), to: to).channels[0]
            let r = try StreamingResampler(from: from, to: to, channelCount: 1)
            var y: [Float] = []
            for b in blocks(n) { y += try r.process(AudioBuffer(sampleRate: from, mono: Array(x[b]))).channels[0] }
            y += try r.finish().channels[0]
            XCTAssertEqual(y.count, whole.count, "\(from)→\(to), \(n) samples")
            XCTAssertLessThanOrEqual(maxAbsDiff(y, whole), 1e-5, "\(from)→\(to), \(n) samples")
        }
    }

    func testResamplingSourceEqualsOneShotAndKeepsBlocksWithinTheLimit() throws {
        let x = [signal(30_001, rate: 8000), signal(30_001, rate: 8000).map { -$0 }]
        let whole = try Resampler.resample(AudioBuffer(sampleRate: 8000, channels: x), to: 22050)
        let source = try ResamplingAudioSource(MemoryAudioSource(AudioBuffer(sampleRate: 8000, channels: x)), to: 22050)
        var got = [[Float]](repeating: [], count: 2)
        while let b = try source.read(maxFrames: 1000) {
            XCTAssertLessThanOrEqual(b.frameCount, 1000)
            XCTAssertGreaterThan(b.frameCount, 0)
            for c in 0..<2 { got[c] += b.channels[c] }
        }
        XCTAssertEqual(source.sampleRate, 22050)
        for c in 0..<2 {
            XCTAssertEqual(got[c].count, whole.frameCount)
            XCTAssertLessThanOrEqual(maxAbsDiff(got[c], whole.channels[c]), 1e-5, "channel \(c)")
        }
    }

    func testMelStreamEqualsWholeSignal() {
        let fe = MelFrontEnd()
        for n in [0, 1, 100, 384, 385, 386, 1023, 1024, 1025, 5000, 77_777] {
            let x = signal(n, rate: 22050)
            let whole = fe.normalizedMel(x)
            let s = StreamingMel(frontEnd: fe)
            var parts = blocks(n).map { s.feed(Array(x[$0])) }
            parts.append(s.finish())
            let frames = parts.reduce(0) { $0 + $1.frames }
            XCTAssertEqual(frames, whole.frames, "\(n) samples")
            guard frames == whole.frames else { continue }
            // Reassemble band-major and compare.
            var joined = [Float](repeating: 0, count: 80 * frames)
            var f0 = 0
            for p in parts {
                for b in 0..<80 { for f in 0..<p.frames { joined[b * frames + f0 + f] = p.values[b * p.frames + f] } }
                f0 += p.frames
            }
            XCTAssertLessThanOrEqual(maxAbsDiff(joined, whole.values), 1e-5, "\(n) samples")
        }
    }

    /// Streamed inputs stop with the whole-file reader's errors, at the right frame.
    func testValidatedSourceNamesTheFirstBadSampleAndEmptyInput() throws {
        var x = [[Float]](repeating: [Float](repeating: 0.1, count: 100_000), count: 2)
        x[1][70_001] = .nan
        let bad = ValidatedAudioSource(MemoryAudioSource(AudioBuffer(sampleRate: 8000, channels: x)), path: "take.wav")
        XCTAssertThrowsError(try { while try bad.read(maxFrames: 65536) != nil {} }()) { e in
            XCTAssertEqual("\(e)", "take.wav: contains NaN or infinite samples (first at frame 70001, channel 1)")
        }
        let empty = ValidatedAudioSource(MemoryAudioSource(AudioBuffer(sampleRate: 8000, channels: [[]])), path: "none.wav")
        XCTAssertThrowsError(try empty.read(maxFrames: 10)) { e in XCTAssertEqual("\(e)", "none.wav: contains no audio (0 frames)") }
        let good = ValidatedAudioSource(MemoryAudioSource(AudioBuffer(sampleRate: 8000, channels: [[1, 2, 3]])), path: "ok.wav")
        XCTAssertEqual(try good.read(maxFrames: 10)?.frameCount, 3)
        XCTAssertNil(try good.read(maxFrames: 10))
    }
}

/// A tiny seeded generator, so the signal is the same on every run.
struct SeededLCG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func nextFloat() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 24)
    }
}
