import Foundation
import RestoreCore

/// `bwe`: bandwidth extension (engine.md §3). The token rows whose band reaches above the
/// cutoff are masked and regenerated; known rows pass through. With low-frequency
/// replacement (on by default) the input's own band below the cutoff is put back exactly,
/// so only the new band comes from the vocoder. The engine's mel ends at 8 kHz, so the new
/// band reaches up to 8 kHz (a little beyond through the vocoder, up to 11 kHz).
///
/// From Swift: `try BandwidthExtension(options: .init()).run(input: TaskInput(path: "in.wav"),
/// context: TaskContext(outputPath: "out.wav", loadModel: { try EngineModel.load() }))`
/// (Examples/LibraryUse); the result's report holds `cutoff_hz`, or `copied` when the input
/// had no cutoff to extend from and was copied unchanged.
public struct BandwidthExtension: RestoreTask {
    public static let name = "bwe"
    public static let summary = "Bandwidth extension: regenerate the band above a low-pass cutoff."
    public static let writesAudio = true

    /// How the new band's level is kept true (see `BandGuide`).
    public enum Prior: String, Codable, Sendable, CaseIterable { case sbr, none }
    /// What fills the band above the engine's 8 kHz (see `Options.above8k`).
    public enum AboveEngine: String, Codable, Sendable, CaseIterable { case auto, sbr, none }
    /// Whether the engine's band is fused with band replication (see `Options.fuse`).
    public enum Fusion: String, Codable, Sendable, CaseIterable { case sbr, none }

