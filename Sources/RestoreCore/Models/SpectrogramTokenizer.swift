import Foundation

/// Tokenizer configuration (the `config` metadata of tokenizer.safetensors).
public struct TokenizerConfig: Codable, Sendable, Equatable {
    public var width: Int
    public var code_dim: Int
    public var codebook_size: Int
    public var rows: Int
    public var bins_per_row: Int
    public var frames_per_token: Int
    /// The floor of the input normalisation in dB (clip(dB, db_min, 20) → [−1, 1]); exports
    /// without it were trained at −80 dB.
    public var db_min: Float?

    /// The front end configuration whose normalised mel this tokenizer reads and writes.
    public var melConfig: MelConfig { MelConfig(dbMin: db_min ?? -80) }
    /// Mel bands the token rows tile.
    public var melCount: Int { rows * bins_per_row }
}

/// A grid of token ids, row-major: `ids[row * columns + column]`.
public struct TokenGrid: Sendable, Equatable {
    public var rows: Int
    public var columns: Int
    public var ids: [Int32]

    public init(rows: Int, columns: Int, ids: [Int32]) {
        precondition(ids.count == rows * columns)
        self.rows = rows
        self.columns = columns
        self.ids = ids
    }

    public subscript(row: Int, column: Int) -> Int32 {
        get { ids[row * columns + column] }
        set { ids[row * columns + column] = newValue }
    }
}

/// The spectrogram tokenizer of engine.md §2 (see training/restore_train/tokenizer.py):
/// a frequency-local conv encoder (`rows` rows of `bins_per_row` mel bins, `frames_per_token`
/// frames per token), nearest-code quantisation, and a conv decoder back to the normalised mel.
public struct SpectrogramTokenizer: Sendable {
    public let config: TokenizerConfig
    /// The mel front end with this tokenizer's normalisation (its floor is part of the tokens'
    /// meaning: the same audio normalised at another floor encodes to other tokens).
    public let frontEnd: MelFrontEnd

    struct Res: Sendable { var conv1: Conv2d; var conv2: Conv2d }

    let encIn: Conv2d, encRow: Tensor, encRes: [Res], encDown: [Conv2d], encOut: Conv2d
    let codebook: Tensor          // (K, D)
    let codeNorms: [Float]        // ‖e_k‖²
    let decIn: Conv2d, decRow: Tensor, decRes: [Res], decUp: [ConvTranspose2d], decOut: ConvTranspose2d

