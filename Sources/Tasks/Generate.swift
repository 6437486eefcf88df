import Foundation
import RestoreCore

/// `generate`: every token is generated (engine.md §3), unconditionally or conditioned on a text
/// prompt through the MiniLM sentence encoder with classifier-free guidance (engine.md §2).
/// Longer than one model window, the windows overlap and each continues the previous one.
public struct Generate: RestoreTask {
    public static let name = "generate"
    public static let summary = "Generate new audio, unconditionally or from a text prompt."
    public static let defaultDecoding = TokenDecoding.generation
    public static let writesAudio = true

    public struct Options: TaskOptions {
        public var duration: TimeValue = TimeValue(seconds: 5)
        public var count: Int = 1
        public var prompt: String? = nil
        public init() {}
        public static let keys = ["duration", "count", "prompt"]

        public func validate() throws {
            guard duration.seconds > 0, duration.seconds <= 600 else {
                throw RestoreError.invalidArgument("generate: --duration must be greater than 0 and at most 600 s")
            }
            guard count >= 1, count <= 1000 else { throw RestoreError.invalidArgument("generate: --count must be between 1 and 1000") }
            if let prompt, prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw RestoreError.invalidArgument("generate: --prompt is empty; leave it out for unconditional generation")
            }
        }
    }

    public let options: Options
    public init(options: Options) throws { try options.validate(); self.options = options }

    /// Output files for `count` generations: the path itself for one, else name-1.ext, name-2.ext…
    public static func outputPaths(_ path: String, count: Int) -> [String] {
        guard count > 1 else { return [path] }
        let ext = (path as NSString).pathExtension, stem = (path as NSString).deletingPathExtension
        return (1...count).map { "\(stem)-\($0).\(ext)" }
    }

    public func run(input: TaskInput, context: TaskContext) throws -> TaskResult {
        let model = try context.model()
        var sampling = context.sampling
        var encodeSeconds = 0.0
        if let prompt = options.prompt {
            let t0 = Date()
            sampling.condition = try context.textEncoder().embed(prompt)
            encodeSeconds = Date().timeIntervalSince(t0)
        }
        let paths = Self.outputPaths(try context.requireOutput(Self.name), count: options.count)
        let rate = model.sampleRate
        let frames = Int((options.duration.seconds * rate).rounded())
        // Every window is generated whole and the output cut to the duration. Columns past the
        // end of a source are known silence to the engine (restoration never grows sound in
        // padding), and a grid that ends in silence reads as a short sound: 5 s music prompts
        // came out near-silent (−60 to −84 dBFS; 10 s ones at −18 to −32).
        let plan = WindowPlan(model: model, rate: rate)
        let generatedFrames = plan.start(plan.count(total: frames) - 1) + plan.windowSamples
        let all = WindowMask(known: [Bool](repeating: false, count: model.rows * model.windowColumns)) { _, _ in 1 }
        var reports: [JSONValue] = []
        for (i, path) in paths.enumerated() {
            let seed = sampling.seed &+ UInt64(i)
            var settings = sampling
            settings.seed = seed
            settings.decoding = sampling.decoding ?? Self.defaultDecoding
            // Generation is restoration of silence with everything masked.
            // Only the mel frames that reach the output (up to `frames`) are vocoded: a 5 s clip
            // generates a whole 10 s window but need not synthesise its second half.
            let hop = model.hop
            let job = RestorationJob(layout: .everywhere, sampling: settings, mask: { _ in all },
                                     vocodeFrames: { p in 0..<max(1, (frames - p.sliceStart + hop - 1) / hop + 2) })
            let writer = try AudioStreamWriter(path: path, sampleRate: rate, channelCount: 1, options: context.writeOptions)
            let sink = LevelMeter(writer)
            let silence = MemoryAudioSource(AudioBuffer(sampleRate: rate, mono: [Float](repeating: 0, count: generatedFrames)))
            let r = try Restorer(model: model).run(silence, job: job, sink: FrameLimit(sink, frames: frames), expectedFrames: generatedFrames) { p in
                context.progress?((Double(i) + p) / Double(paths.count))
            }
            try writer.finish()
            reports.append(.object(["path": .string(path), "seed": .of(Double(seed)), "duration": .of(options.duration.seconds),
                                    "generated_tokens": .of(r.generatedTokens),
                                    "rms_dbfs": .of(sink.rmsDecibels), "peak_dbfs": .of(sink.peakDecibels)]))
        }
        var report: [String: JSONValue] = ["generated": .array(reports), "guidance": .of(Double(sampling.guidance))]
        if let prompt = options.prompt { report["prompt"] = .string(prompt); report["text_encoding_seconds"] = .of(encodeSeconds) }
        return TaskResult(task: Self.name, input: "", outputs: paths, report: report)
    }
}

/// Passes on the first `frames` frames and drops the rest.
final class FrameLimit: AudioSink {
    let next: AudioSink
    var left: Int
    init(_ next: AudioSink, frames: Int) { self.next = next; left = frames }
    func write(_ buffer: AudioBuffer) throws {
        guard left > 0 else { return }
        let n = min(left, buffer.frameCount)
        left -= n
        try next.write(n == buffer.frameCount ? buffer : AudioBuffer(sampleRate: buffer.sampleRate, channels: buffer.channels.map { Array($0[0..<n]) }))
    }
}

/// Passes audio on and measures its level.
final class LevelMeter: AudioSink {
    let next: AudioSink
    var energy: Double = 0, count = 0, peak: Float = 0
    init(_ next: AudioSink) { self.next = next }
    func write(_ buffer: AudioBuffer) throws {
        for ch in buffer.channels { for v in ch { energy += Double(v * v); peak = max(peak, abs(v)) } }
        count += buffer.frameCount * buffer.channelCount
        try next.write(buffer)
    }
    var rmsDecibels: Double { count > 0 && energy > 0 ? 10 * log10(energy / Double(count)) : -.infinity }
    var peakDecibels: Double { peak > 0 ? 20 * log10(Double(peak)) : -.infinity }
}
