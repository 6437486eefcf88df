import Foundation
import RestoreCore

/// `embed`: the transformer's hidden states as features (engine.md §3): nothing is masked, the
/// condition is the unconditional vector; per-column (timestamp) embeddings are the chosen
/// blocks' states of the column's rows, side by side (low row first) or averaged, and the
/// clip embedding pools the columns over time.
///
/// Defaults (rows side by side, mean and standard deviation over time) come from
/// bench/probe.py: averaging the rows and pooling by mean alone (the old default) lose where
/// in frequency a state sits and how it varies, and cost 0.01–0.09 ROC-AUC on every task.
public struct Embed: RestoreTask {
    public static let name = "embed"
    public static let summary = "Clip and per-timestamp embeddings from the engine's transformer."
    public static let writesAudio = false

    public enum Pool: String, Codable, Sendable, CaseIterable { case mean, max, meanmax = "mean+max", meanstd = "mean+std" }
    /// How a column's rows (frequency bands) make its vector: side by side or averaged.
    public enum Rows: String, Codable, Sendable, CaseIterable { case separate, average }
    /// What the features are: the engine's transformer, the tokenizer's encoder output (the
    /// continuous latents before quantisation), both side by side, or the MFCC baseline.
    public enum Features: String, Codable, Sendable, CaseIterable {
        case engine, latents, engineLatents = "engine+latents", mfcc
        var usesTransformer: Bool { self == .engine || self == .engineLatents }
        var usesLatents: Bool { self == .latents || self == .engineLatents }
    }

