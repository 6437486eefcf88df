import Foundation

/// Transformer configuration (the `config` metadata of transformer.safetensors).
public struct TransformerConfig: Codable, Sendable, Equatable {
    public var codebook_size: Int
    public var rows: Int
    public var columns: Int
    public var width: Int
    public var depth: Int
    public var heads: Int
    public var ffn: Int
    public var cond_dim: Int
    public var conditional_mask: Bool
    public var layer_norm_eps: Float
    /// Hybrid conditioning: a known position's input also gets a linear projection of its
    /// normalised mel patch (`patch_size` = bins × frames of a token cell, bin-major).
    /// Absent in exports trained without it.
    public var patch_conditioning: Bool?
    public var patch_size: Int?

    public init(codebook_size: Int, rows: Int, columns: Int, width: Int, depth: Int, heads: Int, ffn: Int,
                cond_dim: Int = 384, conditional_mask: Bool = true, layer_norm_eps: Float = 1e-5,
                patch_conditioning: Bool = false, patch_size: Int = 256) {
        self.codebook_size = codebook_size
        self.rows = rows
        self.columns = columns
        self.width = width
        self.depth = depth
        self.heads = heads
        self.ffn = ffn
        self.cond_dim = cond_dim
        self.conditional_mask = conditional_mask
        self.layer_norm_eps = layer_norm_eps
        self.patch_conditioning = patch_conditioning
        self.patch_size = patch_size
    }

    /// Values per mel patch when the model takes them, else nil.
    public var patchValues: Int? { patch_conditioning == true ? (patch_size ?? 256) : nil }

    /// Grid positions (rows × columns); the sequence is one longer (the condition token).
    public var positions: Int { rows * columns }
}

/// The masked generative transformer of docs/engine.md §2 (see training/restore_train/transformer.py).
/// Sequence order is column-major: position p = column·rows + row; the condition token is last.
public struct MaskedTransformer: Sendable {
    public let config: TransformerConfig

    struct Block: Sendable {
        var norm1: LayerNorm, attention: MultiHeadSelfAttention, norm2: LayerNorm, fc1: Linear, fc2: Linear
    }

    let tokenEmbedding: Tensor, maskEmbedding: Tensor, positionEmbedding: Tensor
    let condProjection: Linear
    let patchProjection: Linear?
    public let unconditional: [Float]
    let blocks: [Block]
    let norm: LayerNorm
    let head: Linear

    /// Builds from named tensors in PyTorch's state-dict names, each checked against the config.
    public init(config cfg: TransformerConfig, tensor: (String, [Int]) throws -> Tensor) throws {
        config = cfg
        let (w, k, f) = (cfg.width, cfg.codebook_size, cfg.ffn)
        guard w % cfg.heads == 0 else { throw RestoreError.invalidArgument("transformer width \(w) is not divisible by \(cfg.heads) heads") }
        tokenEmbedding = try tensor("token_embedding.weight", [k, w])
        maskEmbedding = try tensor("mask_embedding", [w])
        positionEmbedding = try tensor("position_embedding", [cfg.positions + 1, w])
        condProjection = Linear(weight: try tensor("cond_projection.weight", [w, cfg.cond_dim]), bias: try tensor("cond_projection.bias", [w]))
        unconditional = try tensor("uncond_embedding", [cfg.cond_dim]).data
        patchProjection = try cfg.patchValues.map { pv in
            Linear(weight: try tensor("patch_projection.weight", [w, pv]), bias: try tensor("patch_projection.bias", [w]))
        }
        func ln(_ name: String) throws -> LayerNorm {
            LayerNorm(dim: w, weight: try tensor("\(name).weight", [w]), bias: try tensor("\(name).bias", [w]), eps: cfg.layer_norm_eps)
        }
        blocks = try (0..<cfg.depth).map { i in
            let p = "blocks.\(i)"
            return Block(
                norm1: try ln("\(p).norm1"),
                attention: MultiHeadSelfAttention(
                    inProjection: Linear(weight: try tensor("\(p).attn.in_proj_weight", [3 * w, w]), bias: try tensor("\(p).attn.in_proj_bias", [3 * w])),
                    outProjection: Linear(weight: try tensor("\(p).attn.out_proj.weight", [w, w]), bias: try tensor("\(p).attn.out_proj.bias", [w])),
                    heads: cfg.heads),
                norm2: try ln("\(p).norm2"),
                fc1: Linear(weight: try tensor("\(p).fc1.weight", [f, w]), bias: try tensor("\(p).fc1.bias", [f])),
                fc2: Linear(weight: try tensor("\(p).fc2.weight", [w, f]), bias: try tensor("\(p).fc2.bias", [w])))
        }
        norm = try ln("norm")
        head = Linear(weight: try tensor("head.weight", [k, w]), bias: try tensor("head.bias", [k]))
    }