    public init(file: SafeTensorsFile) throws {
        guard let text = file.metadata["config"], let cfg = try? JSONDecoder().decode(TokenizerConfig.self, from: Data(text.utf8)) else {
            throw SafeTensorsError(file: file.path, problem: "no tokenizer config in __metadata__")
        }
        guard cfg.melCount == cfg.melConfig.melCount, cfg.frames_per_token == Self.framesPerToken else {
            throw SafeTensorsError(file: file.path, problem:
                "tokenizer config must tile the front end's \(cfg.melConfig.melCount) mel bins into rows and use \(Self.framesPerToken) frames per token")
        }
        guard cfg.melConfig.dbMin < cfg.melConfig.dbMax - 1, cfg.melConfig.dbMin.isFinite else {
            throw SafeTensorsError(file: file.path, problem: "tokenizer db_min \(cfg.melConfig.dbMin) must be finite and below 20 dB")
        }
        config = cfg
        frontEnd = MelFrontEnd(config: cfg.melConfig)
        let (c, d, k, r, b) = (cfg.width, cfg.code_dim, cfg.codebook_size, cfg.rows, cfg.bins_per_row)
        func conv(_ name: String, _ shape: [Int], stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0)) throws -> Conv2d {
            Conv2d(weight: try file.tensor("\(name).weight", shape: shape), bias: try file.tensor("\(name).bias", shape: [shape[0]]),
                   stride: stride, padding: padding)
        }
        func tconv(_ name: String, _ shape: [Int], stride: (Int, Int), padding: (Int, Int)) throws -> ConvTranspose2d {
            ConvTranspose2d(weight: try file.tensor("\(name).weight", shape: shape), bias: try file.tensor("\(name).bias", shape: [shape[1]]),
                            stride: stride, padding: padding)
        }
        func res(_ prefix: String, _ kernel: Int) throws -> Res {
            Res(conv1: try conv("\(prefix).conv1", [c, c, 1, kernel], padding: (0, kernel / 2)),
                conv2: try conv("\(prefix).conv2", [c, c, 1, kernel], padding: (0, kernel / 2)))
        }
        encIn = try conv("encoder.conv_in", [c, 1, b, 4], stride: (b, 2), padding: (0, 1))
        encRow = try file.tensor("encoder.row_bias", shape: [1, c, r, 1])
        encRes = try [res("encoder.res.0", 3), res("encoder.res.1", 3), res("encoder.res.2", 1), res("encoder.res.3", 1)]
        encDown = try (0..<Self.timeStages).map { try conv("encoder.down.\($0)", [c, c, 1, 4], stride: (1, 2), padding: (0, 1)) }
        encOut = try conv("encoder.conv_out", [d, c, 1, 1])
        let book = try file.tensor("quantizer.codebook", shape: [k, d])
        codebook = book
        codeNorms = (0..<k).map { i in (0..<d).reduce(Float(0)) { $0 + book.data[i * d + $1] * book.data[i * d + $1] } }
        decIn = try conv("decoder.conv_in", [c, d, 1, 1])
        decRow = try file.tensor("decoder.row_bias", shape: [1, c, r, 1])
        decRes = try (0..<4).map { try res("decoder.res.\($0)", 3) }
        decUp = try (0..<Self.timeStages).map { try tconv("decoder.up.\($0)", [c, c, 1, 4], stride: (1, 2), padding: (0, 1)) }
        decOut = try tconv("decoder.conv_out", [c, 1, b, 4], stride: (b, 2), padding: (0, 1))
    }

    public init(path: String) throws { try self.init(file: SafeTensorsFile(path: path)) }

    /// Down-sampling stages after the input convolution; the input convolution and each stage
    /// halve time, which fixes the frames of one token column.
    static let timeStages = 3
    /// Mel frames of one token column: the architecture's, so every tokenizer config has it.
    public static let framesPerToken = 2 << timeStages

    /// Frames padded up to whole tokens.
    public func paddedFrames(_ frames: Int) -> Int {
        let fpt = config.frames_per_token
        return (frames + fpt - 1) / fpt * fpt
    }

    static func gelu(_ t: inout Tensor) { t.apply(Activation.geluErf) }

    static func addRowBias(_ t: inout Tensor, _ bias: Tensor) {
        let (c, r, w) = (t.shape[0], t.shape[1], t.shape[2])
        t.data.withUnsafeMutableBufferPointer { p in
            for ci in 0..<c { for ri in 0..<r {
                let v = bias.data[ci * r + ri], base = (ci * r + ri) * w
                for i in 0..<w { p[base + i] += v }
            } }
        }
    }

    static func residual(_ x: Tensor, _ block: Res) -> Tensor {
        var h = x
        gelu(&h)
        h = block.conv1(h)
        gelu(&h)
        h = block.conv2(h)
        h.add(x)
        return h
    }

    /// Encoder output z: (D, rows, columns) for a normalised mel whose frames are whole tokens.
    public func latents(_ mel: MelSpectrogram) -> Tensor {
        precondition(mel.melCount == config.melCount && mel.frames % config.frames_per_token == 0 && mel.frames > 0)
        var h = encIn(Tensor(shape: [1, mel.melCount, mel.frames], data: mel.values))
        SpectrogramTokenizer.addRowBias(&h, encRow)
        h = SpectrogramTokenizer.residual(h, encRes[0])
        for i in 0..<Self.timeStages {
            SpectrogramTokenizer.gelu(&h)
            h = SpectrogramTokenizer.residual(encDown[i](h), encRes[i + 1])
        }
        SpectrogramTokenizer.gelu(&h)
        return encOut(h)
    }

    /// Normalised mel (any frame count) → token grid of rows × ceil(frames / frames_per_token).
    /// Padding frames are the silence floor (−1), as in training.
    public func encode(_ mel: MelSpectrogram) -> TokenGrid {
        let padded = paddedFrames(mel.frames), bands = mel.melCount
        var m = mel
        if padded != mel.frames {
            var values = [Float](repeating: -1, count: bands * padded)
            for b in 0..<bands { for f in 0..<mel.frames { values[b * padded + f] = mel.values[b * mel.frames + f] } }
            m = MelSpectrogram(melCount: bands, frames: padded, values: values)
        }
        return quantize(latents(m))
    }

    /// Encoder output (`latents`) → the nearest code of each cell.
    public func quantize(_ z: Tensor) -> TokenGrid {
        let (d, r, cols) = (z.shape[0], z.shape[1], z.shape[2])
        let n = r * cols, k = config.codebook_size
        // Rows of z as (N, D), then scores = z·eᵀ; nearest = argmin ‖z‖² − 2 z·e + ‖e‖².
        var flat = [Float](repeating: 0, count: n * d)
        for j in 0..<d { for p in 0..<n { flat[p * d + j] = z.data[j * n + p] } }
        var scores = [Float](repeating: 0, count: n * k)
        flat.withUnsafeBufferPointer { f in
            codebook.data.withUnsafeBufferPointer { e in
                scores.withUnsafeMutableBufferPointer { s in
                    sgemm(transB: true, m: n, n: k, k: d, a: f.baseAddress!, lda: d, b: e.baseAddress!, ldb: d, c: s.baseAddress!, ldc: k)
                }
            }
        }
        var ids = [Int32](repeating: 0, count: n)
        for p in 0..<n {
            var zn: Float = 0
            for j in 0..<d { zn += flat[p * d + j] * flat[p * d + j] }
            var best = Float.infinity, arg = 0
            for c in 0..<k {
                let dist = zn - 2 * scores[p * k + c] + codeNorms[c]
                if dist < best { best = dist; arg = c }
            }
            ids[p] = Int32(arg)
        }
        return TokenGrid(rows: r, columns: cols, ids: ids)
    }

    /// Token grid → normalised mel of `frames` frames (default: all of every token's frames).
    ///
    /// `expected` (row-major cell → probabilities over the codebook) decodes those cells from
    /// their expected code vector Σ p(c)·e(c) instead of their token's code: with a model that
    /// is right about one token in five, the mean of what it believes is closer to the truth
    /// than one draw from it (bench/decode_study.py).
    public func decode(_ grid: TokenGrid, frames: Int? = nil, expected: [Int: [Float]] = [:]) -> MelSpectrogram {
        let d = config.code_dim, n = grid.rows * grid.columns, k = config.codebook_size
        var q = Tensor(zeros: [d, grid.rows, grid.columns])
        for p in 0..<n {
            if let probs = expected[p] {
                precondition(probs.count == k, "\(probs.count) probabilities for a codebook of \(k)")
                var v = [Float](repeating: 0, count: d)
                codebook.data.withUnsafeBufferPointer { e in
                    for c in 0..<k where probs[c] > 0 {
                        let w = probs[c], row = e.baseAddress! + c * d
                        for j in 0..<d { v[j] += w * row[j] }
                    }
                }
                for j in 0..<d { q.data[j * n + p] = v[j] }
                continue
            }
            let id = Int(grid.ids[p])
            precondition(id >= 0 && id < config.codebook_size, "token id \(id) outside the codebook")
            for j in 0..<d { q.data[j * n + p] = codebook.data[id * d + j] }
        }
        var h = decIn(q)
        SpectrogramTokenizer.addRowBias(&h, decRow)
        h = SpectrogramTokenizer.residual(h, decRes[0])
        for i in 0..<Self.timeStages {
            SpectrogramTokenizer.gelu(&h)
            h = SpectrogramTokenizer.residual(decUp[i](h), decRes[i + 1])
        }
        SpectrogramTokenizer.gelu(&h)
        let out = decOut(h)                    // (1, mel bands, frames_per_token · columns)
        let bands = out.shape[1], total = out.shape[2], keep = min(frames ?? total, total)
        var values = [Float](repeating: 0, count: bands * keep)
        for b in 0..<bands { for f in 0..<keep { values[b * keep + f] = out.data[b * total + f] } }
        return MelSpectrogram(melCount: bands, frames: keep, values: values)
    }
}
