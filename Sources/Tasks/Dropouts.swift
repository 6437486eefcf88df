import Foundation
import RestoreCore

/// Finds dropouts: runs of digital silence (every channel within one 16-bit step of zero)
/// between `minimum` and `maximum` seconds long, entered and left abruptly from a signal well
/// above the recording's noise floor on both sides. Silence touching the start or the end is
/// a fade or a pause; a decay into silence, or a noise gate closing on the quiet tail of a
/// sound, is a pause too: none of these is a dropout.
public enum DropoutDetector {
    public static let threshold: Float = 1.0 / 32768
    /// Shortest dropout `--detect`, `info` and preset guards count.
    public static let defaultMinimum = 0.020
    /// Longest: a longer silence is taken for a pause, whatever its edges (see README).
    public static let defaultMaximum = 0.5

    public static func find(_ buffer: AudioBuffer, minimum: Double = defaultMinimum, maximum: Double = defaultMaximum) -> [TimeSpan] {
        let rate = buffer.sampleRate
        var scan = DropoutScan(minimumFrames: min(Int(0.001 * rate), Int((minimum * rate).rounded())), sampleRate: rate)
        scan.add(buffer)
        scan.finish()
        return scan.dropouts(minimum: minimum, maximum: maximum, rate: buffer.sampleRate)
    }
}

/// Silent runs of a stream and the signal levels at their edges, block by block: what
/// `DropoutDetector` needs, without the audio. Memory: the runs, 60 ms of running sums and a
/// level histogram.
public struct DropoutScan: Sendable {
    public let minimumFrames: Int
    /// Runs of at least `minimumFrames`, in frames.
    public private(set) var runs: [Range<Int>] = []
    /// Per run: mean power (all channels) over the 10 ms before it, the 50 ms before that,
    /// the 10 ms after it and the 50 ms after that.
    public private(set) var edges: [Edges] = []
    public private(set) var frames = 0
    var runStart: Int? = nil
    var runBefore: (near: Double, wide: Double) = (0, 0)

    public struct Edges: Sendable, Equatable {
        public var before: Double, beforeWide: Double, after: Double, afterWide: Double
    }

    /// Edge windows, frames.
    let near: Int, wide: Int
    /// Running sum of the power (mean over channels) of frames [0, frames), and a ring of its
    /// last `near + wide + 1` values, so any window inside it costs two look-ups.
    var cumulative = 0.0
    var ring: [Double]
    /// Runs whose `after` windows are still arriving (indices into `runs`).
    var pending: [Int] = []
    /// 10 ms frames' power in 0.5 dB steps from −160 dBFS (frames of digital silence left out).
    var histogram = [Int](repeating: 0, count: 341)
    var framePower = 0.0, frameFill = 0, frameLoud = false
    let frameLength: Int

    public init(minimumFrames: Int, sampleRate: Double = 44100) {
        self.minimumFrames = max(1, minimumFrames)
        near = max(1, Int(0.010 * sampleRate))
        wide = max(1, Int(0.050 * sampleRate))
        frameLength = near
        ring = [Double](repeating: 0, count: near + wide + 1)
    }

    /// Running sum at frame index `i` (within the ring's reach).
    func sum(at i: Int) -> Double { ring[((i % ring.count) + ring.count) % ring.count] }
    /// Mean power over frames [a, b) seen so far, clipped to the file's start.
    func meanPower(_ a: Int, _ b: Int) -> Double {
        let lo = max(0, a, frames - ring.count + 1), hi = min(b, frames)
        guard hi > lo else { return 0 }
        return (sum(at: hi) - sum(at: lo)) / Double(hi - lo)
    }

    public mutating func add(_ block: AudioBuffer) {
        let t = DropoutDetector.threshold
        let channels = block.channels, nc = Double(max(1, channels.count))
        for i in 0..<block.frameCount {
            var silent = true, power = 0.0
            for ch in channels {
                let v = ch[i]
                if abs(v) > t { silent = false }
                power += Double(v) * Double(v)
            }
            let at = frames + i
            if silent {
                if runStart == nil {
                    runStart = at
                    // `frames` is updated per block: look up the sums directly.
                    runBefore = (window(at - near, at), window(at - near - wide, at - near))
                }
            } else {
                close(at: at)
            }
            cumulative += power / nc
            ring[(at + 1) % ring.count] = cumulative
            // 10 ms frames for the level histogram.
            framePower += power / nc
            if !silent { frameLoud = true }
            frameFill += 1
            if frameFill == frameLength { flushFrame() }
            if !pending.isEmpty { resolvePending(upTo: at + 1) }
        }
        frames += block.frameCount
    }

    /// Mean power over [a, b) where b is the frame being added (ring already holds sum(a)…sum(b)).
    func window(_ a: Int, _ b: Int) -> Double {
        let lo = max(0, a)
        guard b > lo else { return 0 }
        return (sum(at: b) - sum(at: lo)) / Double(b - lo)
    }

