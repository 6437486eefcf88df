import Foundation

/// MiniLM configuration (the `config` metadata of minilm.safetensors).
public struct MiniLMConfig: Codable, Sendable, Equatable {
    public var vocab_size: Int
    public var hidden: Int
    public var layers: Int
    public var heads: Int
    public var intermediate: Int
    public var layer_norm_eps: Float
    public var max_positions: Int
    public var type_vocab_size: Int
    public var max_seq_length: Int
    public var do_lower_case: Bool
    public var tokenize_chinese_chars: Bool
}

/// The all-MiniLM-L6-v2 sentence encoder (engine.md §2, condition space): a 6-layer post-LN
/// BERT, mean pooling over the tokens, L2 normalisation. Text → 384-d unit vector.
public struct MiniLM: Sendable {
    public let config: MiniLMConfig
    public let tokenizer: WordPieceTokenizer

    struct Layer: Sendable {
        var attention: MultiHeadSelfAttention, norm1: LayerNorm, up: Linear, down: Linear, norm2: LayerNorm
    }
    let word: Tensor, position: Tensor, tokenType: Tensor, embeddingNorm: LayerNorm
    let layers: [Layer]

    public init(file: SafeTensorsFile, vocabulary: String) throws {
        guard file.metadata["format"] == "restore.minilm", let text = file.metadata["config"],
              let cfg = try? JSONDecoder().decode(MiniLMConfig.self, from: Data(text.utf8)) else {
            throw SafeTensorsError(file: file.path, problem: "not a MiniLM converted by scripts/fetch-pretrained (no restore.minilm config)")
        }
        config = cfg
        let h = cfg.hidden
        guard h % cfg.heads == 0 else { throw SafeTensorsError(file: file.path, problem: "hidden \(h) not divisible by \(cfg.heads) heads") }
        func t(_ n: String, _ s: [Int]) throws -> Tensor { try file.tensor(n, shape: s) }
        func ln(_ p: String) throws -> LayerNorm { LayerNorm(dim: h, weight: try t("\(p).weight", [h]), bias: try t("\(p).bias", [h]), eps: cfg.layer_norm_eps) }
        word = try t("embeddings.word_embeddings.weight", [cfg.vocab_size, h])
        position = try t("embeddings.position_embeddings.weight", [cfg.max_positions, h])
        tokenType = try t("embeddings.token_type_embeddings.weight", [cfg.type_vocab_size, h])
        embeddingNorm = try ln("embeddings.LayerNorm")
        layers = try (0..<cfg.layers).map { i in
            let p = "encoder.layer.\(i)"
            // Query, key and value stacked into the packed in-projection the attention layer uses.
            let q = try t("\(p).attention.self.query.weight", [h, h]), k = try t("\(p).attention.self.key.weight", [h, h])
            let v = try t("\(p).attention.self.value.weight", [h, h])
            let qb = try t("\(p).attention.self.query.bias", [h]), kb = try t("\(p).attention.self.key.bias", [h])
            let vb = try t("\(p).attention.self.value.bias", [h])
            return Layer(
                attention: MultiHeadSelfAttention(
                    inProjection: Linear(weight: Tensor(shape: [3 * h, h], data: q.data + k.data + v.data),
                                         bias: Tensor(shape: [3 * h], data: qb.data + kb.data + vb.data)),
                    outProjection: Linear(weight: try t("\(p).attention.output.dense.weight", [h, h]), bias: try t("\(p).attention.output.dense.bias", [h])),
                    heads: cfg.heads),
                norm1: try ln("\(p).attention.output.LayerNorm"),
                up: Linear(weight: try t("\(p).intermediate.dense.weight", [cfg.intermediate, h]), bias: try t("\(p).intermediate.dense.bias", [cfg.intermediate])),
                down: Linear(weight: try t("\(p).output.dense.weight", [h, cfg.intermediate]), bias: try t("\(p).output.dense.bias", [h])),
                norm2: try ln("\(p).output.LayerNorm"))
        }
        tokenizer = try WordPieceTokenizer(vocabularyFile: vocabulary, maxLength: min(cfg.max_seq_length, cfg.max_positions),
                                           lowercase: cfg.do_lower_case, splitCJK: cfg.tokenize_chinese_chars)
    }

    /// Loads Models/pretrained/minilm.safetensors and its vocabulary (scripts/fetch-pretrained).
    public static func load(explicit: String? = nil) throws -> MiniLM {
        let path = try ModelLocator.textEncoder(explicit: explicit)
        let vocab = (path as NSString).deletingPathExtension + "-vocab.txt"
        return try MiniLM(file: SafeTensorsFile(path: path), vocabulary: vocab)
    }

    /// Hidden states of the last layer for token ids: (tokens, hidden).
    public func hidden(_ ids: [Int32], threads: Int = ExecutionContext.current.threads) -> Tensor {
        let n = ids.count, h = config.hidden
        var x = Tensor(zeros: [1, n, h])
        for (p, id) in ids.enumerated() {
            let i = Int(id)
            for j in 0..<h { x.data[p * h + j] = word.data[i * h + j] + position.data[p * h + j] + tokenType.data[j] }
        }
        x = embeddingNorm(x)
        for l in layers {
            var a = l.attention(x, threads: threads)
            a.add(x)
            x = l.norm1(a)
            var u = l.up(x)
            u.apply(Activation.geluErf)
            var d = l.down(u)
            d.add(x)
            x = l.norm2(d)
        }
        return x
    }

    /// The sentence embedding: mean of the last layer over the tokens, L2-normalised.
    public func embed(_ text: String) -> [Float] {
        let ids = tokenizer.encode(text)
        let x = hidden(ids), n = ids.count, h = config.hidden
        var v = [Float](repeating: 0, count: h)
        for p in 0..<n { for j in 0..<h { v[j] += x.data[p * h + j] } }
        let norm = max(v.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
        return v.map { $0 / norm }
    }
}
