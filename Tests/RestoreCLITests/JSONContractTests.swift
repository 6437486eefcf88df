import Foundation
import RestoreCore
import Tasks
import XCTest

/// The `--json` contract (docs/restore-output.schema.json): every command, run with `--json`
/// on two inputs where it takes inputs, prints one compact object per line per input, and
/// every line validates against the committed schema.
final class JSONContractTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("restore-json-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    /// Runs one command and returns its stdout lines, each validated against the schema.
    @discardableResult
    func lines(_ args: [String], expect count: Int, command: String, file: StaticString = #filePath, line: UInt = #line) throws -> [JSON] {
        let r = try CLI.run(args + ["--json"])
        XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)", file: file, line: line)
        let texts = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        XCTAssertTrue(r.stdout.hasSuffix("\n"), "\(args): stdout does not end in a newline", file: file, line: line)
        XCTAssertEqual(texts.count, count, "\(args): \(r.stdout)", file: file, line: line)
        return try texts.map { text in
            XCTAssertTrue(text.hasPrefix("{") && text.hasSuffix("}"), "not one object: \(text)", file: file, line: line)
            let value = try JSONDecoder().decode(JSON.self, from: Data(text.utf8))
            let errors = SchemaValidator.errors(value, schema: Self.schema)
            XCTAssertEqual(errors, [], "\(args): \(text)", file: file, line: line)
            XCTAssertEqual(value["command"], .string(command), file: file, line: line)
            XCTAssertEqual(value.nonSnakeKeys(), [], "\(args): keys not snake_case", file: file, line: line)
            return value
        }
    }

    static let schema: JSON = {
        let url = CLI.repository.appendingPathComponent("docs/restore-output.schema.json")
        return (try? JSONDecoder().decode(JSON.self, from: Data(contentsOf: url))) ?? .null
    }()

    func testTheSchemaFileIsTheOneTheValidatorUnderstands() throws {
        guard case .object(let s) = Self.schema else { return XCTFail("docs/restore-output.schema.json is not a JSON object") }
        XCTAssertEqual(s["$schema"], .string("https://json-schema.org/draft/2020-12/schema"))
        // A line that breaks the contract is caught: a missing key, an extra key, a wrong type.
        let good = try JSONDecoder().decode(JSON.self, from: Data("""
            {"schema":"restore/1","tool":{"name":"restore","version":"0.1.0"},"model":null,"command":"info","input":"a.wav",
             "outputs":[],"seconds":0.1,"seed":null,"settings":{},"report":{}}
            """.utf8))
        XCTAssertEqual(SchemaValidator.errors(good, schema: Self.schema), [])
        guard case .object(var bad) = good else { return XCTFail() }
        bad["extra"] = .int(1)
        bad["seed"] = .string("7")
        bad["outputs"] = .array([.int(3)])
        bad["command"] = .string("nope")
        bad["model"] = .object(["name": .string("m")])
        bad["tool"] = nil
        XCTAssertEqual(SchemaValidator.errors(.object(bad), schema: Self.schema).sorted(), [
            "$.command: \"nope\" is not one of the allowed values", "$.model: missing sha", "$.model: missing version",
            "$.outputs[0]: expected string", "$.seed: expected integer or null", "$: missing tool", "$: unexpected key extra",
        ])
    }

    func testEveryCommandPrintsSchemaLinesPerInput() throws {
        let rate = 22050.0
        // Two inputs: a tone with a 60 ms dropout, and a low-passed two-tone chord.
        var a = TestSignals.sine(frequency: 330, sampleRate: rate, seconds: 1, amplitude: 0.3)
        for i in 11025..<12348 { a[i] = 0 }
        let b = (0..<Int(rate)).map { i in Float(0.2 * sin(2 * .pi * 220 * Double(i) / rate) + 0.1 * sin(2 * .pi * 880 * Double(i) / rate)) }
        let inA = folder + "/a.wav", inB = folder + "/b.wav", silent = folder + "/silent.wav"
        try AudioWriter.write(AudioBuffer(sampleRate: rate, mono: a), to: inA)
        try AudioWriter.write(AudioBuffer(sampleRate: rate, mono: b), to: inB)
        try AudioWriter.write(AudioBuffer(sampleRate: rate, mono: [Float](repeating: 0, count: 4410)), to: silent)
        let two = [inA, inB], fast = ["--iterations", "2", "--quiet"]

        // info: the report's keys are the names preset `when:` guards test; silence is −∞ dBFS.
        let info = try lines(["info", inA, silent], expect: 2, command: "info")
        for field in PresetCondition.fields.keys { XCTAssertNotNil(info[0]["report"]?[field], "info has no \(field)") }
        XCTAssertEqual(info[0]["input"], .string(inA))
        XCTAssertEqual(info[1]["report"]?["peak_dbfs"], .null)
        XCTAssertEqual(info[1]["report"]?["peak_dbfs_nonfinite"], .string("-inf"))
        XCTAssertEqual(info[1]["model"], .null)

        let bwe = try lines(["bwe"] + two + ["-o", folder + "/bwe/", "--cutoff", "4000"] + fast, expect: 2, command: "bwe")
        XCTAssertEqual(bwe.map { $0["input"] }, two.map { .string($0) })
        XCTAssertEqual(bwe[0]["outputs"], .array([.string(folder + "/bwe/a.wav")]))
        XCTAssertEqual(bwe[0]["seed"], .int(0))
        XCTAssertEqual(bwe[0]["settings"]?["iterations"], .int(2))
        XCTAssertEqual(bwe[0]["settings"]?["level_guard"] != nil, true)
        XCTAssertEqual(bwe[0]["settings"]?["decoding"], .string("expected"))
        guard case .object(let model)? = bwe[0]["model"], case .string(let sha)? = model["sha"] else { return XCTFail("bwe names no model") }
        XCTAssertEqual(sha.count, 64)
        try lines(["fill-gap", "--detect"] + two + ["-o", folder + "/fill/"] + fast, expect: 2, command: "fill-gap")
        let listed = try lines(["fill-gap", "--detect", "--list"] + two, expect: 2, command: "fill-gap")
        XCTAssertEqual(listed[0]["report"]?["detected"], .int(1))
        try lines(["repair", "--at", "0.2s", "--length", "0.1s"] + two + ["-o", folder + "/repair/"] + fast, expect: 2, command: "repair")
        try FileManager.default.createDirectory(atPath: folder + "/gen", withIntermediateDirectories: true)
        let generated = try lines(["generate", "--duration", "1", "--count", "2", "--seed", "18446744073709551614", "-o", folder + "/gen/"] + fast,
                                  expect: 1, command: "generate")
        XCTAssertEqual(generated.first?["input"], .null)
        XCTAssertEqual(generated.first?["seed"], .int(-2), "a seed near 2^64 is written as an integer, not through a Double")
        XCTAssertEqual(generated.first?["settings"]?["decoding"], .string("sampled"), "generation draws, restoration averages")
        let embedded = try lines(["embed"] + two + ["-o", folder + "/emb/", "--quiet"], expect: 2, command: "embed")
        XCTAssertEqual(embedded[0]["seed"], .null)
        try lines(["embed", "--text", "rain on a tin roof"], expect: 1, command: "embed")
        try lines(["vocode"] + two + ["-o", folder + "/vocode/"], expect: 2, command: "vocode")
        for input in two { try lines(["tokenize", input, "-o", folder + "/tok/"], expect: 1, command: "tokenize") }

        // Probes on MFCC embeddings of the shipped examples (their labels).
        let root = CLI.repository.path
        let clips = ["chords.flac", "chords-lowpass-4k.flac", "chords-gap.flac"].map { root + "/Examples/" + $0 }
        let mfcc = try lines(["embed", "--features", "mfcc"] + clips + ["-o", folder + "/mfcc/", "--quiet"], expect: 3, command: "embed")
        XCTAssertEqual(mfcc[0]["model"], .null)
        let labels = root + "/Examples/labels.csv", probe = folder + "/probe.safetensors"
        let trained = try lines(["probe", "train", "--embeddings", folder + "/mfcc", "--labels", labels, "-o", probe, "--seed", "1"],
                                expect: 1, command: "probe train")
        XCTAssertEqual(trained[0]["seed"], .int(1))
        let evaluated = try lines(["probe", "eval", probe, "--embeddings", folder + "/mfcc", "--labels", labels], expect: 1, command: "probe eval")
        XCTAssertNotNil(evaluated[0]["report"]?["roc_auc"])
        let predicted = try lines(["probe", "predict", probe, "--embeddings", folder + "/mfcc", "--top", "2"], expect: 3, command: "probe predict")
        XCTAssertEqual(predicted.map { $0["input"] }, [.string("chords"), .string("chords-gap"), .string("chords-lowpass-4k")])

        // A batch run is one line for the whole run (its per-file lines are the manifest's).
        try lines(["run", "dropout-repair"] + two + ["-o", folder + "/run/", "--quiet"], expect: 1, command: "run")
        try lines(["manifest", "status", folder + "/run/"], expect: 1, command: "manifest status")
        let shipped = try FileManager.default.contentsOfDirectory(atPath: root + "/Presets").filter { $0.hasSuffix(".yaml") }
        try lines(["presets"], expect: shipped.count, command: "presets")
        try lines(["presets", "show", "dropout-repair"], expect: 1, command: "presets show")
    }
}

