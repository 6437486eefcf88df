import Foundation
import RestoreCore

/// `auto` (estimated from the spectrum) or a frequency in Hz.
public enum Cutoff: Codable, Sendable, Equatable, CustomStringConvertible {
    case auto
    case hertz(Double)

    /// "auto", "4000", "4000hz", "4khz" or "4k"; nil for anything else.
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

extension KeyedDecodingContainer where Key == AnyKey {
    /// A preset value given as one item or a list of them; absent = `fallback`.
    func oneOrMany<T: Decodable>(_ type: T.Type, _ key: String, fallback: [T] = []) throws -> [T] {
        if let one = try? decodeIfPresent(T.self, forKey: AnyKey(key)) { return [one] }
        return try decodeIfPresent([T].self, forKey: AnyKey(key)) ?? fallback
    }

    /// A level in dB that can be turned off: a number, or `off` (YAML reads a plain `off` as
    /// false, and null is accepted too); absent = `fallback`.
    func decibelsOrOff(_ key: String, fallback: Double?) throws -> Double? {
        let k = AnyKey(key)
        guard contains(k) else { return fallback }
        if try decodeNil(forKey: k) { return nil }
        if let b = try? decode(Bool.self, forKey: k), !b { return nil }
        if let t = try? decode(String.self, forKey: k), t == "off" { return nil }
        guard let v = try? decode(Double.self, forKey: k) else {
            throw DecodingError.typeMismatch(Double.self, .init(codingPath: codingPath + [k], debugDescription: "expected a number of dB or off"))
        }
        return v
    }
}
