import Foundation
import RestoreCore

/// `fill-gap`'s options and where its gaps are: the times asked for, the dropout found at a
/// time, or every dropout `--detect` finds.
extension FillGap {
    public struct Options: TaskOptions {
        /// Gap starts; each runs for `length`, or (without a length) over the dropout found there.
        public var at: [TimeValue] = []
        public var length: TimeValue? = nil
        /// "1.2-1.6,3.0-3.1".
        public var gaps: String? = nil
        /// Find dropouts (abrupt digital silence of `minDropout` to `maxDropout`) and fill them.
        public var detect: Bool = false
        public var minDropout: TimeValue = TimeValue(seconds: DropoutDetector.defaultMinimum)
        public var maxDropout: TimeValue = TimeValue(seconds: DropoutDetector.defaultMaximum)
        public var crossfade: TimeValue = TimeValue(seconds: 0.010)
        public var channels: ChannelMode = .perChannel
        /// Level guard (dB; nil = off): a generated cell (one token row × one column) further
        /// than this from the level of its row beside the gap (interpolated across it) is moved
        /// to that distance. A fill may be quieter or louder than its surroundings, but not
        /// silent between two loud sides. Measured with `make validate`'s gaps (16 clips, each
        /// gap at the loudest of 8 places; LSD inside the gap): the shipped model 2.145 → 1.996
        /// at 0.5 s and 2.139 → 2.032 at 1.5 s with 6 dB (12 dB: 2.020, 2.091); the 8×384
        /// candidate at 3,000 steps 2.555 → 2.245 and 2.553 → 2.040 (bench/results/fill-gap-guard/,
        /// `bench/validate.py --only gap --fill-gap-args "--level-guard DB"`).
        public var levelGuard: Double? = 6
        /// Fill floor (dB; nil = off): a generated cell more than this under the louder side of
        /// the gap (its power, row by row) is raised to that distance (`FillFloor`). Gaps in
        /// active audio often cover an onset the sides do not show, and the engine fills those
        /// with near-silence.
        public var fillFloor: Double? = FillGap.defaultFillFloor
        public init() {}
        public static let keys = ["at", "length", "gaps", "detect", "min-dropout", "max-dropout", "crossfade", "channels", "level-guard", "fill-floor"]

        public init(from decoder: Decoder) throws {
            // Defaults come from `Options()` only.
            let c = try decoder.container(keyedBy: AnyKey.self), d = Options()
            at = try c.oneOrMany(TimeValue.self, "at")
            length = try c.decodeIfPresent(TimeValue.self, forKey: AnyKey("length"))
            gaps = try c.decodeIfPresent(String.self, forKey: AnyKey("gaps"))
            detect = try c.decodeIfPresent(Bool.self, forKey: AnyKey("detect")) ?? d.detect
            minDropout = try c.decodeIfPresent(TimeValue.self, forKey: AnyKey("min-dropout")) ?? d.minDropout
            maxDropout = try c.decodeIfPresent(TimeValue.self, forKey: AnyKey("max-dropout")) ?? d.maxDropout
            crossfade = try c.decodeIfPresent(TimeValue.self, forKey: AnyKey("crossfade")) ?? d.crossfade
            channels = try c.decodeIfPresent(ChannelMode.self, forKey: AnyKey("channels")) ?? d.channels
            levelGuard = try c.decibelsOrOff("level-guard", fallback: d.levelGuard)
            fillFloor = try c.decibelsOrOff("fill-floor", fallback: d.fillFloor)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: AnyKey.self)
            try c.encode(at, forKey: AnyKey("at"))
            try c.encodeIfPresent(length, forKey: AnyKey("length"))
            try c.encodeIfPresent(gaps, forKey: AnyKey("gaps"))
            try c.encode(detect, forKey: AnyKey("detect"))
            try c.encode(minDropout, forKey: AnyKey("min-dropout"))
            try c.encode(maxDropout, forKey: AnyKey("max-dropout"))
            try c.encode(crossfade, forKey: AnyKey("crossfade"))
            try c.encode(channels, forKey: AnyKey("channels"))
            try c.encodeIfPresent(levelGuard, forKey: AnyKey("level-guard"))
            try c.encodeIfPresent(fillFloor, forKey: AnyKey("fill-floor"))
        }

