import Foundation
import RestoreCore

/// A task's options: Codable (so presets can give them in YAML), with defaults, validated
/// before any audio is read. `keys` lists every option name a preset may use. A preset step
/// is decoded over `Options()`, so the synthesized `Decodable` serves when each key is a
/// property's name (or its `CodingKeys` raw value).
public protocol TaskOptions: Codable, Sendable {
    init()
    static var keys: [String] { get }
    func validate() throws
}

/// A restoration task: a plugin over the engine (engine.md §3). Adding one is a new file with a
/// type conforming to this protocol and one line in `TaskRegistry.all`.
public protocol RestoreTask: Sendable {
    associatedtype Options: TaskOptions
    /// The command-line and preset name.
    static var name: String { get }
    /// One line for help listings.
    static var summary: String { get }
    /// True when the task writes audio (and so may be chained in a preset).
    static var writesAudio: Bool { get }
    /// How the engine decodes what it generates for this task unless told (`--decoding`);
    /// `.restoration` unless the task says otherwise.
    static var defaultDecoding: TokenDecoding { get }
    var options: Options { get }
    /// Builds the task; throws for options out of range.
    init(options: Options) throws
    /// Processes one input into `context.outputPath` and reports what was done.
    func run(input: TaskInput, context: TaskContext) throws -> TaskResult
}

extension RestoreTask {
    public static var defaultDecoding: TokenDecoding { .restoration }

    /// Builds the task from options decoded elsewhere (a preset step), validating them.
    public static func make(_ options: any TaskOptions) throws -> any RestoreTask {
        guard let o = options as? Options else { throw RestoreError.invalidArgument("\(name): wrong option type") }
        try o.validate()
        return try Self(options: o)
    }
}

/// The file a task reads.
public struct TaskInput: Sendable {
    /// An audio file in a format libsndfile reads (WAV, FLAC, Ogg…).
    public var path: String
    /// The input at `path` (read when the task runs).
    public init(path: String) { self.path = path }
}

/// What every task shares: the engine (loaded on first use), sampling settings, where the
/// output goes, and a progress callback.
public final class TaskContext: @unchecked Sendable {
    public var sampling: SamplingSettings
    /// Output file (audio tasks) or artifact path (embed).
    public var outputPath: String?
    public var writeOptions: AudioWriteOptions
    public var progress: ((Double) -> Void)?
    /// Free-text notes for the user (stderr), e.g. "nothing to extend".
    public var notes: [String] = []
    let loadModel: () throws -> EngineModel
    private var cached: EngineModel?
    private var cachedText: MiniLM?
    /// The text encoder's weights (nil: Models/pretrained/minilm.safetensors).
    public var textEncoderPath: String?

    /// `loadModel` is called once, when a task first needs the engine (`EngineModel.load()`
    /// finds the shipped model as the CLI does: $RESTORE_MODELS, ./Models, the installed copy).
    public init(sampling: SamplingSettings = .init(), outputPath: String? = nil, writeOptions: AudioWriteOptions = .init(),
                progress: ((Double) -> Void)? = nil, loadModel: @escaping () throws -> EngineModel) {
        self.sampling = sampling
        self.outputPath = outputPath
        self.writeOptions = writeOptions
        self.progress = progress
        self.loadModel = loadModel
    }

    /// The engine, loaded on first use.
    public func model() throws -> EngineModel {
        if let cached { return cached }
        let m = try loadModel()
        cached = m
        return m
    }

    /// The MiniLM sentence encoder, loaded on first use.
    public func textEncoder() throws -> MiniLM {
        if let cachedText { return cachedText }
        let m = try MiniLM.load(explicit: textEncoderPath)
        cachedText = m
        return m
    }

    /// The output path, or a typed error naming the task when the caller gave none.
    public func requireOutput(_ task: String) throws -> String {
        guard let outputPath else { throw RestoreError.invalidArgument("\(task): no output path") }
        return outputPath
    }
}

/// What a task reports: the files it wrote and measurements, as JSON-ready values.
public struct TaskResult: Encodable, Sendable {
    /// The task's name (`bwe`, `fill-gap`…).
    public var task: String
    public var input: String
    /// The files written, in order.
    public var outputs: [String]
    /// Measurements under snake_case keys (each task documents its own, e.g. bwe's `cutoff_hz`).
    public var report: [String: JSONValue]

    public init(task: String, input: String, outputs: [String], report: [String: JSONValue] = [:]) {
        self.task = task
        self.input = input
        self.outputs = outputs
        self.report = report
    }
}

/// A JSON value for reports. A number that is not finite (−∞ dBFS of digital silence) encodes
/// as null: JSON has no infinities (the CLI's JSON lines add `<key>_nonfinite` beside it).
public enum JSONValue: Codable, Sendable, Equatable {
    case number(Double), string(String), bool(Bool), array([JSONValue]), object([String: JSONValue]), null

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let v): if v.isFinite { try c.encode(v) } else { try c.encodeNil() }
        case .string(let v): try c.encode(v)
        case .bool(let v): try c.encode(v)
        case .array(let v): try c.encode(v)
        case .object(let v): try c.encode(v)
        case .null: try c.encodeNil()
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let v = try? c.decode(Bool.self) { self = .bool(v) }
        else if let v = try? c.decode(Double.self) { self = .number(v) }
        else if let v = try? c.decode(String.self) { self = .string(v) }
        else if let v = try? c.decode([JSONValue].self) { self = .array(v) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }
}

extension JSONValue: ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral {
    public init(floatLiteral v: Double) { self = .number(v) }
    public init(integerLiteral v: Int) { self = .number(Double(v)) }
    public init(stringLiteral v: String) { self = .string(v) }
    public init(booleanLiteral v: Bool) { self = .bool(v) }
    public static func of(_ v: Double) -> JSONValue { .number(v) }
    public static func of(_ v: Int) -> JSONValue { .number(Double(v)) }
}