    /// The settings of `restore bwe`, one property per option (a preset's keys in `keys`).
    public struct Options: TaskOptions {
        /// The band edge to extend from: `.auto` (measured; an input without a confident
        /// cutoff is copied unchanged) or `.hertz(f)`, 100…24000 Hz.
        public var cutoff: Cutoff = .auto
        /// Low-frequency replacement: keep the input's own band below the cutoff.
        public var lfr: Bool = true
        /// Stereo as left and right or as mid and side.
        public var channels: ChannelMode = .perChannel
        /// Start decoding from the tokens of the input's band replication (`sbr`) or from [MASK].
        /// Defaults from bench/bwe.py on the validation split (24 clips, 6 per kind; results
        /// in bench/results/bwe.json and the README's quality section).
        public var prior: Prior = .sbr
        /// Level guard: generated cells (one token row × `levelGuardFrames` frames) further
        /// than this from the band replication's level are moved to that distance (dB; nil =
        /// off). 0, the default, gives the engine's band the replication's envelope, frame
        /// pair by frame pair; the engine keeps its spectral shape inside each row.
        public var levelGuard: Double? = 0
        /// Fuse the engine's band with band replication (`BandFusion`), or keep it as it is.
        public var fuse: Fusion = .sbr
        /// Above the engine's 8 kHz mel ceiling, up to the output's Nyquist: band replication
        /// of the engine's top band, or nothing (the vocoder's own haze).
        /// `auto`: band replication only where the output reaches past the engine's Nyquist
        /// (11.025 kHz), which the vocoder never fills; below it the fused band is measured
        /// better. 44.1 kHz clips from 4 kHz (12 music clips), LSD 8–16 kHz: 1.673 with
        /// replication, 4.195 without, band replication alone 1.721.
        public var above8k: AboveEngine = .auto
        /// Gain of the new band (dB), like a wet/dry control.
        public var gain: Double = 0
        /// The output's sample rate (Hz, 8000…192000), or nil: the input's, or the engine's
        /// 22 050 Hz for inputs below it. The new band reaches the output's Nyquist (through
        /// the engine up to 11 kHz, by `above8k` beyond), so 8 kHz telephone audio written
        /// at 16 kHz becomes wideband speech.
        public var rate: Double? = nil
        /// The command line's defaults.
        public init() {}
        public static let keys = ["cutoff", "lfr", "channels", "prior", "level-guard", "fuse", "above-8k", "gain", "rate"]

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self), d = Options()
            cutoff = try c.decodeIfPresent(Cutoff.self, forKey: AnyKey("cutoff")) ?? d.cutoff
            lfr = try c.decodeIfPresent(Bool.self, forKey: AnyKey("lfr")) ?? d.lfr
            channels = try c.decodeIfPresent(ChannelMode.self, forKey: AnyKey("channels")) ?? d.channels
            prior = try c.decodeIfPresent(Prior.self, forKey: AnyKey("prior")) ?? d.prior
            levelGuard = try c.decibelsOrOff("level-guard", fallback: d.levelGuard)
            fuse = try c.decodeIfPresent(Fusion.self, forKey: AnyKey("fuse")) ?? d.fuse
            above8k = try c.decodeIfPresent(AboveEngine.self, forKey: AnyKey("above-8k")) ?? d.above8k
            gain = try c.decodeIfPresent(Double.self, forKey: AnyKey("gain")) ?? d.gain
            rate = try c.decodeIfPresent(Double.self, forKey: AnyKey("rate")) ?? d.rate
        }

        /// Under the preset keys, as decoded (a result's settings name the options as presets do).
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: AnyKey.self)
            try c.encode(cutoff, forKey: AnyKey("cutoff"))
            try c.encode(lfr, forKey: AnyKey("lfr"))
            try c.encode(channels, forKey: AnyKey("channels"))
            try c.encode(prior, forKey: AnyKey("prior"))
            try c.encodeIfPresent(levelGuard, forKey: AnyKey("level-guard"))
            try c.encode(fuse, forKey: AnyKey("fuse"))
            try c.encode(above8k, forKey: AnyKey("above-8k"))
            try c.encode(gain, forKey: AnyKey("gain"))
            try c.encodeIfPresent(rate, forKey: AnyKey("rate"))
        }

        public func validate() throws {
            if case .hertz(let f) = cutoff, !(f >= 100 && f <= 24000) {
                throw RestoreError.invalidArgument("bwe: cutoff \(String(format: "%g", f)) Hz is outside 100…24000 Hz")
            }
            if let g = levelGuard, !(g >= 0 && g <= 60) { throw RestoreError.invalidArgument("bwe: --level-guard must be between 0 and 60 dB") }
            guard gain >= -60, gain <= 20 else { throw RestoreError.invalidArgument("bwe: --gain must be between -60 and 20 dB") }
            if let r = rate, !(r >= 8000 && r <= 192000) {
                throw RestoreError.invalidArgument("bwe: --rate \(String(format: "%g", r)) Hz is outside 8000…192000 Hz")
            }
        }
    }

    public let options: Options
    /// Throws `RestoreError.invalidArgument` for an option out of range.
    public init(options: Options) throws { try options.validate(); self.options = options }

    /// Cutoffs this close to the mel's upper edge leave nothing for the engine to add.
    public static let minimumGain = 0.97
    /// Prior-initialised decoding re-masks this share of the prior's tokens.
    public static let priorMaskRatio: Float = 0.5
    /// Frames of one level-guard cell (≈23 ms at the engine's hop): the replication's envelope
    /// follows the input closely; a token column's 16 frames smear onsets (telephone speech
    /// from 3.8 kHz, guard 0: LSD 1.16 with 16-frame cells, 1.06 with 2).
    public static let levelGuardFrames = 2
    /// Share of Nyquist an input below the engine's rate is extended from when no anti-alias
    /// edge below it was measured.
    public static let subRateEdge = 0.95

    /// Reads `input`, writes the extended audio to `context.outputPath` (at `options.rate`, by
    /// default its own rate or the engine's 22 050 Hz for lower rates; the format from the
    /// extension and `context.writeOptions`) and reports the cutoff, the new band's level,
    /// windows and generated tokens. Loads
    /// the model through the context on first use. Throws `RestoreError` for unreadable or
    /// invalid audio, a missing output path or model files.
    public func run(input: TaskInput, context: TaskContext) throws -> TaskResult {
        let output = try context.requireOutput(Self.name)
        let reader = try AudioFileReader(path: input.path)
        let info = reader.info
        let model = try context.model()
        // Inputs below the engine's rate (8 kHz telephone audio…) are written at the engine's
        // rate unless asked otherwise: there is no room for a new band at their own. The
        // input is converted to the output rate first, so the new band is made at that rate.
        // Validated: an empty file or a NaN is an error (and no output), never a copy of it.
        let rate = options.rate ?? max(info.sampleRate, model.sampleRate)
        let validated = ValidatedAudioSource(reader, path: input.path)
        let source: AudioSource = rate == info.sampleRate ? validated : try ResamplingAudioSource(validated, to: rate)
        let expectedFrames = info.declaredFrames > 0 ? Resampler.outputLength(frames: info.declaredFrames, from: info.sampleRate, to: rate) : info.declaredFrames
        let resolved = try resolveCutoff(path: input.path, inputRate: info.sampleRate, engineRate: model.sampleRate)
        // Above the output's Nyquist there is nothing to make.
        let fMax = min(model.frontEnd.config.fMax, rate / 2)
        let cutoff = min(resolved.cutoff ?? info.sampleRate / 2, rate / 2)
        var report: [String: JSONValue] = ["cutoff_hz": .of(cutoff), "lfr": .bool(options.lfr), "output_rate": .of(rate),
                                           "channels": .string(options.channels.rawValue), "prior": .string(options.prior.rawValue), "fuse": .string(options.fuse.rawValue),
                                           "above_8k": .string(options.above8k.rawValue), "gain_db": .of(options.gain)]
        let job: RestorationJob
        if resolved.cutoff == nil || cutoff >= fMax * Self.minimumGain {
            // Nothing to generate below the mel's 8 kHz edge, or no cutoff to extend from:
            // copy (at the output rate).
            context.notes.append(resolved.cutoff == nil ? "\(input.path): \(resolved.reason)"
                                 : fMax < model.frontEnd.config.fMax
                                 ? "\(input.path): bandwidth \(Int(cutoff)) Hz already reaches the output's Nyquist (\(Int(rate / 2)) Hz); copied unchanged"
                                 : "\(input.path): bandwidth \(Int(cutoff)) Hz already reaches the engine's \(Int(fMax)) Hz ceiling; copied unchanged")
            let writer = try AudioStreamWriter(path: output, sampleRate: rate, channelCount: info.channelCount, options: context.writeOptions)
            while let block = try source.read(maxFrames: 65536) { try writer.write(block) }
            try writer.finish()
            report["windows"] = 0
            report["copied"] = true
            return TaskResult(task: Self.name, input: input.path, outputs: [output], report: report)
        } else {
            let mask = Self.mask(model: model, cutoff: cutoff)
            let o = options, engineRate = model.sampleRate
            let guided = o.prior == .sbr || o.levelGuard != nil
            job = RestorationJob(layout: .everywhere, channels: o.channels, sampling: context.sampling,
                                 mask: { _ in mask },
                                 guide: guided ? { x22 in
                                     BandGuide(estimate: BandReplication.extend(x22, rate: engineRate, cutoff: cutoff, slope: .engine),
                                               priorTokens: o.prior == .sbr,
                                               initialMaskRatio: Self.priorMaskRatio, toleranceDB: o.levelGuard.map(Float.init),
                                               framesPerCell: Self.levelGuardFrames)
                                 } : nil,
                                 splice: { original, generated, _ in
                                     try Self.splice(original: original, generated: generated, cutoff: cutoff, ceiling: fMax,
                                                     engineNyquist: engineRate / 2, options: o)
                                 })
            report["masked_rows"] = .array((0..<model.rows).filter { r in !mask.known[r * model.windowColumns] }.map { .of($0) })
        }
        let r = try Restorer(model: model).run(source, job: job, output: output, options: context.writeOptions,
                                               expectedFrames: expectedFrames, progress: context.progress)
        report["windows"] = .of(r.windows)
        report["generated_tokens"] = .of(r.generatedTokens)
        // The new band's level beside the octave under the cutoff, measured on what was
        // written: a user sees at once whether the band came out too dark or too bright.
        let levels = try BandLevel.dBFS(path: output, bands: [cutoff...rate / 2, cutoff / 2...cutoff])
        report["new_band_db"] = .of(levels[0])
        report["below_cutoff_db"] = .of(levels[1])
        if options.levelGuard != nil {
            report["level_guard"] = r.levelGuard.json
        }
        return TaskResult(task: Self.name, input: input.path, outputs: [output], report: report)
    }

    /// The generated band joined to the input: fused with the input's band replication (up
    /// to the engine's Nyquist, where the vocoder's output ends), its gain, the band above the
    /// engine's ceiling, and (with low-frequency replacement) the input's own band below the cutoff.
    static func splice(original: AudioBuffer, generated: AudioBuffer, cutoff: Double, ceiling: Double, engineNyquist: Double,
                       options o: Options) throws -> AudioBuffer {
        let rate = original.sampleRate, g = Float(pow(10, o.gain / 20))
        var out = generated
        for ch in 0..<out.channelCount {
            var y = generated.channels[ch]
            let top = min(rate / 2, engineNyquist)
            if o.fuse == .sbr && top > cutoff {
                let replication = BandReplication.extend(original.channels[ch], rate: rate, cutoff: cutoff, slope: .engine)
                y = BandFusion.fuse(y, with: replication, rate: rate, band: cutoff...top)
            }
            let continues = o.above8k == .sbr || (o.above8k == .auto && rate / 2 > engineNyquist)
            if continues && rate / 2 > ceiling { y = BandReplication.continueAbove(y, rate: rate, edge: ceiling, slope: .engine) }
            if g != 1 {
                // Only the new band: the generated signal's part above the cutoff.
                let high = BandSplice.join(low: [Float](repeating: 0, count: y.count), high: y, cutoff: cutoff, rate: rate)
                for i in y.indices { y[i] += (g - 1) * high[i] }
            }
            out.channels[ch] = o.lfr ? BandSplice.join(low: original.channels[ch], high: y, cutoff: cutoff, rate: rate) : y
        }
        return out
    }

    /// The cutoff to extend from, or nil (with the reason) to copy the file unchanged.
    /// Auto acts only on a confident cutoff (`BandwidthEstimator`), or, for an input below the
    /// engine's rate, on its own band edge (Nyquist or its anti-alias edge): there the new band
    /// lies above the file's rate. Natural roll-off, silence, DC and lone tones are left alone.
    func resolveCutoff(path: String, inputRate: Double, engineRate: Double) throws -> (cutoff: Double?, reason: String) {
        switch options.cutoff {
        case .hertz(let f): return (min(f, inputRate / 2), "")
        case .auto:
            // The first two minutes are enough to see a recording's bandwidth (streamed).
            let reader = try AudioFileReader(path: path)
            let want = Int(120 * inputRate)
            let declared = reader.info.declaredFrames
            var spectrum = LongTermSpectrum(rate: inputRate, channels: reader.info.channelCount,
                                            totalFrames: declared > 0 ? min(declared, want) : 0)
            var read = 0
            while read < want, let block = try reader.read(maxFrames: min(65536, want - read)) {
                spectrum.add(block)
                read += block.frameCount
            }
            guard read > 0 else { throw RestoreError.emptyAudio(path: path) }
            let est = BandwidthEstimator.estimate(spectrum: spectrum.finish(), rate: inputRate)
            switch est.kind {
            case .cut where est.confident:
                return (est.cutoff, "")
            case .fullBand where inputRate < engineRate:
                // A resampler's transition band fills the last few per cent below Nyquist:
                // extending from its foot, not from Nyquist, leaves no dip at the seam
                // (telephone speech at 8 kHz: LSD 1.38 from 4000 Hz, 1.22 from 3800, 1.24 from 3600).
                return (min(est.cutoff, Self.subRateEdge * inputRate / 2), "")
            case .none:
                return (nil, "no measurable bandwidth (silence, DC or a single tone); copied unchanged")
            default:
                return (nil, "no confident cutoff (\(est.summary)); copied unchanged")
            }
        }
    }

    /// Rows whose band reaches above the cutoff are generated; inside them, mel bins below the
    /// cutoff keep the input's values, with a 3-bin ramp across the cutoff.
    public static func mask(model: EngineModel, cutoff: Double) -> WindowMask {
        let cfg = model.frontEnd.config
        let lo = MelScale.hzToMel(cfg.fMin), hi = MelScale.hzToMel(cfg.fMax)
        let points = Double(cfg.melCount + 1)
        // Bin i is centred at point i+1 of melCount+2 equally spaced mels and ends at point i+2.
        let centre = (MelScale.hzToMel(cutoff) - lo) / (hi - lo) * points - 1
        let bpr = model.binsPerRow, rows = model.rows, cols = model.windowColumns
        var known = [Bool](repeating: true, count: rows * cols)
        var rowMasked = [Bool](repeating: false, count: rows)
        for r in 0..<rows {
            let topBin = r * bpr + bpr - 1
            let upperEdge = MelScale.melToHz(lo + (hi - lo) * Double(topBin + 2) / points)
            if upperEdge > cutoff {
                rowMasked[r] = true
                for c in 0..<cols { known[r * cols + c] = false }
            }
        }
        let weights: [Float] = (0..<cfg.melCount).map { b in
            guard rowMasked[b / bpr] else { return 0 }
            return Float(max(0, min(1, (Double(b) - (centre - 1.5)) / 3)))
        }
        return WindowMask(known: known) { b, _ in weights[b] }
    }
}

extension LevelGuardReport {
    /// The report's `level_guard` object (bwe, fill-gap).
    var json: JSONValue {
        .object(["cells": .of(cells), "corrected": .of(corrected), "mean_correction_db": .of(corrected > 0 ? signedDB / Double(corrected) : 0)])
    }
}

/// A coding key for hand-written decoders (presets give any subset of an option set).
public struct AnyKey: CodingKey, Hashable {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ s: String) { stringValue = s }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { return nil }
}