/// A JSON value as the tests read it: integers kept apart from other numbers, as JSON Schema's
/// "integer" type needs.
enum JSON: Decodable, Equatable {
    case null, bool(Bool), int(Int64), number(Double), string(String), array([JSON]), object([String: JSON])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let v = try? c.decode(Bool.self) { self = .bool(v) }
        else if let v = try? c.decode(Int64.self) { self = .int(v) }
        else if let v = try? c.decode(UInt64.self) { self = .int(Int64(bitPattern: v)) }
        else if let v = try? c.decode(Double.self) { self = .number(v) }
        else if let v = try? c.decode(String.self) { self = .string(v) }
        else if let v = try? c.decode([JSON].self) { self = .array(v) }
        else { self = .object(try c.decode([String: JSON].self)) }
    }

    subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// Object keys anywhere in the value that are not snake_case.
    func nonSnakeKeys() -> [String] {
        switch self {
        case .object(let o):
            return o.flatMap { key, value in
                (key.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" } ? [] : [key]) + value.nonSnakeKeys()
            }
        case .array(let a): return a.flatMap { $0.nonSnakeKeys() }
        default: return []
        }
    }
}

/// The subset of JSON Schema (draft 2020-12) that docs/restore-output.schema.json uses: type
/// (one name or a list, so ["string", "null"] is a nullable string), required, properties,
/// additionalProperties (false or a schema), enum and items. Errors name a path ($.model.sha).
enum SchemaValidator {
    static func errors(_ value: JSON, schema: JSON, path: String = "$") -> [String] {
        guard case .object(let s) = schema else { return ["\(path): the schema is not an object"] }
        var out: [String] = []
        if let type = s["type"] {
            let names: [String]
            switch type {
            case .string(let t): names = [t]
            case .array(let ts): names = ts.compactMap { if case .string(let t) = $0 { return t } else { return nil } }
            default: names = []
            }
            guard names.contains(where: { matches(value, type: $0) }) else { return ["\(path): expected \(names.joined(separator: " or "))"] }
        }
        if case .array(let allowed)? = s["enum"], !allowed.contains(value) {
            out.append("\(path): \(describe(value)) is not one of the allowed values")
        }
        if case .object(let o) = value {
            if case .array(let required)? = s["required"] {
                for case .string(let key) in required where o[key] == nil { out.append("\(path): missing \(key)") }
            }
            let properties: [String: JSON]
            if case .object(let p)? = s["properties"] { properties = p } else { properties = [:] }
            for (key, v) in o.sorted(by: { $0.key < $1.key }) {
                if let sub = properties[key] {
                    out += errors(v, schema: sub, path: "\(path).\(key)")
                } else if let extra = s["additionalProperties"] {
                    if extra == .bool(false) { out.append("\(path): unexpected key \(key)") }
                    else if case .object = extra { out += errors(v, schema: extra, path: "\(path).\(key)") }
                }
            }
        }
        if case .array(let items) = value, let itemSchema = s["items"] {
            for (i, v) in items.enumerated() { out += errors(v, schema: itemSchema, path: "\(path)[\(i)]") }
        }
        return out
    }

    static func matches(_ value: JSON, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("integer", .int), ("number", .int), ("number", .number),
             ("string", .string), ("array", .array), ("object", .object): return true
        default: return false
        }
    }

    static func describe(_ value: JSON) -> String {
        if case .string(let s) = value { return "\"\(s)\"" }
        return "\(value)"
    }
}
