import Foundation

/// Where one model window sits in the input (samples at the processing rate), as a task's
/// mask and splice see it.
public struct WindowPlacement: Sendable, Equatable {
    public var index: Int
    /// The processing rate: the input's, or the raised rate of `RestorationJob.minimumRate`.
    public var rate: Double
    /// The slice the window reads: the model window plus margins, clipped to the input.
    public var sliceStart: Int
    public var sliceLength: Int
    /// First sample of the model window itself.
    public var windowStart: Int
    /// The model window's first mel frame inside the slice's mel (at the engine's rate).
    public var windowFrame: Int
    public var isLast: Bool
}

/// What a task asks of the engine for one input: where the windows go, what each masks,
/// and how the generated audio is joined to the original. Everything else (rate
/// conversion, channel handling, context carried from window to window, seeds, the
/// engine, vocoding, streaming and writing) is the `Restorer`'s.
public struct RestorationJob {
    public enum Layout: Sendable, Equatable {
        /// Overlapping windows over the whole input; each window's overlap with the next is
        /// given to it as known tokens, and outputs are crossfaded (bwe, generate).
        case everywhere
        /// One window centred on each cluster of regions (seconds); the input outside the
        /// windows is copied unchanged, and only the windows are processed (gap filling,
        /// spectral repair). `totalFrames` is the input's length at the processing rate.
        case around(clusters: [[TimeSpan]], totalFrames: Int)
    }

    public var layout: Layout
    public var channels: ChannelMode
    public var sampling: SamplingSettings
    /// Inputs below this rate are converted up to it first and written at it (nil: keep).
    public var minimumRate: Double?
    /// The window's mask (known tokens, generated-mel weights).
    public var mask: (WindowPlacement) -> WindowMask
    /// Mel frames of the slice worth vocoding (nil: all of them).
    public var vocodeFrames: ((WindowPlacement) -> Range<Int>?)?
    /// A DSP estimate of the band to generate, from the engine-rate slice of one channel.
    public var guide: ((_ engineSlice: [Float]) -> BandGuide)?
    /// Joins the generated slice to the original one (same rate, length and channels).
    public var splice: (_ original: AudioBuffer, _ generated: AudioBuffer, _ placement: WindowPlacement) throws -> AudioBuffer

    public init(layout: Layout, channels: ChannelMode = .perChannel, sampling: SamplingSettings, minimumRate: Double? = nil,
                mask: @escaping (WindowPlacement) -> WindowMask,
                vocodeFrames: ((WindowPlacement) -> Range<Int>?)? = nil,
                guide: ((_ engineSlice: [Float]) -> BandGuide)? = nil,
                splice: @escaping (_ original: AudioBuffer, _ generated: AudioBuffer, _ placement: WindowPlacement) throws -> AudioBuffer = { _, g, _ in g }) {
        self.layout = layout
        self.channels = channels
        self.sampling = sampling
        self.minimumRate = minimumRate
        self.mask = mask
        self.vocodeFrames = vocodeFrames
        self.guide = guide
        self.splice = splice
    }
}

/// What the engine did for one input.
public struct RestorationReport: Sendable, Equatable {
    public var windows = 0
    public var generatedTokens = 0
    public var outputRate: Double = 0
    public var framesWritten = 0
    public var levelGuard = LevelGuardReport()
    public var fillFloor = LevelGuardReport()
    public init() {}
}

/// How channels go through the engine: each on its own, or as mid and side.
public enum ChannelMode: String, Codable, Sendable, CaseIterable {
    case perChannel = "per-channel"
    case midSide = "mid-side"

    /// Channels to process (mid/side for stereo; other layouts stay per channel).
    public func split(_ channels: [[Float]]) -> [[Float]] {
        guard self == .midSide, channels.count == 2 else { return channels }
        let (l, r) = (channels[0], channels[1])
        return [zip(l, r).map { 0.5 * ($0 + $1) }, zip(l, r).map { 0.5 * ($0 - $1) }]
    }

    public func merge(_ channels: [[Float]]) -> [[Float]] {
        guard self == .midSide, channels.count == 2 else { return channels }
        let (m, s) = (channels[0], channels[1])
        return [zip(m, s).map { $0 + $1 }, zip(m, s).map { $0 - $1 }]
    }
}

/// The one engine path every generative task runs on: an audio source in, a restored
/// stream out, through overlapping or region-centred model windows (see `RestorationJob`).
/// Memory stays a few windows whatever the input's length.
public struct Restorer {
    public let model: EngineModel
    public init(model: EngineModel) { self.model = model }

