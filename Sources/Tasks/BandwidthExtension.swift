import Foundation
import RestoreCore

/// `bwe`: bandwidth extension (DESIGN §3). The token rows whose band reaches above the
/// cutoff are masked and regenerated; known rows pass through. With low-frequency
/// replacement (on by default) the input's own band below the cutoff is put back exactly,
/// so only the new band comes from the vocoder. The engine's mel ends at 8 kHz, so the new
/// band reaches up to 8 kHz (a little beyond through the vocoder, up to 11 kHz).
public struct BandwidthExtension: RestoreTask {
    public static let name = "bwe"
    public static let summary = "Bandwidth extension: regenerate the band above a low-pass cutoff."
    public static let writesAudio = true

    public struct Options: TaskOptions {
        public var cutoff: Cutoff = .auto
        /// Low-frequency replacement: keep the input's own band below the cutoff.
        public var lfr: Bool = true
        public var channels: ChannelMode = .perChannel
        public init() {}
        public static let keys = ["cutoff", "lfr", "channels"]

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            cutoff = try c.decodeIfPresent(Cutoff.self, forKey: AnyKey("cutoff")) ?? .auto
            lfr = try c.decodeIfPresent(Bool.self, forKey: AnyKey("lfr")) ?? true
            channels = try c.decodeIfPresent(ChannelMode.self, forKey: AnyKey("channels")) ?? .perChannel
        }

        public func validate() throws {
            if case .hertz(let f) = cutoff, !(f >= 100 && f <= 24000) {
                throw RestoreError.invalidArgument("bwe: cutoff \(Int(f)) Hz is outside 100…24000 Hz")
            }
        }
    }

    public let options: Options
    public init(options: Options) throws { try options.validate(); self.options = options }

    /// Cutoffs this close to the mel's upper edge leave nothing for the engine to add.
    public static let minimumGain = 0.97

    public func run(input: TaskInput, context: TaskContext) throws -> TaskResult {
        let output = try context.requireOutput(Self.name)
        let reader = try AudioFileReader(path: input.path)
        let info = reader.info
        let model = try context.model()
        // Inputs below the engine's rate (8 kHz telephone audio…) are upsampled first and
        // written at 22 050 Hz: there is no room for a new band at their own rate.
        var source: AudioSource = reader
        var rate = info.sampleRate
        var expected = info.declaredFrames
        if rate < model.sampleRate {
            // Checked before resampling, so a bad sample is reported at its own frame.
            source = try ResamplingAudioSource(ValidatedAudioSource(reader, path: input.path), to: model.sampleRate)
            rate = model.sampleRate
            expected = Resampler.outputLength(frames: info.declaredFrames, from: info.sampleRate, to: rate)
        }
        let cutoff = try resolveCutoff(path: input.path, inputRate: info.sampleRate)
        let fMax = model.frontEnd.config.fMax
        let writer = try AudioStreamWriter(path: output, sampleRate: rate, channelCount: info.channelCount, options: context.writeOptions)
        var report: [String: JSONValue] = ["cutoff_hz": .of(cutoff), "lfr": .bool(options.lfr), "output_rate": .of(rate),
                                           "channels": .string(options.channels.rawValue)]
        if cutoff >= fMax * Self.minimumGain {
            // Nothing to generate below the mel's 8 kHz edge: copy (resampled if needed).
            while let block = try source.read(maxFrames: 65536) { try writer.write(block) }
            try writer.finish()
            context.notes.append("\(input.path): bandwidth \(Int(cutoff)) Hz already reaches the engine's \(Int(fMax)) Hz ceiling; copied unchanged")
            report["windows"] = 0
            return TaskResult(task: Self.name, input: input.path, outputs: [output], report: report)
        }
        let mask = Self.mask(model: model, cutoff: cutoff)
        let plan = WindowPlan(model: model, rate: rate)
        let completion = WindowCompletion(model: model)
        var previous: [TokenGrid?] = []
        var generated = 0, windows = 0
        let base = context.sampling
        let lfr = options.lfr, mode = options.channels, hopColumns = plan.hopColumns
        try WindowedRunner.run(source: source, sink: writer, plan: plan, expectedFrames: expected, progress: context.progress) { w in
            if let bad = w.slice.firstNonFinite() {
                throw RestoreError.nonFiniteSamples(path: input.path, frame: w.sliceStart + bad.frame, channel: bad.channel)
            }
            let parts = mode.split(w.slice.channels)
            if previous.count != parts.count { previous = [TokenGrid?](repeating: nil, count: parts.count) }
            var outs: [[Float]] = []
            for (ci, x) in parts.enumerated() {
                let x22 = try model.toEngineRate(x, from: rate)
                let j0 = Int((Double(w.windowStart - w.sliceStart) * model.sampleRate / rate / Double(model.hop)).rounded())
                var settings = base
                settings.seed = base.seed &+ UInt64(w.index) &* 1_000_003 &+ UInt64(ci)
                let r = completion.run(slice: x22, windowFrame: j0, mask: mask,
                                       carried: previous[ci]?.carried(hopColumns: hopColumns), settings: settings)
                previous[ci] = r.grid
                generated += r.generated
                var y = try model.fromEngineRate(r.audio, to: rate, length: x.count)
                if lfr { y = BandSplice.join(low: x, high: y, cutoff: cutoff, rate: rate) }
                outs.append(y)
            }
            windows += 1
            return AudioBuffer(sampleRate: rate, channels: mode.merge(outs))
        }
        try writer.finish()
        report["windows"] = .of(windows)
        report["generated_tokens"] = .of(generated)
        report["masked_rows"] = .array((0..<model.rows).filter { r in !mask.known[r * model.windowColumns] }.map { .of($0) })
        return TaskResult(task: Self.name, input: input.path, outputs: [output], report: report)
    }

    func resolveCutoff(path: String, inputRate: Double) throws -> Double {
        switch options.cutoff {
        case .hertz(let f): return min(f, inputRate / 2)
        case .auto:
            // The first two minutes are enough to see a recording's bandwidth.
            let reader = try AudioFileReader(path: path)
            let want = Int(120 * inputRate)
            var chans = [[Float]](repeating: [], count: reader.info.channelCount)
            while chans[0].count < want, let block = try reader.read(maxFrames: 65536) {
                for c in chans.indices { chans[c] += block.channels[c] }
            }
            guard !chans[0].isEmpty else { throw RestoreError.emptyAudio(path: path) }
            return BandwidthEstimator.estimate(AudioBuffer(sampleRate: inputRate, channels: chans)).cutoff
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

/// A coding key for hand-written decoders (presets give any subset of an option set).
public struct AnyKey: CodingKey, Hashable {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ s: String) { stringValue = s }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { return nil }
}
