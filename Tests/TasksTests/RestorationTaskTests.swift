import Foundation
import XCTest
import RestoreCore
@testable import Tasks

/// The tasks end to end on synthetic inputs with the shipped model (2 decoding iterations to
/// stay quick): what must hold whatever the model generates.
final class RestorationTaskTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("restore-tasks-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    static let model: EngineModel? = try? EngineModel.load()

    func context(_ out: String, seed: UInt64 = 0) throws -> TaskContext {
        guard let m = Self.model else { throw XCTSkip("engine model not found (run scripts/fetch-pretrained)") }
        return TaskContext(sampling: SamplingSettings(iterations: 2, seed: seed), outputPath: out,
                           writeOptions: AudioWriteOptions(encoding: .float32), loadModel: { m })
    }

    /// Harmonics of 220 Hz up to 10 kHz plus a little noise, per channel slightly different.
    func music(rate: Double, seconds: Double, channels: Int) -> AudioBuffer {
        let n = Int(rate * seconds)
        var rng = SplitMix64(seed: 9)
        return AudioBuffer(sampleRate: rate, channels: (0..<channels).map { c in
            (0..<n).map { i in
                let t = Double(i) / rate
                var v = 0.0
                for k in 1...45 where Double(k) * 220 < min(10000, rate / 2) { v += sin(2 * .pi * 220 * Double(k) * t + Double(c + k)) / Double(k) }
                return Float(0.2 * v * (0.6 + 0.4 * sin(2 * .pi * 1.5 * t)) + 0.01 * (rng.uniform() - 0.5))
            }
        })
    }

    func write(_ b: AudioBuffer, _ name: String) throws -> String {
        let p = dir + "/" + name
        try AudioWriter.write(b, to: p, options: AudioWriteOptions(encoding: .float32))
        return p
    }

    /// Mean power (dB) of the bins in [lo, hi) Hz over the interior frames.
    func bandPower(_ x: [Float], rate: Double, _ lo: Double, _ hi: Double) -> Double {
        let stft = STFT(nFFT: 2048, hop: 512)
        let mag = stft.magnitude(x)
        let frames = mag.count / stft.bins
        var s = 0.0, n = 0
        for t in 4..<(frames - 4) {
            for k in 0..<stft.bins where Double(k) * rate / 2048 >= lo && Double(k) * rate / 2048 < hi {
                s += Double(mag[t * stft.bins + k] * mag[t * stft.bins + k]); n += 1
            }
        }
        return 10 * log10(s / Double(max(n, 1)) + 1e-20)
    }

    func testBandwidthExtensionAddsTheHighBandAndKeepsTheLowBand() throws {
        let rate = 44100.0
        let clean = music(rate: rate, seconds: 3, channels: 2)
        let lp = FIRFilter.lowPass(cutoff: 4000, sampleRate: rate)
        let input = AudioBuffer(sampleRate: rate, channels: clean.channels.map { lp.apply($0) })
        let path = try write(input, "lowpass.wav")
        var o = BandwidthExtension.Options()
        o.cutoff = .hertz(4000)
        let r = try BandwidthExtension(options: o).run(input: TaskInput(path: path), context: try context(dir + "/out.wav"))
        XCTAssertEqual(r.report["masked_rows"], .array([3, 4]))
        let (out, info) = try AudioFile.read(dir + "/out.wav")
        XCTAssertEqual(info.sampleRate, rate)
        XCTAssertEqual(out.channelCount, 2)
        XCTAssertEqual(out.frameCount, input.frameCount)
        let check = FIRFilter.lowPass(cutoff: 3500, sampleRate: rate)
        for c in 0..<2 {
            let before = bandPower(input.channels[c], rate: rate, 4600, 8000)
            let after = bandPower(out.channels[c], rate: rate, 4600, 8000)
            XCTAssertGreaterThan(after, before + 10, "channel \(c): new band \(after) dB vs input \(before) dB")
            // Low-frequency replacement: below the cutoff the output is the input.
            let a = check.apply(out.channels[c]), b = check.apply(input.channels[c])
            let inner = 4096..<(a.count - 4096)
            XCTAssertLessThan(Approximate.relativeL2(Array(a[inner]), Array(b[inner])), 1e-3, "channel \(c)")
        }
    }

    func testBandwidthExtensionOfNarrowbandAudioWritesTheEngineRate() throws {
        // 8 kHz telephone audio: upsampled, written at 22 050 Hz, one channel kept.
        let input = music(rate: 8000, seconds: 2, channels: 1)
        let path = try write(input, "call.wav")
        let r = try BandwidthExtension(options: .init()).run(input: TaskInput(path: path), context: try context(dir + "/call.bwe.wav"))
        guard case .number(let cut)? = r.report["cutoff_hz"] else { return XCTFail("no cutoff") }
        XCTAssertLessThanOrEqual(cut, 4000)
        let (out, info) = try AudioFile.read(dir + "/call.bwe.wav")
        XCTAssertEqual(info.sampleRate, 22050)
        XCTAssertEqual(out.channelCount, 1)
        XCTAssertEqual(Double(out.frameCount), 2 * 22050, accuracy: 2)
    }

    func testFillGapChangesNothingOutsideTheGapAndItsCrossfades() throws {
        let rate = 48000.0
        var input = music(rate: rate, seconds: 4, channels: 3)
        let (ga, gb) = (Int(1.5 * rate), Int(1.9 * rate))
        for c in 0..<3 { for i in ga..<gb { input.channels[c][i] = 0 } }
        let path = try write(input, "gap.wav")
        var o = FillGap.Options()
        o.at = [TimeValue(seconds: 1.5)]
        let r = try FillGap(options: o).run(input: TaskInput(path: path), context: try context(dir + "/filled.wav"))
        guard case .array(let gaps)? = r.report["gaps"], case .object(let g)? = gaps.first, case .number(let end)? = g["end"] else {
            return XCTFail("no gap report")
        }
        XCTAssertEqual(end, 1.9, accuracy: 1e-4)   // the dropout's own extent
        let (out, info) = try AudioFile.read(dir + "/filled.wav")
        XCTAssertEqual(info.sampleRate, rate)
        XCTAssertEqual(out.channelCount, 3)
        XCTAssertEqual(out.frameCount, input.frameCount)
        let xf = Int(0.010 * rate)
        for c in 0..<3 {
            XCTAssertEqual(Array(out.channels[c][..<(ga - xf)]), Array(input.channels[c][..<(ga - xf)]), "channel \(c) before the gap")
            XCTAssertEqual(Array(out.channels[c][(gb + xf)...]), Array(input.channels[c][(gb + xf)...]), "channel \(c) after the gap")
            let filled = out.channels[c][ga..<gb].map { Double($0 * $0) }.reduce(0, +) / Double(gb - ga)
            XCTAssertGreaterThan(filled, 1e-6, "channel \(c): the gap is still silent")
        }
    }

    /// A long file streams through: three windows of gaps, two of them with overlapping
    /// slices (each must see the original, not the other's fill), found by --detect.
    func testFillGapStreamsThroughSeveralWindows() throws {
        let rate = 22050.0
        var input = music(rate: rate, seconds: 40, channels: 2)
        let spans = [(3.0, 3.2), (9.0, 9.3), (17.5, 17.7), (33.0, 33.05)]
        for (s, e) in spans { for c in 0..<2 { for i in Int(s * rate)..<Int(e * rate) { input.channels[c][i] = 0 } } }
        let path = try write(input, "long-gaps.wav")
        var o = FillGap.Options()
        o.detect = true
        let r = try FillGap(options: o).run(input: TaskInput(path: path), context: try context(dir + "/long-filled.wav"))
        guard case .array(let gaps)? = r.report["gaps"] else { return XCTFail("no gap report") }
        XCTAssertEqual(gaps.count, 4)
        let (out, _) = try AudioFile.read(dir + "/long-filled.wav")
        XCTAssertEqual(out.frameCount, input.frameCount)
        let xf = Int((0.010 * rate).rounded())   // 220.5 → 221 samples, as fill-gap rounds
        // Outside each found gap (a zero crossing may start it a sample early) and its crossfades.
        var unchanged = [Bool](repeating: true, count: input.frameCount)
        for case .object(let g) in gaps {
            guard case .number(let s)? = g["start"], case .number(let e)? = g["end"] else { return XCTFail("gap without start/end") }
            XCTAssertTrue(spans.contains { abs($0.0 - s) < 0.001 && abs($0.1 - e) < 0.001 }, "unexpected gap \(s)–\(e)")
            for i in (Int((s * rate).rounded()) - xf)..<(Int((e * rate).rounded()) + xf) { unchanged[i] = false }
        }
        for c in 0..<2 {
            let differ = (0..<input.frameCount).filter { unchanged[$0] && out.channels[c][$0] != input.channels[c][$0] }
            XCTAssertEqual(differ.count, 0, "channel \(c): \(differ.count) samples changed outside the gaps, first at \(differ.first ?? -1)")
            for (s, e) in spans {
                let g = Int(s * rate)..<Int(e * rate)
                let energy = g.map { Double(out.channels[c][$0] * out.channels[c][$0]) }.reduce(0, +) / Double(g.count)
                XCTAssertGreaterThan(energy, 1e-6, "channel \(c): the gap at \(s) s is still silent")
            }
        }
    }

    func testGenerateWritesTheAskedDurationDeterministically() throws {
        var o = Generate.Options()
        o.duration = TimeValue(seconds: 1.5)
        _ = try Generate(options: o).run(input: TaskInput(path: ""), context: try context(dir + "/a.wav", seed: 3))
        _ = try Generate(options: o).run(input: TaskInput(path: ""), context: try context(dir + "/b.wav", seed: 3))
        let (a, info) = try AudioFile.read(dir + "/a.wav")
        let (b, _) = try AudioFile.read(dir + "/b.wav")
        XCTAssertEqual(info.sampleRate, 22050)
        XCTAssertEqual(a.frameCount, Int(1.5 * 22050))
        XCTAssertEqual(a, b)
    }

    /// Generation vocodes only the frames that reach the output; those samples must be the
    /// ones a whole-window synthesis gives (the vocoder keeps its own context around them).
    func testVocodingPartOfAWindowGivesTheWholeWindowsSamples() throws {
        guard let m = Self.model else { throw XCTSkip("engine model not found (run scripts/fetch-pretrained)") }
        let slice = [Float](repeating: 0, count: m.windowFrames * m.hop)
        let mask = WindowMask(known: [Bool](repeating: false, count: m.rows * m.windowColumns)) { _, _ in 1 }
        let settings = SamplingSettings(iterations: 2, seed: 5)
        let whole = try WindowCompletion(model: m).run(slice: slice, windowFrame: 0, mask: mask, settings: settings)
        let part = try WindowCompletion(model: m).run(slice: slice, windowFrame: 0, mask: mask, settings: settings, vocodeFrames: 0..<200)
        XCTAssertEqual(whole.grid, part.grid)
        let n = 200 * m.hop
        let a = Array(whole.audio[0..<n]), b = Array(part.audio[0..<n])
        let err = zip(a, b).map { Double(($0 - $1) * ($0 - $1)) }.reduce(0, +), ref = a.map { Double($0 * $0) }.reduce(0, +)
        XCTAssertGreaterThan(ref, 0)
        XCTAssertLessThan((err / ref).squareRoot(), 1e-5)
        XCTAssertTrue(part.audio[(n + 2 * HiFiGAN.chunkContext * m.hop)...].allSatisfy { $0 == 0 }, "frames past the range are not synthesised")
    }

    /// Embeddings synthesise nothing: an engine loaded without a vocoder (as `restore embed`
    /// loads it, so the vocoder need not be installed) embeds exactly as the full engine does,
    /// and asking it for audio is a typed error, not a crash.
    func testAnEngineWithoutAVocoderEmbedsAndRefusesAudio() throws {
        guard let full = Self.model else { throw XCTSkip("engine model not found (run scripts/fetch-pretrained)") }
        let bare = try EngineModel.load(withVocoder: false)
        XCTAssertNil(bare.loadedVocoder)
        XCTAssertNotNil(full.loadedVocoder)
        let refusal = "this engine was loaded without a vocoder (for embeddings); load it with one to synthesise audio"
        XCTAssertThrowsError(try bare.vocoder) { XCTAssertEqual("\($0)", refusal) }
        XCTAssertThrowsError(try WindowCompletion(model: bare)) { XCTAssertEqual("\($0)", refusal) }
        let path = try write(music(rate: 22050, seconds: 2, channels: 1), "v.wav")
        _ = try Embed(options: .init()).run(input: TaskInput(path: path), context: try context(dir + "/full.npy"))
        _ = try Embed(options: .init()).run(input: TaskInput(path: path),
                                            context: TaskContext(outputPath: dir + "/bare.npy", loadModel: { bare }))
        let a = try NumpyArray.read(dir + "/full.npy"), b = try NumpyArray.read(dir + "/bare.npy")
        XCTAssertEqual(a.shape, b.shape)
        XCTAssertEqual(a.values, b.values)
        // A task that writes audio says why it cannot, through the same error.
        let out = dir + "/v.bwe.wav"
        var fromFourKilohertz = BandwidthExtension.Options()
        fromFourKilohertz.cutoff = .hertz(4000)
        XCTAssertThrowsError(try BandwidthExtension(options: fromFourKilohertz).run(
            input: TaskInput(path: path), context: TaskContext(outputPath: out, loadModel: { bare }))) { XCTAssertEqual("\($0)", refusal) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testEmbedGivesOneVectorPerColumnAndAClipVector() throws {
        let input = music(rate: 44100, seconds: 3, channels: 2)
        let path = try write(input, "m.wav")
        let r = try Embed(options: .init()).run(input: TaskInput(path: path), context: try context(dir + "/m.npy"))
        XCTAssertEqual(r.outputs, [dir + "/m.npy", dir + "/m.columns.npy"])
        let clip = try NumpyArray.read(dir + "/m.npy"), cols = try NumpyArray.read(dir + "/m.columns.npy")
        let width = Self.model!.transformer.config.width, rows = Self.model!.rows
        // Default: rows side by side per column; the clip is their mean and standard deviation.
        let cw = rows * width
        XCTAssertEqual(clip.shape, [2 * cw])
        // 3 s = 259 frames → 17 columns of 16 frames; first value of each row is its time.
        XCTAssertEqual(cols.shape, [17, cw + 1])
        XCTAssertEqual(Double(cols.values[0]), 8 * 256 / 22050, accuracy: 1e-4)
        func column(_ c: Int, _ j: Int) -> Float { cols.values[c * (cw + 1) + 1 + j] }
        for j in [0, width / 2, cw - 1] {
            let values = (0..<17).map { column($0, j) }
            let mean = values.reduce(0, +) / 17
            let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 17).squareRoot()
            XCTAssertEqual(clip.values[j], mean, accuracy: 1e-4)
            XCTAssertEqual(clip.values[cw + j], std, accuracy: 1e-4)
        }
        // --rows average --pool mean: each column is the mean of its rows, the clip the mean of the columns.
        var averaged = Embed.Options()
        averaged.rows = .average
        averaged.pool = .mean
        _ = try Embed(options: averaged).run(input: TaskInput(path: path), context: try context(dir + "/a.npy"))
        let aclip = try NumpyArray.read(dir + "/a.npy"), acols = try NumpyArray.read(dir + "/a.columns.npy")
        XCTAssertEqual(aclip.shape, [width])
        XCTAssertEqual(acols.shape, [17, width + 1])
        for j in [0, width / 2, width - 1] {
            let rowMean = (0..<rows).map { column(5, $0 * width + j) }.reduce(0, +) / Float(rows)
            XCTAssertEqual(acols.values[5 * (width + 1) + 1 + j], rowMean, accuracy: 1e-4)
            let mean = (0..<17).map { acols.values[$0 * (width + 1) + 1 + j] }.reduce(0, +) / 17
            XCTAssertEqual(aclip.values[j], mean, accuracy: 1e-4)
        }
        // Streamed over several model windows: one column per 16 frames, evenly timed, and the
        // same columns as embedding the buffer in memory.
        let long = music(rate: 44100, seconds: 21, channels: 2)
        let longPath = try write(long, "long.wav")
        _ = try Embed(options: .init()).run(input: TaskInput(path: longPath), context: try context(dir + "/long.npy"))
        let lcols = try NumpyArray.read(dir + "/long.columns.npy")
        let frames22k = Resampler.outputLength(frames: long.frameCount, from: 44100, to: 22050) / 256
        XCTAssertEqual(lcols.shape, [(frames22k + 15) / 16, cw + 1])
        for c in [1, 52, 53, 54, lcols.shape[0] - 1] {
            XCTAssertEqual(Double(lcols.values[c * (cw + 1)]), (Double(c * 16) + 8) * 256 / 22050, accuracy: 1e-4)
        }
        let inMemory = try Embed(options: .init()).embed(try AudioFile.read(longPath).0, model: Self.model!)
        XCTAssertEqual(inMemory.columns.count, lcols.shape[0])
        XCTAssertLessThan(Approximate.relativeL2(inMemory.columns[60], Array(lcols.values[(60 * (cw + 1) + 1)..<(61 * (cw + 1))])), 1e-5)
        // No audio: no columns, a zero clip vector of the usual width.
        let empty = try Embed(options: .init()).embed(AudioBuffer(sampleRate: 48000, channels: [[], []]), model: Self.model!)
        XCTAssertEqual(empty.columns.count, 0)
        XCTAssertEqual(empty.clip, [Float](repeating: 0, count: 2 * cw))

        var bad = Embed.Options()
        bad.layers = [99]
        XCTAssertThrowsError(try Embed(options: bad).run(input: TaskInput(path: path), context: try context(dir + "/x.npy"))) { e in
            XCTAssertEqual("\(e)", "embed: --layer 99 is outside the model's 6 blocks (0…5 or -6…-1)")
        }
    }

    func testLatentFeaturesAreTheTokenizersEncoderOutput() throws {
        let m = Self.model!
        let input = music(rate: 22050, seconds: 3, channels: 1)
        var latents = Embed.Options(), both = Embed.Options()
        latents.features = .latents
        both.features = .engineLatents
        let l = try Embed(options: latents).embed(input, model: m)
        let e = try Embed(options: .init()).embed(input, model: m)
        let b = try Embed(options: both).embed(input, model: m)
        let d = m.tokenizer.config.code_dim, rows = m.rows, cw = rows * m.transformer.config.width
        XCTAssertEqual(l.columns.count, 17)
        XCTAssertEqual(l.columns[0].count, rows * d)
        XCTAssertEqual(l.clip.count, 2 * rows * d)
        // Column 4, row 2 is the encoder's output at that cell (the whole clip fits one window,
        // padded with silence as the engine pads it).
        let mel = m.frontEnd.normalizedMel(input.channels[0])
        var padded = [Float](repeating: -1, count: mel.melCount * m.windowFrames)
        for band in 0..<mel.melCount { for f in 0..<mel.frames { padded[band * m.windowFrames + f] = mel.values[band * mel.frames + f] } }
        let z = m.tokenizer.latents(MelSpectrogram(melCount: mel.melCount, frames: m.windowFrames, values: padded))
        let cols = z.shape[2]
        let expected = (0..<d).map { z.data[$0 * rows * cols + 2 * cols + 4] }
        XCTAssertLessThan(Approximate.relativeL2(Array(l.columns[4][(2 * d)..<(3 * d)]), expected), 1e-4)
        // engine+latents: the engine's column, then the latents'.
        XCTAssertEqual(b.columns[4].count, cw + rows * d)
        XCTAssertLessThan(Approximate.relativeL2(Array(b.columns[4][..<cw]), e.columns[4]), 1e-5)
        XCTAssertLessThan(Approximate.relativeL2(Array(b.columns[4][cw...]), l.columns[4]), 1e-5)
        // Latents alone need no transformer: no per-block vectors; nothing in, zeros of the width out.
        XCTAssertTrue(l.perBlock.isEmpty)
        let empty = try Embed(options: latents).embed(AudioBuffer(sampleRate: 22050, channels: [[]]), model: m)
        XCTAssertEqual(empty.clip, [Float](repeating: 0, count: 2 * rows * d))
    }
}
