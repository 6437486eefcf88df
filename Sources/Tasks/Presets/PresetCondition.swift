import Foundation
import RestoreCore

/// A `when:` guard: comparisons on what `restore info` measures, joined by `and`,
/// e.g. `bandwidth < 7000 and duration > 1`.
public struct PresetCondition: Sendable, Equatable, CustomStringConvertible {
    public struct Comparison: Sendable, Equatable {
        public var field: String, op: String, value: Double
    }
    public var comparisons: [Comparison]

    /// Every field a guard may test, with its unit.
    public static let fields: [String: String] = [
        "bandwidth": "Hz", "duration": "s", "sample_rate": "Hz", "channels": "",
        "peak_dbfs": "dBFS", "rms_dbfs": "dBFS", "clipped": "ratio", "dropouts": "count",
    ]
    static let ops = ["<=", ">=", "==", "!=", "<", ">"]

    /// Parses `text`; errors say what is wrong (the caller adds file and line).
    public init(parsing text: String) throws {
        var out: [Comparison] = []
        for part in text.components(separatedBy: " and ") {
            let p = part.trimmingCharacters(in: .whitespaces)
            guard let op = Self.ops.first(where: { p.contains($0) }) else {
                throw RestoreError.invalidArgument("'\(p)' is not FIELD OP NUMBER (ops: < <= > >= == !=)")
            }
            let sides = p.components(separatedBy: op).map { $0.trimmingCharacters(in: .whitespaces) }
            guard sides.count == 2 else { throw RestoreError.invalidArgument("'\(p)' is not FIELD OP NUMBER") }
            guard Self.fields[sides[0]] != nil else {
                throw RestoreError.invalidArgument("unknown field '\(sides[0])'\(Suggest.didYouMean(sides[0], Array(Self.fields.keys))) (fields: \(Self.fields.keys.sorted().joined(separator: ", ")))")
            }
            guard let v = Double(sides[1].replacingOccurrences(of: "_", with: "")) else {
                throw RestoreError.invalidArgument("'\(sides[1])' in '\(p)' is not a number")
            }
            out.append(Comparison(field: sides[0], op: op, value: v))
        }
        comparisons = out
    }

    public var description: String { comparisons.map { "\($0.field) \($0.op) \(Self.format($0.value))" }.joined(separator: " and ") }
    static func format(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v) }

    /// `dropouts` is asked only when a comparison needs it.
    public func holds(report: AudioReport, dropouts: () -> Int) -> Bool {
        comparisons.allSatisfy { c in
            let x: Double
            switch c.field {
            case "bandwidth": x = report.bandwidth
            case "duration": x = report.duration
            case "sample_rate": x = report.sampleRate
            case "channels": x = Double(report.channels)
            case "peak_dbfs": x = report.peakDBFS
            case "rms_dbfs": x = report.rmsDBFS
            case "clipped": x = report.clippedRatio
            default: x = Double(dropouts())
            }
            switch c.op {
            case "<": return x < c.value
            case "<=": return x <= c.value
            case ">": return x > c.value
            case ">=": return x >= c.value
            case "==": return x == c.value
            default: return x != c.value
            }
        }
    }
}

/// "did you mean" suggestions by edit distance.
public enum Suggest {
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...max(1, b.count) where !b.isEmpty {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }

    /// "; did you mean 'x'?" for the closest candidate within a few edits, else "".
    public static func didYouMean(_ word: String, _ candidates: [String]) -> String {
        guard let best = candidates.min(by: { distance(word, $0) < distance(word, $1) || (distance(word, $0) == distance(word, $1) && $0 < $1) }),
              distance(word, best) <= max(2, word.count / 3) else { return "" }
        return "; did you mean '\(best)'?"
    }
}
