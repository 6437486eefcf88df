import Foundation
import RestoreCore

/// Finds dropouts: runs of digital silence (every channel within one 16-bit step of zero)
/// of at least `minimum` seconds inside the signal. Silence touching the start or the end
/// is a fade or a pause, not a dropout, and is left alone.
public enum DropoutDetector {
    public static let threshold: Float = 1.0 / 32768

    public static func find(_ buffer: AudioBuffer, minimum: Double = 0.020) -> [TimeSpan] {
        var scan = DropoutScan(minimumFrames: 1)
        scan.add(buffer)
        scan.finish()
        return scan.dropouts(minimum: minimum, rate: buffer.sampleRate)
    }

    /// The silent run containing `time`, if there is one of at least 1 ms.
    public static func run(containing time: Double, in buffer: AudioBuffer) -> TimeSpan? {
        var scan = DropoutScan(minimumFrames: 1)
        scan.add(buffer)
        scan.finish()
        return scan.run(containing: time, rate: buffer.sampleRate)
    }
}

/// Silent runs of a stream, block by block: what `DropoutDetector` needs, without the audio.
public struct DropoutScan: Sendable {
    public let minimumFrames: Int
    /// Runs of at least `minimumFrames`, in frames.
    public private(set) var runs: [Range<Int>] = []
    public private(set) var frames = 0
    var runStart: Int? = nil

    public init(minimumFrames: Int) { self.minimumFrames = max(1, minimumFrames) }

    public mutating func add(_ block: AudioBuffer) {
        let t = DropoutDetector.threshold
        for i in 0..<block.frameCount {
            let silent = block.channels.allSatisfy { abs($0[i]) <= t }
            if silent { if runStart == nil { runStart = frames + i } } else { close(at: frames + i) }
        }
        frames += block.frameCount
    }

    /// Closes a run that reaches the end.
    public mutating func finish() { close(at: frames) }

    mutating func close(at i: Int) {
        if let s = runStart, i - s >= minimumFrames { runs.append(s..<i) }
        runStart = nil
    }

    /// Dropouts of at least `minimum` seconds that touch neither end.
    public func dropouts(minimum: Double, rate: Double) -> [TimeSpan] {
        let n = max(1, Int((minimum * rate).rounded()))
        return runs.filter { $0.count >= n && $0.lowerBound > 0 && $0.upperBound < frames }
            .map { TimeSpan(start: Double($0.lowerBound) / rate, end: Double($0.upperBound) / rate) }
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