    public struct Options: TaskOptions {
        /// Transformer blocks averaged (negative counts from the last); default the last two.
        /// Blocks 0 and 1: on the validation probes (make validate, shipped model) kind 0.948 and
        /// music source 0.626 vs 0.941 / 0.611 for the last two blocks (bench/probe.py: blocks 0–1
        /// best on 3 of 4 tasks too).
        public var layers: [Int] = [0, 1]
        public var pool: Pool = .meanstd
        public var rows: Rows = .separate
        public var features: Features = .engine
        public init() {}
        public static let keys = ["layer", "pool", "rows", "features"]

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            if let one = try? c.decodeIfPresent(Int.self, forKey: AnyKey("layer")) { layers = [one] }
            else if let text = try? c.decodeIfPresent(String.self, forKey: AnyKey("layer")) { layers = try Self.parseLayers(text) }
            else { layers = try c.decodeIfPresent([Int].self, forKey: AnyKey("layer")) ?? Options().layers }
            pool = try c.decodeIfPresent(Pool.self, forKey: AnyKey("pool")) ?? .meanstd
            rows = try c.decodeIfPresent(Rows.self, forKey: AnyKey("rows")) ?? .separate
            features = try c.decodeIfPresent(Features.self, forKey: AnyKey("features")) ?? .engine
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: AnyKey.self)
            try c.encode(layers, forKey: AnyKey("layer"))
            try c.encode(pool, forKey: AnyKey("pool"))
            try c.encode(rows, forKey: AnyKey("rows"))
            try c.encode(features, forKey: AnyKey("features"))
        }

        /// "-1", "3", "4,5", "all".
        public static func parseLayers(_ text: String) throws -> [Int] {
            if text == "all" { return [Int.min] }
            let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else {
                throw RestoreError.invalidArgument("embed: --layer '\(text)' is not a block number, a comma list or 'all'")
            }
            return parts.map { $0! }
        }

        public func validate() throws {
            guard !layers.isEmpty else { throw RestoreError.invalidArgument("embed: --layer needs at least one block") }
        }
    }

    public let options: Options
    public init(options: Options) throws { try options.validate(); self.options = options }

    /// Block indices for a model of `depth` blocks.
    public func blocks(depth: Int) throws -> [Int] {
        if options.layers == [Int.min] { return Array(0..<depth) }
        return try options.layers.map { l in
            let i = l < 0 ? depth + l : l
            guard i >= 0 && i < depth else { throw RestoreError.invalidArgument("embed: --layer \(l) is outside the model's \(depth) blocks (0…\(depth - 1) or -\(depth)…-1)") }
            return i
        }
    }

    public struct Embedding: Sendable {
        public var clip: [Float]
        /// columns × width
        public var columns: [[Float]]
        /// Centre time of each column, seconds.
        public var times: [Double]
        public var blocks: [Int]
        /// The clip vector of every single block (pooled the same way), for layer studies.
        public var perBlock: [Int: [Float]] = [:]
    }

    /// Embeddings of a buffer (mixed to mono, any rate).
    public func embed(_ audio: AudioBuffer, model: EngineModel, progress: ((Double) -> Void)? = nil) throws -> Embedding {
        try embed(MemoryAudioSource(audio), model: model, expectedFrames: audio.frameCount, progress: progress)
    }

    /// Embeddings of a stream (mixed to mono, any rate), read block by block: memory holds
    /// one model window of mel and the column vectors, whatever the length.
    public func embed(_ source: AudioSource, model: EngineModel, expectedFrames: Int? = nil,
                      progress: ((Double) -> Void)? = nil) throws -> Embedding {
        let blocks = try self.blocks(depth: model.transformer.config.depth)
        let depth = model.transformer.config.depth, melCount = model.frontEnd.config.melCount
        let wf = model.windowFrames
        let resampler = try StreamingResampler(from: source.sampleRate, to: model.sampleRate, channelCount: 1)
        let streamingMel = StreamingMel(frontEnd: model.frontEnd)
        var e = Embedding(clip: [], columns: [], times: [], blocks: blocks)
        var chosen = PoolAccumulator(), perBlock = [PoolAccumulator](repeating: PoolAccumulator(), count: depth)
        // Mel not yet embedded, one array per band; a window is taken as soon as it is full.
        var pending = [[Float]](repeating: [], count: melCount), firstFrame = 0, read = 0
        func take(_ mel: MelSpectrogram) {
            for b in 0..<melCount { pending[b] += mel.values[(b * mel.frames)..<((b + 1) * mel.frames)] }
        }
        func embedWindow(frames: Int) {
            windowColumns(pending, frames: frames, firstFrame: firstFrame, model: model, blocks: blocks,
                          into: &e, chosen: &chosen, perBlock: &perBlock)
            for b in 0..<melCount { pending[b].removeFirst(frames) }
            firstFrame += frames
        }
        while let block = try source.read(maxFrames: 65536) {
            read += block.frameCount
            take(streamingMel.feed(try resampler.process(AudioBuffer(sampleRate: source.sampleRate, mono: block.mixedToMono())).channels[0]))
            while pending[0].count >= wf { embedWindow(frames: wf) }
            if let expectedFrames, expectedFrames > 0 { progress?(min(1, Double(read) / Double(expectedFrames))) }
        }
        take(streamingMel.feed(try resampler.finish().channels[0]))
        take(streamingMel.finish())
        while pending[0].count >= wf { embedWindow(frames: wf) }
        if !pending[0].isEmpty { embedWindow(frames: pending[0].count) }
        if e.columns.isEmpty && read > 0 {
            // Shorter than one column (a click, a 100-sample file): one column, padded with
            // silence, rather than an embedding of nothing.
            let fpt = model.framesPerToken
            for b in 0..<melCount { pending[b] += [Float](repeating: -1, count: max(0, fpt - pending[b].count)) }
            embedWindow(frames: fpt)
        }
        progress?(1)
        let rowCount = options.rows == .separate ? model.rows : 1
        let stateWidth = rowCount * model.transformer.config.width, latentWidth = rowCount * model.tokenizer.config.code_dim
        let width = (options.features.usesTransformer ? stateWidth : 0) + (options.features.usesLatents ? latentWidth : 0)
        e.clip = chosen.result(options.pool, width: width)
        if options.features.usesTransformer {
            for bl in 0..<depth { e.perBlock[bl] = perBlock[bl].result(options.pool, width: stateWidth) }
        }
        return e
    }

    /// One model window of mel (`frames` ≤ the window's frames; the rest is silence): its
    /// column vectors appended to `e`, and added to the pooling accumulators.
    func windowColumns(_ mel: [[Float]], frames: Int, firstFrame: Int, model: EngineModel, blocks: [Int],
                       into e: inout Embedding, chosen: inout PoolAccumulator, perBlock: inout [PoolAccumulator]) {
        let wf = model.windowFrames, cols = model.windowColumns, rows = model.rows, w = model.transformer.config.width
        let fpt = model.framesPerToken, depth = model.transformer.config.depth
        var part = [Float](repeating: -1, count: mel.count * wf)
        for b in 0..<mel.count { for f in 0..<frames { part[b * wf + f] = mel[b][f] } }
        let z = model.tokenizer.latents(MelSpectrogram(melCount: mel.count, frames: wf, values: part))
        let columnCount = (frames + fpt - 1) / fpt
        guard options.features.usesTransformer else {
            for c in 0..<columnCount {
                let v = latentVector(z, column: c)
                chosen.add(v)
                e.columns.append(v)
                e.times.append((Double(firstFrame + c * fpt) + Double(fpt) / 2) * Double(model.hop) / model.sampleRate)
            }
            return
        }
        let grid = model.tokenizer.quantize(z)
        var seq = [Int32](repeating: 0, count: rows * cols)
        for c in 0..<cols { for r in 0..<rows { seq[c * rows + r] = grid[r, c] } }
        // A hybrid model reads every position's true mel patch too: all of them are known here.
        let patches: [[Float]?] = model.transformer.config.patchValues == nil ? []
            : [Engine.patches(MelSpectrogram(melCount: mel.count, frames: wf, values: part), rows: rows, columns: cols)]
        let out = model.transformer(tokens: [seq], masked: [[Bool](repeating: false, count: seq.count)], conditions: [nil],
                                    patches: patches, features: Set(0..<depth))
        for c in 0..<columnCount {
            // Each block's vector once; the chosen blocks' vector is their mean (pooling the
            // rows and averaging blocks are both linear, so the order does not matter).
            let perBlockVectors = (0..<depth).map { columnVector(out.hidden[$0]!, column: c, rows: rows, width: w) }
            var v = [Float](repeating: 0, count: perBlockVectors[0].count)
            for bl in blocks { for j in v.indices { v[j] += perBlockVectors[bl][j] } }
            let scale = 1 / Float(blocks.count)
            for j in v.indices { v[j] *= scale }
            if options.features == .engineLatents { v += latentVector(z, column: c) }
            chosen.add(v)
            e.columns.append(v)
            for bl in 0..<depth { perBlock[bl].add(perBlockVectors[bl]) }
            e.times.append((Double(firstFrame + c * fpt) + Double(fpt) / 2) * Double(model.hop) / model.sampleRate)
        }
    }

    /// One column's tokenizer latents (code_dim per row): rows side by side or averaged, as
    /// the transformer's states.
    func latentVector(_ z: Tensor, column c: Int) -> [Float] {
        let (d, rows, cols) = (z.shape[0], z.shape[1], z.shape[2])
        if options.rows == .average {
            return (0..<d).map { j in (0..<rows).reduce(0) { $0 + z.data[j * rows * cols + $1 * cols + c] } / Float(rows) }
        }
        var v = [Float](repeating: 0, count: rows * d)
        for r in 0..<rows { for j in 0..<d { v[r * d + j] = z.data[j * rows * cols + r * cols + c] } }
        return v
    }

    /// One column's vector from one block's states: its rows side by side (rows × width, low
    /// row first) or averaged (width).
    func columnVector(_ hidden: Tensor, column c: Int, rows: Int, width w: Int) -> [Float] {
        let h = hidden.data, start = c * rows * w
        guard options.rows == .average else { return Array(h[start..<(start + rows * w)]) }
        return (0..<w).map { j in (0..<rows).reduce(0) { $0 + h[start + $1 * w + j] } / Float(rows) }
    }

    /// The MFCC baseline: 20 MFCCs + deltas per frame; columns are means over one token
    /// column's frames (so they line up with the engine's), the clip vector their mean and
    /// standard deviation over all frames (2 × 40 values).
    public func mfcc(_ audio: AudioBuffer) throws -> Embedding {
        let fe = MelFrontEnd()
        let mono = try Resampler.resample(AudioBuffer(sampleRate: audio.sampleRate, mono: audio.mixedToMono()), to: fe.config.sampleRate).channels[0]
        let (v, t) = MFCC.frames(mono, frontEnd: fe)
        let w = 2 * MFCC.coefficients, fpt = SpectrogramTokenizer.framesPerToken
        var columns: [[Float]] = [], times: [Double] = []
        var start = 0
        while start < t {
            let end = min(t, start + fpt)
            columns.append((0..<w).map { j in (start..<end).reduce(0) { $0 + v[$1 * w + j] } / Float(end - start) })
            times.append((Double(start) + Double(fpt) / 2) * Double(fe.config.hop) / fe.config.sampleRate)
            start = end
        }
        return Embedding(clip: MFCC.summary(mono, frontEnd: fe), columns: columns, times: times, blocks: [])
    }

    public func run(input: TaskInput, context: TaskContext) throws -> TaskResult {
        let output = try context.requireOutput(Self.name)
        let e: Embedding
        if options.features == .mfcc {
            e = try mfcc(try AudioFile.read(input.path).0)
        } else {
            let reader = try AudioFileReader(path: input.path)
            e = try embed(ValidatedAudioSource(reader, path: input.path), model: try context.model(),
                          expectedFrames: reader.info.declaredFrames, progress: context.progress)
        }
        let written = try EmbeddingWriter.write(e, to: output, overwrite: context.writeOptions.overwrite,
                                                inputs: context.writeOptions.protectedPaths,
                                                metadata: ["input": input.path, "blocks": e.blocks.map(String.init).joined(separator: ","),
                                                           "pool": options.pool.rawValue, "rows": options.rows.rawValue, "features": options.features.rawValue])
        return TaskResult(task: Self.name, input: input.path, outputs: written,
                          report: ["dimension": .of(e.clip.count), "columns": .of(e.columns.count),
                                   "blocks": .array(e.blocks.map { .of($0) }), "pool": .string(options.pool.rawValue), "rows": .string(options.rows.rawValue)])
    }
}

