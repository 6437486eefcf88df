import Foundation

/// Per-iteration random numbers of the sampler: one uniform (categorical draw) and one
/// Gumbel sample (re-masking noise) per sequence position.
public protocol SamplerNoise {
    mutating func draw(iteration: Int, count: Int) -> (uniform: [Float], gumbel: [Float])
}

/// The default noise: SplitMix64 from a seed, so a run is deterministic.
public struct SeededNoise: SamplerNoise {
    var rng: SplitMix64
    public init(seed: UInt64) { rng = SplitMix64(seed: seed) }
    public mutating func draw(iteration: Int, count: Int) -> (uniform: [Float], gumbel: [Float]) {
        let u = (0..<count).map { _ in Float(rng.uniform()) }
        let g = (0..<count).map { _ -> Float in
            let v = max(rng.uniform(), 1e-20)
            return Float(-log(max(-log(v), 1e-20)))
        }
        return (u, g)
    }
}

/// Noise given in advance (parity tests replay PyTorch's draws).
public struct ReplayedNoise: SamplerNoise {
    public var uniforms: [[Float]], gumbels: [[Float]]
    public init(uniforms: [[Float]], gumbels: [[Float]]) { self.uniforms = uniforms; self.gumbels = gumbels }
    public mutating func draw(iteration: Int, count: Int) -> (uniform: [Float], gumbel: [Float]) {
        (uniforms[iteration], gumbels[iteration])
    }
}

/// MaskGIT decoding with classifier-free guidance, exactly as engine.md §2:
/// linear CFG ramp from 0, categorical sampling, cosine schedule of how many stay
/// masked, annealed Gumbel noise on log-confidence, known tokens never changed.
public struct MaskGITSampler {
    public var iterations: Int = 16
    public var guidance: Float = 3.0
    public var temperature: Float = 1.5

    public init(iterations: Int = 16, guidance: Float = 3.0, temperature: Float = 1.5) {
        self.iterations = iterations
        self.guidance = guidance
        self.temperature = temperature
    }

    /// Positions that stay masked after iteration i: floor(U·cos(π/2·(i+1)/N)).
    public static func remaining(unknownAtStart u: Int, iteration i: Int, of n: Int) -> Int {
        Int((Double(u) * cos(Double.pi / 2 * Double(i + 1) / Double(n))).rounded(.down))
    }