    public init(file: SafeTensorsFile) throws {
        guard let text = file.metadata["config"], let cfg = try? JSONDecoder().decode(TransformerConfig.self, from: Data(text.utf8)) else {
            throw SafeTensorsError(file: file.path, problem: "no transformer config in __metadata__")
        }
        try self.init(config: cfg) { name, shape in try file.tensor(name, shape: shape) }
    }

    public init(path: String) throws { try self.init(file: SafeTensorsFile(path: path)) }

    /// Logits (B, N, K) for B rows that share nothing but the weights. `conditions[b] == nil`
    /// is the learned unconditional vector. Tokens at masked positions are ignored.
    /// With `features`, the hidden states (B, N, W) after those blocks are returned too.
    /// `patches[b]` (N × patch values, zeros where a known position has no true patch) feeds
    /// a hybrid model's patch projection at every known position of row b; nil or an empty
    /// list = no patch input (a model without patch conditioning ignores them).
    public func callAsFunction(tokens: [[Int32]], masked: [[Bool]], conditions: [[Float]?], patches: [[Float]?] = [],
                               features: Set<Int> = [], threads: Int = ExecutionContext.current.threads) -> (logits: Tensor, hidden: [Int: Tensor]) {
        let b = tokens.count, n = config.positions, w = config.width
        precondition(masked.count == b && conditions.count == b && tokens.allSatisfy { $0.count == n } && masked.allSatisfy { $0.count == n })
        let conds = Tensor(shape: [b, config.cond_dim], data: conditions.flatMap { $0 ?? unconditional })
        let c = condProjection(conds)                                   // (B, W)
        var x = Tensor(zeros: [b, n + 1, w])
        x.data.withUnsafeMutableBufferPointer { xb in
            for bi in 0..<b {
                for p in 0...n {
                    let dst = xb.baseAddress! + (bi * (n + 1) + p) * w
                    if p == n || masked[bi][p] {
                        if p < n && !config.conditional_mask {
                            maskEmbedding.data.withUnsafeBufferPointer { dst.update(from: $0.baseAddress!, count: w) }
                        } else {
                            c.data.withUnsafeBufferPointer { dst.update(from: $0.baseAddress! + bi * w, count: w) }
                        }
                    } else {
                        let id = Int(tokens[bi][p])
                        precondition(id >= 0 && id < config.codebook_size, "token id \(id) outside the codebook")
                        tokenEmbedding.data.withUnsafeBufferPointer { dst.update(from: $0.baseAddress! + id * w, count: w) }
                    }
                    positionEmbedding.data.withUnsafeBufferPointer { pe in
                        for j in 0..<w { dst[j] += pe[p * w + j] }
                    }
                }
            }
        }
        if let patchProjection, let pv = config.patchValues {
            precondition(patches.isEmpty || patches.count == b)
            for (bi, rowPatches) in patches.enumerated() {
                guard let rowPatches else { continue }
                precondition(rowPatches.count == n * pv, "patches must be \(n) × \(pv) values")
                let projected = patchProjection(Tensor(shape: [n, pv], data: rowPatches))     // (N, W)
                x.data.withUnsafeMutableBufferPointer { xb in
                    projected.data.withUnsafeBufferPointer { pb in
                        for p in 0..<n where !masked[bi][p] {
                            let dst = xb.baseAddress! + (bi * (n + 1) + p) * w, src = pb.baseAddress! + p * w
                            for j in 0..<w { dst[j] += src[j] }
                        }
                    }
                }
            }
        }
        var hidden: [Int: Tensor] = [:]
        for (i, blk) in blocks.enumerated() {
            x.add(blk.attention(blk.norm1(x), threads: threads))
            var h = blk.fc1(blk.norm2(x))
            h.apply(Activation.geluErf)
            x.add(blk.fc2(h))
            if features.contains(i) { hidden[i] = MaskedTransformer.dropLast(x, b, n, w) }
        }
        let logits = head(norm(MaskedTransformer.dropLast(x, b, n, w)))
        return (logits, hidden)
    }

    /// (B, N+1, W) → (B, N, W): the grid positions without the condition token.
    static func dropLast(_ x: Tensor, _ b: Int, _ n: Int, _ w: Int) -> Tensor {
        var out = Tensor(zeros: [b, n, w])
        for bi in 0..<b {
            out.data.replaceSubrange((bi * n * w)..<((bi + 1) * n * w), with: x.data[(bi * (n + 1) * w)..<((bi * (n + 1) + n) * w)])
        }
        return out
    }
}