/// Running mean, standard deviation and maximum of column vectors (Double sums, so the
/// standard deviation of long files keeps its precision).
struct PoolAccumulator {
    var count = 0
    var sum: [Double] = [], squares: [Double] = [], maximum: [Float] = []

    mutating func add(_ v: [Float]) {
        if count == 0 {
            sum = [Double](repeating: 0, count: v.count); squares = sum
            maximum = [Float](repeating: -.infinity, count: v.count)
        }
        count += 1
        for j in 0..<v.count {
            let x = Double(v[j])
            sum[j] += x
            squares[j] += x * x
            maximum[j] = Swift.max(maximum[j], v[j])
        }
    }

    /// The clip vector; zeros of the pooled width when there were no columns.
    func result(_ pool: Embed.Pool, width: Int) -> [Float] {
        let n = Double(count)
        let zeros = [Float](repeating: 0, count: width)
        let mean = count == 0 ? zeros : sum.map { Float($0 / n) }
        let maxv = count == 0 ? zeros : maximum
        switch pool {
        case .mean: return mean
        case .max: return maxv
        case .meanmax: return mean + maxv
        case .meanstd:
            let std = count == 0 ? zeros : (0..<sum.count).map { j in Float(Swift.max(0, squares[j] / n - (sum[j] / n) * (sum[j] / n)).squareRoot()) }
            return mean + std
        }
    }
}