    /// Completes `tokens` (sequence order) where `known` is false. `onIteration(i, stillMasked)`
    /// reports the count left masked after each iteration.
    ///
    /// With `prior` (prior-initialised decoding), the unknown positions start from the prior's
    /// tokens (a DSP estimate) instead of [MASK]: the model scores the prior once, the
    /// ⌊r0·U⌋ least probable prior tokens are masked (r0 = `initialMaskRatio`), the others are
    /// kept, and the usual schedule runs from there. r0 = 1 is plain MaskGIT; r0 = 0 keeps
    /// the prior as it is.
    ///
    /// `patches` (sequence order, N × patch values): the true mel patches of a hybrid model's
    /// input; only positions known at the start keep theirs (the sampler's own fills, and the
    /// prior's tokens, have no true patch).
    ///
    /// `onCommit(position, probabilities)` sees, for each position the sampler fixes, the
    /// (guided) distribution over the codebook its token was drawn from — what expected-code
    /// decoding reads. Prior tokens kept without being drawn are not reported.
    public func run<N: SamplerNoise>(_ model: MaskedTransformer, tokens: [Int32], known: [Bool], condition: [Float]?,
                                     noise: inout N, threads: Int = ExecutionContext.current.threads,
                                     prior: [Int32]? = nil, initialMaskRatio: Float = 1, patches: [Float]? = nil,
                                     onIteration: ((Int, Int) -> Void)? = nil,
                                     onCommit: ((Int, UnsafeBufferPointer<Float>) -> Void)? = nil) -> [Int32] {
        precondition(iterations >= 1)
        let n = tokens.count, k = model.config.codebook_size
        var x = tokens
        var patchInput: [Float]? = nil
        if let patches, let pv = model.config.patchValues {
            precondition(patches.count == n * pv)
            var p = patches
            for j in 0..<n where !known[j] { for v in 0..<pv { p[j * pv + v] = 0 } }
            patchInput = p
        }
        var unknown = known.map { !$0 }
        if let prior, initialMaskRatio < 1 {
            precondition(prior.count == n)
            let candidates = (0..<n).filter { unknown[$0] }
            for j in candidates { x[j] = prior[j] }
            let keepMasked = Int((Float(candidates.count) * max(0, initialMaskRatio)).rounded(.down))
            // The model's own probability of each prior token, everything visible.
            var scored = model(tokens: [x], masked: [[Bool](repeating: false, count: n)], conditions: [condition],
                               patches: [patchInput], threads: threads).logits
            scored.apply { p, _ in Activation.softmaxRows(p, rows: n, cols: k) }
            let probability = candidates.map { scored.data[$0 * k + Int(x[$0])] }
            let order = candidates.indices.sorted { probability[$0] < probability[$1] || (probability[$0] == probability[$1] && $0 < $1) }
            unknown = [Bool](repeating: false, count: n)
            for i in order.prefix(keepMasked) { unknown[candidates[i]] = true }
        }
        let u0 = unknown.filter { $0 }.count
        for i in 0..<iterations {
            let stillUnknown = unknown.filter { $0 }.count
            if stillUnknown == 0 { break }
            let t = iterations > 1 ? guidance * Float(i) / Float(iterations - 1) : guidance
            var logits: Tensor
            if condition == nil || t == 0 {
                logits = model(tokens: [x], masked: [unknown], conditions: [nil], patches: [patchInput], threads: threads).logits
            } else {
                let both = model(tokens: [x, x], masked: [unknown, unknown], conditions: [condition, nil],
                                 patches: [patchInput, patchInput], threads: threads).logits
                // ℓ = ℓu + t·(ℓc − ℓu), rows 0 (conditional) and 1 (unconditional).
                var mixed = [Float](repeating: 0, count: n * k)
                both.data.withUnsafeBufferPointer { b in
                    for j in 0..<(n * k) { let lc = b[j], lu = b[n * k + j]; mixed[j] = lu + t * (lc - lu) }
                }
                logits = Tensor(shape: [1, n, k], data: mixed)
            }
            logits.apply { p, _ in Activation.softmaxRows(p, rows: n, cols: k) }
            let (uniform, gumbel) = noise.draw(iteration: i, count: n)
            let ratio = Float(i + 1) / Float(iterations)
            var m = MaskGITSampler.remaining(unknownAtStart: u0, iteration: i, of: iterations)
            m = i == iterations - 1 ? 0 : max(0, min(m, stillUnknown - 1))
            var confidence = [Float](repeating: .infinity, count: n)
            logits.data.withUnsafeBufferPointer { probs in
                for j in 0..<n where unknown[j] {
                    let row = probs.baseAddress! + j * k
                    // Inverse-CDF draw with one uniform, as torch.searchsorted on the cumulative sum.
                    var total: Float = 0
                    for c in 0..<k { total += row[c] }
                    let target = uniform[j] * total
                    var cum: Float = 0, pick = k - 1
                    for c in 0..<k {
                        cum += row[c]
                        if cum >= target { pick = c; break }
                    }
                    x[j] = Int32(pick)
                    confidence[j] = log(max(row[pick], 1e-30)) + temperature * (1 - ratio) * gumbel[j]
                }
            }
            // The m least confident new tokens are masked again; ties keep sequence order.
            let drawn = unknown
            unknown = [Bool](repeating: false, count: n)
            if m > 0 {
                let order = (0..<n).sorted { confidence[$0] < confidence[$1] || (confidence[$0] == confidence[$1] && $0 < $1) }
                for j in order.prefix(m) { unknown[j] = true }
            }
            if let onCommit {
                logits.data.withUnsafeBufferPointer { probs in
                    for j in 0..<n where drawn[j] && !unknown[j] {
                        onCommit(j, UnsafeBufferPointer(rebasing: probs[(j * k)..<((j + 1) * k)]))
                    }
                }
            }
            onIteration?(i, m)
        }
        return x
    }
}