        public func validate() throws {
            if at.isEmpty && gaps == nil && !detect {
                throw RestoreError.invalidArgument("fill-gap: say where the gaps are: --at TIME [--length TIME], --gaps START-END,… or --detect")
            }
            if length != nil && at.isEmpty { throw RestoreError.invalidArgument("fill-gap: --length needs --at") }
            if let length, !(length.seconds > 0) { throw RestoreError.invalidArgument("fill-gap: --length must be positive") }
            if let t = at.first(where: { $0.seconds < 0 }) { throw RestoreError.invalidArgument("fill-gap: --at \(t) is before the start") }
            if let t = at.first(where: { $0.seconds > TimeValue.maximumSeconds }) {
                throw RestoreError.invalidArgument("fill-gap: --at \(t) is beyond \(Int(TimeValue.maximumSeconds)) s")
            }
            if let length, length.seconds > 60 { throw RestoreError.invalidArgument("fill-gap: --length must be at most 60 s") }
            if let gaps { _ = try TimeSpan.parseList(gaps) }
            if let g = levelGuard, !(g >= 0 && g <= 60) { throw RestoreError.invalidArgument("fill-gap: --level-guard must be between 0 and 60 dB") }
            if let f = fillFloor, !(f >= 0 && f <= 60) { throw RestoreError.invalidArgument("fill-gap: --fill-floor must be between 0 and 60 dB") }
            guard minDropout.seconds > 0, maxDropout.seconds <= 60 else {
                throw RestoreError.invalidArgument("fill-gap: --min-dropout and --max-dropout must be between 0 and 60 s")
            }
            guard maxDropout.seconds >= minDropout.seconds else {
                throw RestoreError.invalidArgument("fill-gap: --max-dropout must not be shorter than --min-dropout")
            }
            guard crossfade.seconds >= 0, crossfade.seconds <= 0.5 else {
                throw RestoreError.invalidArgument("fill-gap: --crossfade must be between 0 and 0.5 s")
            }
        }
    }


    /// The gaps `run` would fill, from one streamed pass (no model, no output): what
    /// `fill-gap --list` prints. `detected` counts those `--detect` found.
    public func plan(path: String) throws -> (gaps: [TimeSpan], detected: Int, frames: Int, rate: Double, channels: Int) {
        let scanSource = try ValidatedAudioSource(path: path)
        let rate = scanSource.sampleRate
        var scan = DropoutScan(minimumFrames: max(1, min(Int(0.001 * rate), Int((options.minDropout.seconds * rate).rounded()))), sampleRate: rate)
        while let block = try scanSource.read(maxFrames: 65536) { scan.add(block) }
        scan.finish()
        let detected = options.detect ? scan.dropouts(minimum: options.minDropout.seconds, maximum: options.maxDropout.seconds, rate: rate).count : 0
        return (try resolveGaps(scan, rate: rate, path: path), detected, scan.frames, rate, scanSource.channelCount)
    }

    /// The gaps asked for, in seconds, merged where they overlap. A gap that starts or ends
    /// beyond the file is an error (a silent clamp would fill something else than asked).
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
        if options.detect { spans += scan.dropouts(minimum: options.minDropout.seconds, maximum: options.maxDropout.seconds, rate: rate) }
        for s in spans where s.start >= duration {
            throw RestoreError.invalidArgument(String(format: "%@: gap at %.3f s starts after the end (%.3f s)", path, s.start, duration))
        }
        for s in spans where s.end > duration + 0.5 / rate {
            throw RestoreError.invalidArgument(String(format: "%@: gap %.3f–%.3f s ends after the end (%.3f s)", path, s.start, s.end, duration))
        }
        spans = spans.map { TimeSpan(start: $0.start, end: min($0.end, duration)) }.sorted { $0.start < $1.start }
        var merged: [TimeSpan] = []
        for s in spans {
            if let last = merged.last, s.start <= last.end { merged[merged.count - 1].end = max(last.end, s.end) } else { merged.append(s) }
        }
        return merged
    }
}