    mutating func flushFrame() {
        if frameLoud {
            let db = 10 * log10(framePower / Double(max(1, frameFill)) + 1e-30)
            histogram[max(0, min(histogram.count - 1, Int(((db + 160) * 2).rounded())))] += 1
        }
        framePower = 0; frameFill = 0; frameLoud = false
    }

    /// Fills in the `after` levels of runs whose windows are complete at frame `end`.
    /// Runs close in order, so the first pending run is always the first due.
    mutating func resolvePending(upTo end: Int) {
        while let r = pending.first, end >= runs[r].upperBound + near + wide {
            let s = runs[r].upperBound
            edges[r].after = window(s, s + near)
            edges[r].afterWide = window(s + near, s + near + wide)
            pending.removeFirst()
        }
    }

    /// Closes a run that reaches the end; the last `after` windows take what there is.
    public mutating func finish() {
        close(at: frames)
        if frameFill > 0 { flushFrame() }
        for r in pending {
            let s = runs[r].upperBound
            edges[r].after = meanPower(s, s + near)
            edges[r].afterWide = meanPower(s + near, s + near + wide)
        }
        pending = []
    }

    mutating func close(at i: Int) {
        if let s = runStart, i - s >= minimumFrames {
            runs.append(s..<i)
            edges.append(Edges(before: runBefore.near, beforeWide: runBefore.wide, after: 0, afterWide: 0))
            pending.append(runs.count - 1)
        }
        runStart = nil
    }

    /// Levels of the recording (10 ms frames that are not digital silence), dBFS of power:
    /// `loud` the 90th percentile, `floor` the 10th. Nil for a silent stream.
    public var levels: (loud: Double, floor: Double)? {
        let total = histogram.reduce(0, +)
        guard total > 0 else { return nil }
        func percentile(_ q: Double) -> Double {
            let target = Int(Double(total - 1) * q)
            var seen = 0
            for (i, c) in histogram.enumerated() {
                seen += c
                if seen > target { return Double(i) / 2 - 160 }
            }
            return 10
        }
        return (percentile(0.9), percentile(0.1))
    }

    /// The level both edges of a dropout must reach, dBFS of power: within 30 dB of the loud
    /// level, over −60 dBFS, and well above the noise floor: 15 dB over the 10th percentile
    /// when that is a floor (30 dB or more under the loud level); for denser audio, whose
    /// quiet frames are music rather than noise, the margin shrinks by 2 dB per dB of
    /// spread lost, down to nothing at 15 dB of spread.
    public var edgeThreshold: Double? {
        guard let l = levels else { return nil }
        let spread = l.loud - l.floor
        return max(-60, l.loud - 30, l.floor + 15 - 2 * max(0, 30 - spread))
    }

    /// How far (dB) the 10 ms next to the silence may fall under the 50 ms beyond it: more
    /// is the end of a decay (or a gate's hold after one), or the start of an onset.
    public static let edgeDrop = 6.0

    /// True when the run's edges are those of a dropout: both at `edgeThreshold` or above,
    /// and neither the end of a decay nor the start of a rise.
    public func isAbrupt(_ r: Int) -> Bool {
        guard let threshold = edgeThreshold else { return false }
        func db(_ p: Double) -> Double { 10 * log10(p + 1e-30) }
        let e = edges[r]
        return db(e.before) >= threshold && db(e.after) >= threshold
            && db(e.before) >= db(e.beforeWide) - Self.edgeDrop && db(e.after) >= db(e.afterWide) - Self.edgeDrop
    }

    /// Dropouts of `minimum` to `maximum` seconds that touch neither end and are abrupt.
    public func dropouts(minimum: Double = DropoutDetector.defaultMinimum, maximum: Double = DropoutDetector.defaultMaximum,
                         rate: Double) -> [TimeSpan] {
        let n = max(1, Int((minimum * rate).rounded())), m = Int((maximum * rate).rounded())
        return runs.indices.filter { i in
            let r = runs[i]
            return r.count >= n && r.count <= m && r.lowerBound > 0 && r.upperBound < frames && isAbrupt(i)
        }.map { TimeSpan(start: Double(runs[$0].lowerBound) / rate, end: Double(runs[$0].upperBound) / rate) }
    }

    /// The silent run of at least 1 ms containing `time` (or starting there).
    public func run(containing time: Double, rate: Double) -> TimeSpan? {
        let t = Int((time * rate).rounded()), n = max(1, Int(0.001 * rate))
        for r in runs where r.count >= n && (r.contains(t) || r.lowerBound == t) {
            return TimeSpan(start: Double(r.lowerBound) / rate, end: Double(r.upperBound) / rate)
        }
        return nil
    }
}
