import Foundation
import RestoreCore

/// A time as users write it: "1.2s", "1.2", "350ms", "1:02.5" (minutes:seconds).
public struct TimeValue: Codable, Sendable, Equatable, CustomStringConvertible {
    public var seconds: Double

    public init(seconds: Double) { self.seconds = seconds }

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

/// `auto` (estimated from the spectrum) or a frequency in Hz.
public enum Cutoff: Codable, Sendable, Equatable, CustomStringConvertible {
    case auto
    case hertz(Double)

    public init?(parsing text: String) {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t == "auto" { self = .auto; return }
        var number = t, scale = 1.0
        if t.hasSuffix("khz") { number = String(t.dropLast(3)); scale = 1000 } else if t.hasSuffix("hz") { number = String(t.dropLast(2)) }
        else if t.hasSuffix("k") { number = String(t.dropLast()); scale = 1000 }
        guard let v = Double(number), v.isFinite else { return nil }
        self = .hertz(v * scale)
    }

    public var description: String {
        switch self { case .auto: return "auto"; case .hertz(let v): return String(format: "%.0f Hz", v) }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Double.self) { self = .hertz(v); return }
        let s = try c.decode(String.self)
        guard let v = Cutoff(parsing: s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(s)' is not auto or a frequency (e.g. 4000, 4kHz)")
        }
        self = v
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self { case .auto: try c.encode("auto"); case .hertz(let v): try c.encode(v) }
    }
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
