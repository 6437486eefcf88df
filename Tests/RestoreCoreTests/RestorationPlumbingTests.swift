import CZlib
import Foundation
import XCTest
@testable import RestoreCore

/// The engine-free parts of restoration: window plan, streaming runner, band splice, PNG.
final class RestorationPlumbingTests: XCTestCase {
    let plan = WindowPlan(rate: 1000, columns: 20, columnSeconds: 0.1, overlapColumns: 6, edgeColumns: 1)

    func runIdentity(frames: Int, channels: Int, offsets: Bool) throws -> (AudioBuffer, AudioBuffer, Int) {
        var rng = SplitMix64(seed: 5)
        let input = AudioBuffer(sampleRate: 1000, channels: (0..<channels).map { _ in (0..<frames).map { _ in Float(rng.uniform() - 0.5) } })
        let sink = MemoryAudioSink(sampleRate: 1000, channelCount: channels)
        var windows = 0
        try WindowedRunner.run(source: MemoryAudioSource(input), sink: sink, plan: plan) { w in
            windows += 1
            XCTAssertEqual(w.slice.channels[0], Array(input.channels[0][w.sliceStart..<(w.sliceStart + w.slice.frameCount)]))
            // Each window's output differs by a constant: the crossfade must turn the steps into ramps.
            let dc: Float = offsets ? Float(w.index % 2) : 0
            return AudioBuffer(sampleRate: 1000, channels: w.slice.channels.map { $0.map { $0 + dc } })
        }
        return (input, sink.buffer, windows)
    }

    func testIdentityWindowsReproduceTheInputExactly() throws {
        for frames in [1, 150, 1999, 2000, 2001, 7777] {
            let (input, output, windows) = try runIdentity(frames: frames, channels: 2, offsets: false)
            XCTAssertEqual(output.frameCount, frames)
            XCTAssertEqual(windows, plan.count(total: frames))
            for c in 0..<2 { XCTAssertLessThan(maxAbsDiff(output.channels[c], input.channels[c]), 1e-6, "\(frames) frames") }
        }
    }

    func testJoinsAreCrossfadedWithoutSteps() throws {
        let (input, output, windows) = try runIdentity(frames: 9000, channels: 1, offsets: true)
        XCTAssertGreaterThan(windows, 3)
        // The offset alternates 0/1 between windows; with linear crossfades over ≥ 400 samples
        // the largest sample-to-sample change of (output − input) is at most 1/400.
        let d = zip(output.channels[0], input.channels[0]).map { $0 - $1 }
        let steps = zip(d.dropFirst(), d).map { abs($0 - $1) }
        XCTAssertLessThanOrEqual(steps.max()!, 1.0 / Float(plan.fade(1).count) + 1e-5)
        XCTAssertEqual(plan.fade(1).count, 400)
    }

    func testRunnerReadsOnlyWhatAWindowNeeds() throws {
        // A source that counts how far it has been read when each window is processed.
        final class Counting: AudioSource {
            let inner: MemoryAudioSource; var read = 0
            init(_ b: AudioBuffer) { inner = MemoryAudioSource(b) }
            var sampleRate: Double { inner.sampleRate }
            var channelCount: Int { inner.channelCount }
            func read(maxFrames: Int) throws -> AudioBuffer? {
                let b = try inner.read(maxFrames: min(maxFrames, 500)); read += b?.frameCount ?? 0; return b
            }
        }
        let source = Counting(AudioBuffer(sampleRate: 1000, mono: [Float](repeating: 0.1, count: 100_000)))
        let sink = MemoryAudioSink(sampleRate: 1000, channelCount: 1)
        var maxLead = 0
        try WindowedRunner.run(source: source, sink: sink, plan: plan) { w in
            maxLead = max(maxLead, source.read - (w.sliceStart + w.slice.frameCount))
            return w.slice
        }
        XCTAssertEqual(sink.buffer.frameCount, 100_000)
        XCTAssertLessThanOrEqual(maxLead, 500)
    }