    /// Seeds differ per window and per processed channel, and are fixed by the job's seed.
    public static func seed(_ base: UInt64, window: Int, channel: Int) -> UInt64 {
        base &+ UInt64(window) &* 1_000_003 &+ UInt64(channel)
    }

    /// The rate the job processes `source` at.
    public func processingRate(of source: AudioSource, job: RestorationJob) -> Double {
        if let minimum = job.minimumRate, source.sampleRate < minimum { return minimum }
        return source.sampleRate
    }

    /// Runs the job and writes the result to `output` through the output guard.
    @discardableResult
    public func run(_ source: AudioSource, job: RestorationJob, output: String, options: AudioWriteOptions,
                    expectedFrames: Int? = nil, progress: ((Double) -> Void)? = nil) throws -> RestorationReport {
        let rate = processingRate(of: source, job: job)
        let writer = try AudioStreamWriter(path: output, sampleRate: rate, channelCount: source.channelCount, options: options)
        let report = try run(source, job: job, sink: writer, expectedFrames: expectedFrames, progress: progress)
        try writer.finish()
        return report
    }

    /// Runs the job into any sink (tests, pipelines).
    @discardableResult
    public func run(_ source: AudioSource, job: RestorationJob, sink: AudioSink,
                    expectedFrames: Int? = nil, progress: ((Double) -> Void)? = nil) throws -> RestorationReport {
        var input = source
        var expected = expectedFrames
        let rate = processingRate(of: source, job: job)
        if rate != source.sampleRate {
            input = try ResamplingAudioSource(source, to: rate)
            expected = expectedFrames.map { Resampler.outputLength(frames: $0, from: source.sampleRate, to: rate) }
        }
        var report = RestorationReport()
        report.outputRate = rate
        var carried: [TokenGrid?] = []
        switch job.layout {
        case .everywhere:
            let plan = WindowPlan(model: model, rate: rate)
            report.framesWritten = try WindowedRunner.run(source: input, sink: sink, plan: plan, expectedFrames: expected,
                                                          progress: progress) { w in
                let placement = WindowPlacement(index: w.index, rate: rate, sliceStart: w.sliceStart, sliceLength: w.slice.frameCount,
                                                windowStart: w.windowStart, windowFrame: windowFrame(w.windowStart - w.sliceStart, rate: rate),
                                                isLast: w.isLast)
                return try process(w.slice, placement: placement, job: job, hopColumns: plan.hopColumns, carried: &carried, report: &report)
            }
        case .around(let clusters, let total):
            report.framesWritten = try runAround(input, clusters: clusters, total: total, rate: rate, job: job, sink: sink,
                                                 progress: progress, report: &report)
        }
        return report
    }

    /// The first mel frame (engine rate) of a window `offset` samples into its slice.
    func windowFrame(_ offset: Int, rate: Double) -> Int {
        Int((Double(offset) * model.sampleRate / rate / Double(model.hop)).rounded())
    }

    /// One window: each processed channel to the engine's rate, masked completion, back to
    /// the processing rate; then the task's splice.
    func process(_ slice: AudioBuffer, placement: WindowPlacement, job: RestorationJob, hopColumns: Int?,
                 carried: inout [TokenGrid?], report: inout RestorationReport) throws -> AudioBuffer {
        let parts = job.channels.split(slice.channels)
        if carried.count != parts.count { carried = [TokenGrid?](repeating: nil, count: parts.count) }
        let mask = job.mask(placement)
        let vocode = job.vocodeFrames?(placement)
        var outs: [[Float]] = []
        for (ci, x) in parts.enumerated() {
            let x22 = try model.toEngineRate(x, from: placement.rate)
            var settings = job.sampling
            settings.seed = Self.seed(job.sampling.seed, window: placement.index, channel: ci)
            let r = try WindowCompletion(model: model).run(
                slice: x22, windowFrame: placement.windowFrame, mask: mask,
                carried: hopColumns.flatMap { h in carried[ci]?.carried(hopColumns: h) },
                settings: settings, vocodeFrames: vocode, guide: job.guide?(x22))
            if hopColumns != nil { carried[ci] = r.grid }
            report.generatedTokens += r.generated
            report.levelGuard.add(r.levelGuard)
            report.fillFloor.add(r.fillFloor)
            outs.append(try model.fromEngineRate(r.audio, to: placement.rate, length: x.count))
        }
        report.windows += 1
        let generated = AudioBuffer(sampleRate: placement.rate, channels: job.channels.merge(outs))
        return try job.splice(slice, generated, placement)
    }