/// Writes embeddings as .npy (clip vector; the per-column matrix beside it as
/// <name>.columns.npy with the time in seconds as its first column), .json or .safetensors.
public enum EmbeddingWriter {
    public static let extensions = ["npy", "json", "safetensors"]

    /// The files `write` creates for `path`: the path itself, and for .npy the columns beside it.
    public static func paths(for path: String) -> [String] {
        (path as NSString).pathExtension.lowercased() == "npy"
            ? [path, (path as NSString).deletingPathExtension + ".columns.npy"] : [path]
    }

    public static func write(_ e: Embed.Embedding, to path: String, overwrite: Bool, inputs: [String] = [],
                             metadata: [String: String]) throws -> [String] {
        let ext = (path as NSString).pathExtension.lowercased()
        var files: [(String, Data)] = []
        let w = e.clip.count, cw = e.columns.first?.count ?? 0
        switch ext {
        case "npy":
            files.append((path, NumpyArray(shape: [w], values: e.clip).encoded()))
            var m: [Float] = []
            for (t, col) in zip(e.times, e.columns) { m.append(Float(t)); m += col }
            files.append((paths(for: path)[1], NumpyArray(shape: [e.columns.count, cw + 1], values: m).encoded()))
        case "json":
            struct Doc: Encodable { var clip: [Float]; var times: [Double]; var columns: [[Float]]; var metadata: [String: String] }
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            files.append((path, try enc.encode(Doc(clip: e.clip, times: e.times, columns: e.columns, metadata: metadata))))
        case "safetensors":
            let tensors: [String: Tensor] = [
                "clip": Tensor(shape: [w], data: e.clip),
                "columns": Tensor(shape: [e.columns.count, cw], data: e.columns.flatMap { $0 }),
                "times": Tensor(shape: [e.times.count], data: e.times.map(Float.init)),
            ].merging(e.perBlock.map { ("clip.block\($0.key)", Tensor(shape: [$0.value.count], data: $0.value)) }) { a, _ in a }
            files.append((path, try SafeTensorsWriter.encode(tensors, metadata: metadata)))
        default:
            throw RestoreError.unsupportedOutputFormat(path: path, reason: "extension '.\(ext)'; embeddings are written as .npy, .json or .safetensors")
        }
        try OutputGuard.checkAll(files.map(\.0), inputs: inputs, overwrite: overwrite)
        for (p, d) in files { try OutputGuard.write(d, to: p, inputs: inputs, overwrite: overwrite) }
        return files.map(\.0)
    }
}