/// The engine facade: token grids in, completed token grids out.
public struct Engine {
    public let transformer: MaskedTransformer
    public init(transformer: MaskedTransformer) { self.transformer = transformer }

    /// A window's normalised mel cut into token cells in sequence (column-major) order, each
    /// cell bin-major: what a hybrid model's patch projection reads.
    public static func patches(_ mel: MelSpectrogram, rows: Int, columns: Int) -> [Float] {
        let bins = mel.melCount / rows, frames = mel.frames / columns
        precondition(bins * rows == mel.melCount && frames * columns == mel.frames)
        var out = [Float](repeating: 0, count: rows * columns * bins * frames)
        var i = 0
        for c in 0..<columns {
            for r in 0..<rows {
                for b in 0..<bins {
                    let src = (r * bins + b) * mel.frames + c * frames
                    for f in 0..<frames { out[i] = mel.values[src + f]; i += 1 }
                }
            }
        }
        return out
    }

    /// Row-major grid ↔ the transformer's column-major sequence.
    func sequence(_ grid: TokenGrid) -> [Int32] {
        var s = [Int32](repeating: 0, count: grid.ids.count)
        for c in 0..<grid.columns { for r in 0..<grid.rows { s[c * grid.rows + r] = grid[r, c] } }
        return s
    }

    /// A completed grid and, with expected-code decoding, the distribution each generated cell
    /// was drawn from (row-major cell → probabilities over the codebook, summing to 1).
    public struct Completion {
        public var grid: TokenGrid
        public var distributions: [Int: [Float]]
    }

    /// Fills the positions of `grid` where `known` (row-major) is false. Deterministic for a seed.
    /// `patches` (sequence order, from `Engine.patches`) give a hybrid model the true mel of
    /// the known positions; zeros where a known token has no true mel (carried from a window
    /// the engine generated).
    public func complete(grid: TokenGrid, known: [Bool], condition: [Float]?, iterations: Int = 16, guidance: Float = 3.0,
                         temperature: Float = 1.5, seed: UInt64, threads: Int = ExecutionContext.current.threads,
                         prior: TokenGrid? = nil, initialMaskRatio: Float = 1, patches: [Float]? = nil) -> TokenGrid {
        completion(grid: grid, known: known, condition: condition, iterations: iterations, guidance: guidance, temperature: temperature,
                   seed: seed, threads: threads, prior: prior, initialMaskRatio: initialMaskRatio, patches: patches).grid
    }

    /// `complete`, also keeping each generated cell's distribution when `distributions` is set.
    public func completion(grid: TokenGrid, known: [Bool], condition: [Float]?, iterations: Int = 16, guidance: Float = 3.0,
                           temperature: Float = 1.5, seed: UInt64, threads: Int = ExecutionContext.current.threads,
                           prior: TokenGrid? = nil, initialMaskRatio: Float = 1, patches: [Float]? = nil,
                           distributions keep: Bool = false) -> Completion {
        let cfg = transformer.config
        precondition(grid.rows == cfg.rows && grid.columns == cfg.columns, "grid \(grid.rows)×\(grid.columns) does not match the model's \(cfg.rows)×\(cfg.columns)")
        precondition(known.count == grid.ids.count)
        let knownGrid = TokenGrid(rows: grid.rows, columns: grid.columns, ids: known.map { $0 ? 1 : 0 })
        let seqKnown = sequence(knownGrid).map { $0 == 1 }
        var noise = SeededNoise(seed: seed)
        let sampler = MaskGITSampler(iterations: iterations, guidance: guidance, temperature: temperature)
        var distributions: [Int: [Float]] = [:]
        let rows = grid.rows
        let out = sampler.run(transformer, tokens: sequence(grid), known: seqKnown, condition: condition, noise: &noise, threads: threads,
                              prior: prior.map(sequence), initialMaskRatio: initialMaskRatio,
                              patches: transformer.config.patchValues == nil ? nil : patches,
                              onCommit: keep ? { j, p in distributions[(j % rows) * grid.columns + j / rows] = Array(p) } : nil)
        var result = grid
        for c in 0..<grid.columns { for r in 0..<grid.rows { result[r, c] = out[c * grid.rows + r] } }
        return Completion(grid: result, distributions: distributions)
    }
}
