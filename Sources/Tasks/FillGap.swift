import Foundation
import RestoreCore

/// `fill-gap`: time inpainting (DESIGN §3). Every row of the token columns that overlap a gap
/// is masked and regenerated with up to 10 s of surrounding context; the result is spliced
/// in: the original everywhere outside the gap and its crossfades, the generated audio
/// inside, its gain matched to the audio around the gap.
public struct FillGap: RestoreTask {
    public static let name = "fill-gap"
    public static let summary = "Fill gaps and dropouts with generated audio that fits the surroundings."
    public static let writesAudio = true

    public struct Options: TaskOptions {
        /// Gap starts; each runs for `length`, or (without a length) over the dropout found there.
        public var at: [TimeValue] = []
        public var length: TimeValue? = nil
        /// "1.2-1.6,3.0-3.1".
        public var gaps: String? = nil
        /// Find dropouts (digital silence of at least `minDropout`) and fill them.
        public var detect: Bool = false
        public var minDropout: TimeValue = TimeValue(seconds: 0.020)
        public var crossfade: TimeValue = TimeValue(seconds: 0.010)
        public var channels: ChannelMode = .perChannel
        public init() {}
        public static let keys = ["at", "length", "gaps", "detect", "min-dropout", "crossfade", "channels"]

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            if let one = try? c.decodeIfPresent(TimeValue.self, forKey: AnyKey("at")) { at = [one] }
            else { at = try c.decodeIfPresent([TimeValue].self, forKey: AnyKey("at")) ?? [] }
            length = try c.decodeIfPresent(TimeValue.self, forKey: AnyKey("length"))
            gaps = try c.decodeIfPresent(String.self, forKey: AnyKey("gaps"))
            detect = try c.decodeIfPresent(Bool.self, forKey: AnyKey("detect")) ?? false
            minDropout = try c.decodeIfPresent(TimeValue.self, forKey: AnyKey("min-dropout")) ?? TimeValue(seconds: 0.020)
            crossfade = try c.decodeIfPresent(TimeValue.self, forKey: AnyKey("crossfade")) ?? TimeValue(seconds: 0.010)
            channels = try c.decodeIfPresent(ChannelMode.self, forKey: AnyKey("channels")) ?? .perChannel
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: AnyKey.self)
            try c.encode(at, forKey: AnyKey("at"))
            try c.encodeIfPresent(length, forKey: AnyKey("length"))
            try c.encodeIfPresent(gaps, forKey: AnyKey("gaps"))
            try c.encode(detect, forKey: AnyKey("detect"))
            try c.encode(minDropout, forKey: AnyKey("min-dropout"))
            try c.encode(crossfade, forKey: AnyKey("crossfade"))
            try c.encode(channels, forKey: AnyKey("channels"))
        }

        public func validate() throws {
            if at.isEmpty && gaps == nil && !detect {
                throw RestoreError.invalidArgument("fill-gap: say where the gaps are: --at TIME [--length TIME], --gaps START-END,… or --detect")
            }
            if length != nil && at.isEmpty { throw RestoreError.invalidArgument("fill-gap: --length needs --at") }
            if let length, !(length.seconds > 0) { throw RestoreError.invalidArgument("fill-gap: --length must be positive") }
            if let t = at.first(where: { $0.seconds < 0 }) { throw RestoreError.invalidArgument("fill-gap: --at \(t) is before the start") }
            if let gaps { _ = try TimeSpan.parseList(gaps) }
            guard minDropout.seconds > 0 else { throw RestoreError.invalidArgument("fill-gap: --min-dropout must be positive") }
            guard crossfade.seconds >= 0, crossfade.seconds <= 0.5 else {
                throw RestoreError.invalidArgument("fill-gap: --crossfade must be between 0 and 0.5 s")
            }
        }
    }

    public let options: Options
    public init(options: Options) throws { try options.validate(); self.options = options }

    /// At least this much audio is kept on each side of a gap inside its window.
    public static let minimumContext = 1.0

    /// Two streamed passes, so memory stays a few windows whatever the file's length: the
    /// first finds the length and the silent runs, the second fills each window's gaps as the
    /// audio around them arrives and writes everything before them unchanged.
    public func run(input: TaskInput, context: TaskContext) throws -> TaskResult {
        let output = try context.requireOutput(Self.name)
        let scanSource = try ValidatedAudioSource(path: input.path)
        let rate = scanSource.sampleRate, channelCount = scanSource.channelCount
        var scan = DropoutScan(minimumFrames: max(1, min(Int(0.001 * rate), Int((options.minDropout.seconds * rate).rounded()))))
        while let block = try scanSource.read(maxFrames: 65536) { scan.add(block) }
        scan.finish()
        let total = scan.frames
        let gaps = try resolveGaps(scan, rate: rate, path: input.path)
        let model = gaps.isEmpty ? nil : try context.model()
        let windowSeconds = model.map { Double($0.windowFrames * $0.hop) / $0.sampleRate } ?? 0
        let clusters = model == nil ? [] : try Self.cluster(gaps, windowSeconds: windowSeconds, path: input.path)
        let slices = clusters.map { sliceRange($0, total: total, rate: rate, windowSeconds: windowSeconds) }

        let source = try ValidatedAudioSource(path: input.path)
        let writer = try AudioStreamWriter(path: output, sampleRate: rate, channelCount: channelCount, options: context.writeOptions)
        // The original from `held` on, and the output (the original with fills) beside it.
        var original = [[Float]](repeating: [], count: channelCount), filled = original, held = 0
        func write(upTo end: Int) throws {
            let n = min(end - held, original[0].count)
            guard n > 0 else { return }
            try writer.write(AudioBuffer(sampleRate: rate, channels: filled.map { Array($0[0..<n]) }))
            for ch in 0..<channelCount { original[ch].removeFirst(n); filled[ch].removeFirst(n) }
            held += n
        }
        /// Reads up to `end`, writing out everything before `keepFrom` as it goes.
        func advance(to end: Int, keepFrom: Int) throws {
            try write(upTo: keepFrom)
            while held + original[0].count < end, let block = try source.read(maxFrames: 65536) {
                for ch in 0..<channelCount { original[ch] += block.channels[ch]; filled[ch] += block.channels[ch] }
                try write(upTo: keepFrom)
            }
        }
        var reports: [JSONValue] = []
        for (i, (cluster, range)) in zip(clusters, slices).enumerated() {
            // No window from this one on reaches before the earliest of their starts.
            try advance(to: range.upperBound, keepFrom: slices[i...].map(\.lowerBound).min()!)
            let slice = AudioBuffer(sampleRate: rate, channels: original.map { Array($0[(range.lowerBound - held)..<(range.upperBound - held)]) })
            var out = AudioBuffer(sampleRate: rate, channels: filled.map { Array($0[(range.lowerBound - held)..<(range.upperBound - held)]) })
            let gains = try fill(cluster, original: slice, at: range.lowerBound, total: total, into: &out, model: model!, index: i,
                                 windowSeconds: windowSeconds, context: context)
            for ch in 0..<channelCount { filled[ch].replaceSubrange((range.lowerBound - held)..<(range.upperBound - held), with: out.channels[ch]) }
            for (g, gain) in zip(cluster, gains) {
                reports.append(.object(["start": .of(g.start), "end": .of(g.end), "gain": .array(gain.map { .of(Double($0)) })]))
            }
            context.progress?(Double(i + 1) / Double(clusters.count))
        }
        if gaps.isEmpty { context.notes.append("\(input.path): no gaps found; copied unchanged") }
        try advance(to: .max, keepFrom: .max)
        try writer.finish()
        return TaskResult(task: Self.name, input: input.path, outputs: [output], report: ["gaps": .array(reports)])
    }

    /// The gaps asked for, in seconds, merged where they overlap and clipped to the file.
    func resolveGaps(_ scan: DropoutScan, rate: Double, path: String) throws -> [TimeSpan] {
        let duration = Double(scan.frames) / rate
        var spans: [TimeSpan] = []
        if let gaps = options.gaps { spans += try TimeSpan.parseList(gaps) }
        for t in options.at {
            if let length = options.length {
                spans.append(TimeSpan(start: t.seconds, end: t.seconds + length.seconds))
            } else if let run = scan.run(containing: t.seconds, rate: rate) {
                spans.append(run)
            } else {
                throw RestoreError.invalidArgument("\(path): no dropout (digital silence) at \(t); give --length to fill a stretch that is not silent")
            }
        }
        if options.detect { spans += scan.dropouts(minimum: options.minDropout.seconds, rate: rate) }
        for s in spans where s.start >= duration {
            throw RestoreError.invalidArgument(String(format: "%@: gap at %.3f s starts after the end (%.3f s)", path, s.start, duration))
        }
        spans = spans.map { TimeSpan(start: $0.start, end: min($0.end, duration)) }.sorted { $0.start < $1.start }
        var merged: [TimeSpan] = []
        for s in spans {
            if let last = merged.last, s.start <= last.end { merged[merged.count - 1].end = max(last.end, s.end) } else { merged.append(s) }
        }
        return merged
    }

    /// The input frames one window of gaps uses: the model window centred on the gaps (kept
    /// inside the file) and 0.2 s of margin on each side for resampling.
    func sliceRange(_ gaps: [TimeSpan], total n: Int, rate: Double, windowSeconds: Double) -> Range<Int> {
        let u = windowStart(gaps, total: n, rate: rate, windowSeconds: windowSeconds)
        let margin = Int(0.2 * rate)
        return max(0, u - margin)..<min(n, u + Int(windowSeconds * rate) + margin)
    }

    func windowStart(_ gaps: [TimeSpan], total n: Int, rate: Double, windowSeconds: Double) -> Int {
        let centre = (gaps.first!.start + gaps.last!.end) / 2
        let startSeconds = max(0, min(centre - windowSeconds / 2, Double(n) / rate - windowSeconds))
        return Int((startSeconds * rate).rounded())
    }

    /// Gaps close enough to share one model window are filled together.
    static func cluster(_ gaps: [TimeSpan], windowSeconds: Double, path: String) throws -> [[TimeSpan]] {
        let room = windowSeconds - 2 * minimumContext
        var out: [[TimeSpan]] = []
        for g in gaps {
            guard g.length <= room else {
                throw RestoreError.invalidArgument(String(format: "%@: the gap at %.3f s is %.2f s long; at most %.2f s can be filled", path, g.start, g.length, room))
            }
            if let first = out.last?.first, g.end - first.start <= room { out[out.count - 1].append(g) } else { out.append([g]) }
        }
        return out
    }

    /// Fills one window's gaps. `original` holds the input's frames [a, a + count) (its
    /// `sliceRange`), `out` the same frames of the output, changed in place; returns the gain
    /// applied per gap and processed channel.
    func fill(_ gaps: [TimeSpan], original: AudioBuffer, at a: Int, total n: Int, into out: inout AudioBuffer, model: EngineModel,
              index: Int, windowSeconds: Double, context: TaskContext) throws -> [[Float]] {
        let rate = original.sampleRate, er = model.sampleRate, hop = Double(model.hop)
        let u = windowStart(gaps, total: n, rate: rate, windowSeconds: windowSeconds)
        let b = a + original.frameCount
        let j0 = Int((Double(u - a) * er / rate / hop).rounded())
        // Frames whose analysis window (1024 samples, starting 384 before the frame's hop)
        // touches a gap are affected; their columns are masked in every row.
        let wf = model.windowFrames, cols = model.windowColumns, fpt = model.framesPerToken
        let nfft = Double(model.frontEnd.config.nFFT), pad = (nfft - hop) / 2
        var affected = [Bool](repeating: false, count: wf)
        for g in gaps {
            let ga = (g.start - Double(a) / rate) * er, gb = (g.end - Double(a) / rate) * er
            for f in 0..<wf {
                let lo = Double(j0 + f) * hop - pad
                if lo < gb && lo + nfft > ga { affected[f] = true }
            }
        }
        var known = [Bool](repeating: true, count: model.rows * cols)
        for c in 0..<cols where (c * fpt..<(c + 1) * fpt).contains(where: { affected[$0] }) {
            for r in 0..<model.rows { known[r * cols + c] = false }
        }
        // Generated mel over the affected frames, ramping out over 3 frames on each side.
        var weight = [Float](repeating: 0, count: wf)
        for f in 0..<wf {
            var d = Int.max
            for g in max(0, f - 3)...min(wf - 1, f + 3) where affected[g] { d = min(d, abs(g - f)) }
            weight[f] = d == Int.max ? 0 : max(0, 1 - Float(d) / 4)
        }
        let mask = WindowMask(known: known) { _, f in weight[f] }
        // Only the audio around the gaps is used (splice, crossfades and the 100 ms beside each
        // gap that sets the gain), so only that is vocoded.
        let xf = Int((options.crossfade.seconds * rate).rounded())
        let around = Int(0.1 * rate)
        let toFrame = { (t: Int) in Double(t - a) * er / rate / hop }
        let first = Int(toFrame(Int((gaps.first!.start * rate).rounded()) - xf - around).rounded(.down)) - 2
        let last = Int(toFrame(Int((gaps.last!.end * rate).rounded()) + xf + around).rounded(.up)) + 2
        let vocode = max(0, first)..<max(0, last)
        let mode = options.channels
        let parts = mode.split(original.channels)
        var generated: [[Float]] = []
        for (ci, x) in parts.enumerated() {
            let x22 = try model.toEngineRate(x, from: rate)
            var settings = context.sampling
            settings.seed = settings.seed &+ UInt64(index) &* 1_000_003 &+ UInt64(ci)
            let r = WindowCompletion(model: model).run(slice: x22, windowFrame: j0, mask: mask, settings: settings, vocodeFrames: vocode)
            generated.append(try model.fromEngineRate(r.audio, to: rate, length: x.count))
        }
        let gen = mode.merge(generated)
        var gains: [[Float]] = []
        for g in gaps {
            let ga = Int((g.start * rate).rounded()), gb = min(n, Int((g.end * rate).rounded()))
            var perChannel: [Float] = []
            for ch in 0..<original.channelCount {
                let orig = original.channels[ch], y = gen[ch]
                // Gain: the original's level beside the gap over the generated audio's there.
                var eo: Double = 0, eg: Double = 0
                for t in Array(max(a, ga - around)..<ga) + Array(gb..<min(b, gb + around)) {
                    eo += Double(orig[t - a] * orig[t - a]); eg += Double(y[t - a] * y[t - a])
                }
                let gain = eg > 1e-12 && eo > 1e-12 ? Float(max(0.25, min(4, (eo / eg).squareRoot()))) : 1
                perChannel.append(gain)
                for t in max(0, ga - xf)..<min(n, gb + xf) {
                    let v = gain * y[t - a]
                    let w: Float
                    if t < ga { w = Float(t - (ga - xf) + 1) / Float(xf + 1) } else if t >= gb { w = Float(gb + xf - t) / Float(xf + 1) } else { w = 1 }
                    out.channels[ch][t - a] = w * v + (1 - w) * orig[t - a]
                }
            }
            gains.append(perChannel)
        }
        return gains
    }
}
