import Foundation
import RestoreCore
import Tasks

/// The `--json` contract of every command (docs/restore-output.schema.json): one compact
/// object per line per input, never pretty-printed and never an array, so that a script reads
/// stdout line by line. Keys are snake_case; a number that is not finite (−∞ dBFS of digital
/// silence, a NaN) is null with `<key>_nonfinite` beside it holding "-inf", "inf" or "nan"
/// (inside an array it is a bare null).
struct OutputRecord {
    static let schema = "restore/1"

    /// The subcommand as typed: "bwe", "probe eval", "manifest status".
    var command: String
    /// The file (or folder) this line is about; null when the command reads none (generate).
    var input: String?
    var outputs: [String] = []
    var seconds: Double
    /// Set by the commands that sample (the engine tasks, probe train).
    var seed: UInt64? = nil
    /// The options that shaped the result.
    var settings: [String: JSONValue] = [:]
    /// The command's own result.
    var report: [String: JSONValue] = [:]
    var model: ModelIdentity? = nil

    var line: String {
        var parts = [
            "\"schema\":" + JSONText.string(Self.schema),
            "\"tool\":" + JSONText.render(.object(["name": "restore", "version": .string(RestoreVersion.string)])),
            "\"model\":" + (model.map { JSONText.render($0.json) } ?? "null"),
            "\"command\":" + JSONText.string(command),
            "\"input\":" + (input.map(JSONText.string) ?? "null"),
            "\"outputs\":" + JSONText.render(.array(outputs.map { .string($0) })),
            "\"seconds\":" + JSONText.render(.number(seconds)),
            // A seed is any UInt64: written as an integer, not through Double.
            "\"seed\":" + (seed.map { String($0) } ?? "null"),
        ]
        parts.append("\"settings\":" + JSONText.render(.object(settings)))
        parts.append("\"report\":" + JSONText.render(.object(report)))
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// Prints the line on stdout (the commands refuse `--json` with `-o -`, so stdout is free).
    func print() { Swift.print(CLIOutput.shown(line)) }
}

/// The model folder behind a result: its model.json name and version, and the SHA-256 of its
/// transformer weights (what tells two trainings apart).
struct ModelIdentity {
    var name: String, version: String?, sha: String

    var json: JSONValue { .object(["name": .string(name), "version": version.map { .string($0) } ?? .null, "sha": .string(sha)]) }

    /// The folder `--model` names, or the shipped default; nil when it cannot be found.
    static func of(directory: String?) -> ModelIdentity? {
        guard let files = try? ModelLocator.modelFiles(directory: directory) else { return nil }
        return of(tokenizer: files.tokenizer)
    }

    /// The folder holding `tokenizer` (tokenize uses only that part of it).
    static func of(tokenizer: String) -> ModelIdentity? {
        let folder = (tokenizer as NSString).deletingLastPathComponent
        let transformer = (folder as NSString).appendingPathComponent("transformer.safetensors")
        let weights = FileManager.default.fileExists(atPath: transformer) ? transformer : tokenizer
        guard let sha = try? ModelVerification.sha256(file: weights) else { return nil }
        var name = (URL(fileURLWithPath: folder).standardizedFileURL.lastPathComponent), version: String?
        if let data = FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent("model.json")),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            if let n = object["name"] as? String { name = n }
            if let v = object["version"] { version = "\(v)" }
        }
        return ModelIdentity(name: name, version: version, sha: sha)
    }
}

/// Compact JSON text with sorted keys (stable lines that diff well) and the non-finite rule above.
enum JSONText {
    static func render(_ value: JSONValue) -> String {
        switch value {
        case .number(let v): return number(v) ?? "null"
        case .string(let s): return string(s)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let items): return "[" + items.map(render).joined(separator: ",") + "]"
        case .object(let fields):
            var parts: [String] = []
            for key in fields.keys.sorted() {
                let v = fields[key]!
                parts.append(string(key) + ":" + render(v))
                if case .number(let x) = v, !x.isFinite, fields[key + "_nonfinite"] == nil {
                    parts.append(string(key + "_nonfinite") + ":" + string(x.isNaN ? "nan" : x > 0 ? "inf" : "-inf"))
                }
            }
            return "{" + parts.joined(separator: ",") + "}"
        }
    }

    /// Whole numbers without a fraction; others in Swift's shortest round-trip form.
    static func number(_ v: Double) -> String? {
        guard v.isFinite else { return nil }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

extension JSONValue {
    /// Any Encodable value as a JSON value with snake_case keys (`rocAUC` → `roc_auc`,
    /// `min-dropout` → `min_dropout`); non-finite numbers survive as numbers.
    static func encoding<T: Encodable>(_ value: T) throws -> JSONValue {
        let enc = JSONEncoder()
        enc.keyEncodingStrategy = .convertToSnakeCase
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: nonFinite[0], negativeInfinity: nonFinite[1], nan: nonFinite[2])
        let decoded = try JSONDecoder().decode(JSONValue.self, from: try enc.encode(value))
        return decoded.snakeKeys()
    }

    private static let nonFinite = ["\u{1}inf", "\u{1}-inf", "\u{1}nan"]

    private func snakeKeys() -> JSONValue {
        switch self {
        case .object(let o): return .object(Dictionary(uniqueKeysWithValues: o.map { ($0.key.replacingOccurrences(of: "-", with: "_"), $0.value.snakeKeys()) }))
        case .array(let a): return .array(a.map { $0.snakeKeys() })
        case .string(let s) where s == Self.nonFinite[0]: return .number(.infinity)
        case .string(let s) where s == Self.nonFinite[1]: return .number(-.infinity)
        case .string(let s) where s == Self.nonFinite[2]: return .number(.nan)
        default: return self
        }
    }

    /// The fields of an object (an Encodable struct's properties); empty for anything else.
    var fields: [String: JSONValue] {
        if case .object(let o) = self { return o }
        return [:]
    }

    static func encodingFields<T: Encodable>(_ value: T) throws -> [String: JSONValue] { try encoding(value).fields }
}
