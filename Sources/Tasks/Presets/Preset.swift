import Foundation
import RestoreCore
import Yams

/// A preset: a named YAML pipeline of task steps (engine.md §3), validated before any audio is
/// read. Errors name the file, the line and the key, and suggest the nearest valid name.
///
/// ```yaml
/// name: phone-speech-to-wideband
/// description: Telephone speech to wideband.
/// defaults: {iterations: 16, seed: 0}
/// steps:
///   - task: bwe
///     when: bandwidth < 5000
///     cutoff: auto
/// ```
public struct Preset: Sendable {
    public struct Step: Sendable {
        public var task: any RestoreTask
        public var when: PresetCondition?
        public var line: Int
        public var name: String { type(of: task).name }
    }

    public var name: String
    public var description: String
    public var sampling: SamplingSettings
    public var steps: [Step]
    /// The file's text (its hash keys the batch manifest).
    public var source: String
    public var path: String

    static let topKeys = ["name", "description", "defaults", "steps"]
    static let defaultKeys = ["seed", "iterations", "temperature", "guidance", "decoding"]

    public static func load(path: String) throws -> Preset {
        guard FileManager.default.fileExists(atPath: path) else { throw RestoreError.fileNotFound(path: path) }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > PresetLimits.maximumBytes {
            throw RestoreError.invalidData(path: path, reason: "is \(size) bytes; presets are at most \(PresetLimits.maximumBytes / 1024) KB")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw RestoreError.unreadable(path: path, reason: "not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    /// `tasks` are the step types a preset may name: the registry's, or (for a task defined
    /// outside this module, such as the README's example) the registry's and more.
    public static func parse(_ text: String, path: String, tasks: [any RestoreTask.Type] = TaskRegistry.all) throws -> Preset {
        let taskNames = tasks.map { $0.name }
        func fail(_ line: Int?, _ message: String) -> RestoreError {
            .invalidData(path: line.map { "\(path):\($0)" } ?? path, reason: message)
        }
        do { try PresetLimits.check(text) } catch let v as PresetLimits.Violation { throw fail(v.line, v.message) }
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch let e as YamlError {
            // libyaml says "L:C: error: parser: …"; keep the line, drop the rest of the prefix.
            let first = String(String(describing: e).split(separator: "\n").first ?? "")
            let parts = first.split(separator: ":", maxSplits: 3).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 4, let line = Int(parts[0]), parts[2] == "error" { throw fail(line, "not valid YAML (\(parts[3]))") }
            throw fail(nil, "not valid YAML (\(first))")
        }
        guard let root, let top = root.mapping else { throw fail(root?.mark?.line, "a preset is a mapping with name, description and steps") }
        for (k, _) in top {
            let key = k.string ?? ""
            if !topKeys.contains(key) { throw fail(k.mark?.line, "unknown key '\(key)'\(Suggest.didYouMean(key, topKeys))") }
        }
        guard let name = top["name"]?.string, !name.isEmpty else { throw fail(root.mark?.line, "missing 'name'") }
        let description = top["description"]?.string ?? ""
        var sampling = SamplingSettings()
        if let d = top["defaults"] {
            guard let m = d.mapping else { throw fail(d.mark?.line, "'defaults' must be a mapping") }
            for (k, v) in m {
                let key = k.string ?? ""
                let line = k.mark?.line
                switch key {
                case "seed":
                    guard let x = v.int, x >= 0 else { throw fail(line, "'seed' must be a whole number ≥ 0") }
                    sampling.seed = UInt64(x)
                case "iterations":
                    guard let x = v.int, (1...256).contains(x) else { throw fail(line, "'iterations' must be a whole number between 1 and 256") }
                    sampling.iterations = x
                case "temperature", "guidance":
                    guard let x = v.float, x >= 0, x <= 100 else { throw fail(line, "'\(key)' must be a number between 0 and 100") }
                    if key == "temperature" { sampling.temperature = Float(x) } else { sampling.guidance = Float(x) }
                case "decoding":
                    guard let x = v.string.flatMap(TokenDecoding.init(rawValue:)) else {
                        throw fail(line, "'decoding' must be one of \(TokenDecoding.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    sampling.decoding = x
                default:
                    throw fail(line, "unknown key '\(key)' in defaults\(Suggest.didYouMean(key, defaultKeys))")
                }
            }
        }
        guard let stepsNode = top["steps"] else { throw fail(root.mark?.line, "missing 'steps'") }
        guard let seq = stepsNode.sequence, !seq.isEmpty else { throw fail(stepsNode.mark?.line, "'steps' must be a non-empty list") }
        var steps: [Step] = []
        for (i, s) in seq.enumerated() {
            let line = s.mark?.line ?? 0
            guard let m = s.mapping else { throw fail(line, "step \(i + 1) must be a mapping with a 'task'") }
            guard let taskName = m["task"]?.string else { throw fail(line, "step \(i + 1) has no 'task'") }
            guard let type = tasks.first(where: { $0.name == taskName }) else {
                throw fail(m["task"]?.mark?.line ?? line, "unknown task '\(taskName)'\(Suggest.didYouMean(taskName, taskNames)) (tasks: \(taskNames.joined(separator: ", ")))")
            }
            guard type.writesAudio else { throw fail(line, "task '\(taskName)' writes no audio and cannot be a preset step") }
            var when: PresetCondition? = nil
            var options: [String: Any] = [:]
            var keyLines: [String: Int] = [:]
            let keys = type.optionKeys
            for (k, v) in m {
                let key = k.string ?? ""
                let kline = k.mark?.line ?? line
                if key == "task" { continue }
                if key == "when" {
                    guard let text = v.string else { throw fail(kline, "'when' must be a condition like 'bandwidth < 7000'") }
                    do { when = try PresetCondition(parsing: text) } catch let e as RestoreError { throw fail(kline, "when: \(e.description)") }
                    continue
                }
                guard keys.contains(key) else {
                    throw fail(kline, "unknown option '\(key)' for task '\(taskName)'\(Suggest.didYouMean(key, keys + ["when"])) (options: \(keys.joined(separator: ", ")))")
                }
                options[key] = plain(v)
                keyLines[key] = kline
            }
            let task: any RestoreTask
            do {
                task = try type.decode(options)
            } catch let e as DecodingError {
                let key = e.key ?? ""
                throw fail(keyLines[key] ?? line, "option '\(key)' of task '\(taskName)': \(e.reason)")
            } catch let e as RestoreError {
                throw fail(line, e.description)
            }
            steps.append(Step(task: task, when: when, line: line))
        }
        return Preset(name: name, description: description, sampling: sampling, steps: steps, source: text, path: path)
    }

    /// A YAML node as JSON-compatible values (the options' decoders read JSON).
    static func plain(_ n: Node) -> Any {
        switch n {
        case .scalar(let s):
            if s.style == .plain {
                if let b = n.bool { return b }
                if let i = n.int { return i }
                if let f = n.float { return f }
                if n.null != nil { return NSNull() }
            }
            return s.string
        case .sequence(let q): return q.map { plain($0) }
        case .mapping(let m):
            var d: [String: Any] = [:]
            for (k, v) in m { d[k.string ?? ""] = plain(v) }
            return d
        }
    }
}

extension RestoreTask {
    public static var optionKeys: [String] { Options.keys }

    /// Options from preset values (JSON-compatible), validated, as a task. The step is decoded
    /// over `Options()`: every key it leaves out takes the value `Options()` encodes for it, so
    /// a synthesized `Decodable` reads a partial step and each default is written once, in
    /// `Options` (no hand-written `init(from:)` repeating them).
    static func decode(_ values: [String: Any]) throws -> any RestoreTask {
        let data = try JSONSerialization.data(withJSONObject: defaultValues().merging(values) { _, given in given })
        let options = try JSONDecoder().decode(Options.self, from: data)
        try options.validate()
        return try Self(options: options)
    }

    /// `Options()` as preset values, limited to the keys a preset may give (nil defaults are
    /// left out, as their encoders leave them out). Empty when the defaults do not encode.
    static func defaultValues() -> [String: Any] {
        guard let data = try? JSONEncoder().encode(Options()),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return [:] }
        return object.filter { Options.keys.contains($0.key) }
    }
}

extension DecodingError {
    var key: String? {
        switch self {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): return c.codingPath.first?.stringValue
        case .keyNotFound(let k, _): return k.stringValue
        @unknown default: return nil
        }
    }

    var reason: String {
        switch self {
        case .typeMismatch(_, let c) where c.debugDescription.hasPrefix("expected "): return c.debugDescription
        case .typeMismatch(let t, _): return "expected \(Self.describe(t))"
        case .valueNotFound(let t, _): return "expected \(Self.describe(t))"
        case .dataCorrupted(let c): return c.debugDescription
        case .keyNotFound(let k, _): return "missing '\(k.stringValue)'"
        @unknown default: return "invalid value"
        }
    }

    static func describe(_ t: Any.Type) -> String {
        switch t {
        case is Bool.Type: return "true or false"
        case is Int.Type: return "a whole number"
        case is Double.Type, is Float.Type: return "a number"
        case is String.Type: return "text"
        default: return "a valid value"
        }
    }
}
