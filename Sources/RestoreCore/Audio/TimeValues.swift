import Foundation

/// A time as users write it: "1.2s", "1.2", "350ms", "1:02.5" (minutes:seconds).
public struct TimeValue: Codable, Sendable, Equatable, CustomStringConvertible {
    public var seconds: Double

    public init(seconds: Double) { self.seconds = seconds }

    /// Beyond this (about four months) a time is a typing mistake, and converting it to a
    /// sample index would overflow: every time option is range-checked against it.
    public static let maximumSeconds = 1e7

    public init?(parsing text: String) {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t.hasSuffix("ms"), let v = Double(t.dropLast(2)) { seconds = v / 1000 }
        else if t.hasSuffix("s"), let v = Double(t.dropLast()) { seconds = v }
        else if t.contains(":") {
            let parts = t.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let m = Double(parts[0]), let s = Double(parts[1]), m >= 0, s >= 0, s < 60 else { return nil }
            seconds = m * 60 + s
        } else if let v = Double(t) { seconds = v }
        else { return nil }
        if !seconds.isFinite { return nil }
    }

    public var description: String { String(format: "%.3gs", seconds) }

    /// As a user would type it, and `init(parsing:)` reads back: "20ms" under a second when
    /// whole milliseconds, else "5s", "1.25s" (the command-line defaults shown in --help).
    public var typed: String {
        let ms = seconds * 1000, whole = { (v: Double) in abs(v - v.rounded()) < 1e-9 * max(1, abs(v)) }
        if abs(seconds) < 1, whole(ms) { return "\(Int(ms.rounded()))ms" }
        return whole(seconds) ? "\(Int(seconds.rounded()))s" : String(format: "%gs", seconds)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Double.self) { seconds = v; return }
        let s = try c.decode(String.self)
        guard let v = TimeValue(parsing: s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(s)' is not a time (e.g. 1.2s, 350ms, 1:02.5)")
        }
        self = v
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(seconds)
    }
}

/// A time span [start, end) in seconds.
public struct TimeSpan: Codable, Sendable, Equatable, CustomStringConvertible {
    public var start: Double
    public var end: Double
    public init(start: Double, end: Double) { self.start = start; self.end = end }
    public var length: Double { end - start }
    public var description: String { String(format: "%.3f–%.3f s", start, end) }

    /// "1.2-1.6,3.0-3.1" (each bound a TimeValue).
    public static func parseList(_ text: String) throws -> [TimeSpan] {
        try text.split(separator: ",").map { item in
            let parts = item.split(separator: "-", maxSplits: 1).map(String.init)
            guard parts.count == 2, let a = TimeValue(parsing: parts[0]), let b = TimeValue(parsing: parts[1]) else {
                throw RestoreError.invalidArgument("gap '\(item)' is not START-END (e.g. 1.2-1.6 or 1.2s-1.6s)")
            }
            guard a.seconds >= 0, b.seconds > a.seconds else {
                throw RestoreError.invalidArgument("gap '\(item)': the end must come after the start, both ≥ 0")
            }
            return TimeSpan(start: a.seconds, end: b.seconds)
        }
    }
}