    /// Region-centred windows: the input is copied through, and each window's slice is
    /// replaced by its spliced result as the stream reaches it. Each window sees the
    /// original input (never an earlier window's result); where slices overlap, the later
    /// window's splice wins only where it changes something.
    func runAround(_ source: AudioSource, clusters: [[TimeSpan]], total: Int, rate: Double, job: RestorationJob, sink: AudioSink,
                   progress: ((Double) -> Void)?, report: inout RestorationReport) throws -> Int {
        let c = source.channelCount
        let windowSeconds = model.windowSeconds
        let margin = Int(0.2 * rate)
        let starts = clusters.map { Self.windowStart($0, total: total, rate: rate, windowSeconds: windowSeconds) }
        let slices = starts.map { u in max(0, u - margin)..<min(total, u + Int(windowSeconds * rate) + margin) }
        // The original from `held` on, and the output (the original with results) beside it.
        var original = [[Float]](repeating: [], count: c), result = original, held = 0, written = 0
        func write(upTo end: Int) throws {
            let n = min(end - held, original[0].count)
            guard n > 0 else { return }
            try sink.write(AudioBuffer(sampleRate: rate, channels: result.map { Array($0[0..<n]) }))
            for ch in 0..<c { original[ch].removeFirst(n); result[ch].removeFirst(n) }
            held += n
            written += n
        }
        func advance(to end: Int, keepFrom: Int) throws {
            try write(upTo: keepFrom)
            while held + original[0].count < end, let block = try source.read(maxFrames: 65536) {
                for ch in 0..<c { original[ch] += block.channels[ch]; result[ch] += block.channels[ch] }
                try write(upTo: keepFrom)
            }
        }
        var none: [TokenGrid?] = []
        for (i, range) in slices.enumerated() {
            // No window from this one on reaches before the earliest of their starts.
            try advance(to: range.upperBound, keepFrom: slices[i...].map(\.lowerBound).min()!)
            let lo = range.lowerBound - held, hi = range.upperBound - held
            let slice = AudioBuffer(sampleRate: rate, channels: original.map { Array($0[lo..<hi]) })
            let placement = WindowPlacement(index: i, rate: rate, sliceStart: range.lowerBound, sliceLength: range.count,
                                            windowStart: starts[i], windowFrame: windowFrame(starts[i] - range.lowerBound, rate: rate),
                                            isLast: i == slices.count - 1)
            let out = try process(slice, placement: placement, job: job, hopColumns: nil, carried: &none, report: &report)
            // Only what the splice changed replaces the result (an earlier window may have
            // filled something inside this slice too).
            for ch in 0..<c {
                for t in 0..<range.count where out.channels[ch][t] != slice.channels[ch][t] { result[ch][lo + t] = out.channels[ch][t] }
            }
            progress?(Double(i + 1) / Double(slices.count))
        }
        try advance(to: .max, keepFrom: .max)
        return written
    }

    /// First sample of the model window centred on a cluster of regions, kept inside the input.
    public static func windowStart(_ regions: [TimeSpan], total n: Int, rate: Double, windowSeconds: Double) -> Int {
        let centre = (regions.first!.start + regions.last!.end) / 2
        let startSeconds = max(0, min(centre - windowSeconds / 2, Double(n) / rate - windowSeconds))
        return Int((startSeconds * rate).rounded())
    }

    /// Regions close enough to share one model window (each keeping `context` seconds of
    /// audio on both sides inside it) are grouped; a region too long for any window throws.
    public static func cluster(_ regions: [TimeSpan], windowSeconds: Double, context: Double, path: String,
                               noun: String = "region", verb: String = "generated") throws -> [[TimeSpan]] {
        let room = windowSeconds - 2 * context
        var out: [[TimeSpan]] = []
        for g in regions {
            guard g.length <= room else {
                throw RestoreError.invalidArgument(String(format: "%@: the %@ at %.3f s is %.2f s long; at most %.2f s can be %@", path, noun, g.start, g.length, room, verb))
            }
            if let first = out.last?.first, g.end - first.start <= room { out[out.count - 1].append(g) } else { out.append([g]) }
        }
        return out
    }
}
