import Foundation
import RestoreCore

/// `repair`: spectral repair of time–frequency boxes, the way audio editors remove a cough,
/// a phone ring or a chair squeak. The token rows × columns covering each box are masked and
/// regenerated from everything around them; the result replaces the input inside the box
/// only (STFT domain, raised-cosine edges of `ramp` in time and a sixth of an octave in
/// frequency). Outside the boxes and their edges the input is untouched.
public struct Repair: RestoreTask {
    public static let name = "repair"
    public static let summary = "Regenerate time–frequency boxes (a cough, a ring, a squeak) from their surroundings."
    public static let writesAudio = true

    /// One box: a time span and a band (nil: every frequency).
    public struct Box: Sendable, Equatable {
        public var span: TimeSpan
        public var band: ClosedRange<Double>?
    }

    public struct Options: TaskOptions {
        public var at: [TimeValue] = []
        /// One length for every box, or one per `at`.
        public var length: [TimeValue] = []
        /// "1k-5k" or "300-3400": one band for every box, or one per `at`; none = all.
        public var band: [String] = []
        public var ramp = TimeValue(seconds: 0.02)
        public init() {}
        public static let keys = ["at", "length", "band", "ramp"]

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            at = try c.oneOrMany(TimeValue.self, "at")
            length = try c.oneOrMany(TimeValue.self, "length")
            band = try c.oneOrMany(String.self, "band")
            ramp = try c.decodeIfPresent(TimeValue.self, forKey: AnyKey("ramp")) ?? Options().ramp
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: AnyKey.self)
            try c.encode(at, forKey: AnyKey("at")); try c.encode(length, forKey: AnyKey("length"))
            try c.encode(band, forKey: AnyKey("band")); try c.encode(ramp, forKey: AnyKey("ramp"))
        }

        public func boxes() throws -> [Box] {
            guard !at.isEmpty else { throw RestoreError.invalidArgument("repair: give each box with --at TIME --length TIME [--band LOW-HIGH]") }
            guard length.count == 1 || length.count == at.count else { throw RestoreError.invalidArgument("repair: give one --length, or one per --at") }
            guard band.count <= 1 || band.count == at.count else { throw RestoreError.invalidArgument("repair: give one --band, or one per --at") }
            return try at.indices.map { i in
                let t = at[i].seconds, l = length[length.count == 1 ? 0 : i].seconds
                guard t >= 0, t <= TimeValue.maximumSeconds, l > 0, l <= 60 else {
                    throw RestoreError.invalidArgument("repair: box \(i + 1): --at must be ≥ 0 and --length between 0 and 60 s")
                }
                return Box(span: TimeSpan(start: t, end: t + l), band: try band.isEmpty ? nil : Self.parseBand(band[band.count == 1 ? 0 : i]))
            }
        }

        static func parseBand(_ text: String) throws -> ClosedRange<Double> {
            let parts = text.split(separator: "-", maxSplits: 1).map { Cutoff(parsing: String($0)) }
            guard parts.count == 2, case .hertz(let lo)? = parts[0], case .hertz(let hi)? = parts[1], lo >= 0, hi > lo, hi <= 1e6 else {
                throw RestoreError.invalidArgument("repair: --band '\(text)' is not LOW-HIGH in Hz (e.g. 1k-5k, 300-3400)")
            }
            return lo...hi
        }

        public func validate() throws {
            _ = try boxes()
            guard ramp.seconds >= 0.001, ramp.seconds <= 0.5 else { throw RestoreError.invalidArgument("repair: --ramp must be between 1 ms and 0.5 s") }
        }
    }

    public let options: Options
    public init(options: Options) throws { try options.validate(); self.options = options }

    public func run(input: TaskInput, context: TaskContext) throws -> TaskResult {
        let output = try context.requireOutput(Self.name)
        let boxes = try options.boxes().sorted { $0.span.start < $1.span.start }
        let reader = try AudioFileReader(path: input.path)
        let rate = reader.info.sampleRate, total = reader.info.declaredFrames
        for b in boxes where b.span.start * rate >= Double(total) {
            throw RestoreError.invalidArgument(String(format: "%@: box at %.3f s starts after the end (%.3f s)", input.path, b.span.start, Double(total) / rate))
        }
        let model = try context.model()
        let clusters = try Restorer.cluster(boxes.map(\.span), windowSeconds: model.windowSeconds, context: 1, path: input.path, noun: "box", verb: "repaired")
        let fe = model.frontEnd.config
        let job = RestorationJob(layout: .around(clusters: clusters, totalFrames: total), sampling: context.sampling, mask: { p in
            // Rows whose mel band meets a box's band, in the columns its time touches.
            let cols = model.windowColumns, fpt = model.framesPerToken, bpr = model.binsPerRow
            let frameSeconds = model.frameSeconds
            let windowTime = Double(p.windowStart) / p.rate
            var known = [Bool](repeating: true, count: model.rows * cols)
            var weight = [Float](repeating: 0, count: fe.melCount * model.windowFrames)
            for box in boxes {
                let bins = (0..<fe.melCount).filter { b in
                    let (lo, hi) = MelScale.binEdges(b, config: fe)
                    return box.band.map { hi > $0.lowerBound && lo < $0.upperBound } ?? true
                }
                for f in 0..<model.windowFrames {
                    let t = windowTime + Double(f) * frameSeconds
                    guard t + 2 * frameSeconds > box.span.start && t - 2 * frameSeconds < box.span.end else { continue }
                    for b in bins { weight[b * model.windowFrames + f] = 1; known[(b / bpr) * cols + f / fpt] = false }
                }
            }
            return WindowMask(known: known) { b, f in weight[b * model.windowFrames + f] }
        }, splice: { original, generated, p in
            BoxSplice.join(original: original, generated: generated, boxes: boxes.map { ($0.span, $0.band) },
                           offset: Double(p.sliceStart) / p.rate, ramp: options.ramp.seconds)
        })
        let report = try Restorer(model: model).run(ValidatedAudioSource(reader, path: input.path), job: job, output: output,
                                                    options: context.writeOptions, expectedFrames: total, progress: context.progress)
        context.notes.append("\(input.path): repaired \(boxes.count) box\(boxes.count == 1 ? "" : "es")")
        return TaskResult(task: Self.name, input: input.path, outputs: [output], report: [
            "boxes": .array(boxes.map { b in .object(["start": .of(b.span.start), "end": .of(b.span.end),
                                                      "low_hz": .of(b.band?.lowerBound ?? 0), "high_hz": .of(b.band?.upperBound ?? rate / 2)]) }),
            "windows": .of(report.windows), "generated_tokens": .of(report.generatedTokens)])
    }
}
