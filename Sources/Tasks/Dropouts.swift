import Foundation
import RestoreCore

/// Finds dropouts: runs of digital silence (every channel within one 16-bit step of zero)
/// of at least `minimum` seconds inside the signal. Silence touching the start or the end
/// is a fade or a pause, not a dropout, and is left alone.
public enum DropoutDetector {
    public static let threshold: Float = 1.0 / 32768

    public static func find(_ buffer: AudioBuffer, minimum: Double = 0.020) -> [TimeSpan] {
        runs(buffer, minimumFrames: max(1, Int((minimum * buffer.sampleRate).rounded())))
            .filter { $0.lowerBound > 0 && $0.upperBound < buffer.frameCount }
            .map { TimeSpan(start: Double($0.lowerBound) / buffer.sampleRate, end: Double($0.upperBound) / buffer.sampleRate) }
    }

    /// The silent run containing `time`, if there is one of at least 1 ms.
    public static func run(containing time: Double, in buffer: AudioBuffer) -> TimeSpan? {
        let t = Int((time * buffer.sampleRate).rounded())
        for r in runs(buffer, minimumFrames: max(1, Int(0.001 * buffer.sampleRate))) where r.contains(t) || r.lowerBound == t {
            return TimeSpan(start: Double(r.lowerBound) / buffer.sampleRate, end: Double(r.upperBound) / buffer.sampleRate)
        }
        return nil
    }

    static func runs(_ buffer: AudioBuffer, minimumFrames: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start: Int? = nil
        let n = buffer.frameCount
        for i in 0...n {
            let silent = i < n && buffer.channels.allSatisfy { abs($0[i]) <= threshold }
            if silent { if start == nil { start = i } } else if let s = start {
                if i - s >= minimumFrames { out.append(s..<i) }
                start = nil
            }
        }
        return out
    }
}