    func testBandSpliceKeepsTheLowBandAndTakesTheHighBand() {
        let rate = 44100.0
        let low = TestSignals.sine(frequency: 1000, sampleRate: rate, seconds: 1, amplitude: 0.5)
        let high = TestSignals.sine(frequency: 9000, sampleRate: rate, seconds: 1, amplitude: 0.3)
        let both = zip(low, high).map { $0 + $1 }
        // low band from `both`, high band from `high`: the sum again.
        // Away from the ends (where reflect padding spreads a tone over every bin) the splice is
        // exact to float precision; the runner never uses a slice's outer margins.
        let inner = 2048..<(low.count - 2048)
        func mid(_ x: [Float]) -> [Float] { Array(x[inner]) }
        let out = BandSplice.join(low: both, high: high, cutoff: 4000, rate: rate)
        XCTAssertLessThan(relativeL2(mid(out), mid(both)), 1e-5)
        XCTAssertLessThan(relativeL2(out, both), 1e-2)
        // Same signal on both sides: unchanged.
        XCTAssertLessThan(relativeL2(BandSplice.join(low: both, high: both, cutoff: 4000, rate: rate), both), 1e-5)
        // The 1 kHz tone comes only from `low`.
        let onlyHigh = BandSplice.join(low: [Float](repeating: 0, count: low.count), high: both, cutoff: 4000, rate: rate)
        XCTAssertLessThan(relativeL2(mid(onlyHigh), mid(high)), 1e-5)
    }

    func testPNGHasValidChunksAndPixels() throws {
        var img = RGBImage(width: 3, height: 2, fill: (10, 20, 30))
        img[2, 1] = (255, 0, 0)
        let png = [UInt8](try img.pngData())
        XCTAssertEqual(Array(png[0..<8]), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(String(decoding: png[12..<16], as: UTF8.self), "IHDR")
        XCTAssertEqual(Array(png[16..<24]), [0, 0, 0, 3, 0, 0, 0, 2])
        // Decompress IDAT and compare the scanlines.
        let idatLength = Int(png[33]) << 24 | Int(png[34]) << 16 | Int(png[35]) << 8 | Int(png[36])
        XCTAssertEqual(String(decoding: png[37..<41], as: UTF8.self), "IDAT")
        let packed = Array(png[41..<(41 + idatLength)])
        var raw = [UInt8](repeating: 0, count: 2 * (1 + 9))
        var size = uLong(raw.count)
        XCTAssertEqual(uncompress(&raw, &size, packed, uLong(packed.count)), Z_OK)
        XCTAssertEqual(raw, [0, 10, 20, 30, 10, 20, 30, 10, 20, 30, 0, 10, 20, 30, 10, 20, 30, 255, 0, 0])
        // Every chunk's CRC matches.
        var i = 8
        while i < png.count {
            let n = Int(png[i]) << 24 | Int(png[i + 1]) << 16 | Int(png[i + 2]) << 8 | Int(png[i + 3])
            let body = Array(png[(i + 4)..<(i + 8 + n)])
            let crc = UInt32(crc32(0, body, uInt(body.count)))
            let stored = UInt32(png[i + 8 + n]) << 24 | UInt32(png[i + 9 + n]) << 16 | UInt32(png[i + 10 + n]) << 8 | UInt32(png[i + 11 + n])
            XCTAssertEqual(crc, stored)
            i += 12 + n
        }
        XCTAssertEqual(i, png.count)
    }

    func testStreamWriterLeavesNothingWhenAbandoned() throws {
        let dir = try makeTempFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let w = try AudioStreamWriter(path: dir + "/out.wav", sampleRate: 8000, channelCount: 1, options: .init())
            try w.write(AudioBuffer(sampleRate: 8000, mono: [0.1, 0.2]))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
        let w = try AudioStreamWriter(path: dir + "/out.wav", sampleRate: 8000, channelCount: 1, options: .init())
        try w.write(AudioBuffer(sampleRate: 8000, mono: [0.1, 0.2]))
        try w.finish()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["out.wav"])
    }
}
