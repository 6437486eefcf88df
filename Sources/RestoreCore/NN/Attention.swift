

/// Multi-head self-attention in PyTorch's nn.MultiheadAttention layout:
/// packed in-projection (3D, D) + bias (3D), out-projection (D, D) + bias (D).
/// Batched over (batch, heads); the small per-head GEMMs run in parallel over heads
/// with OpenBLAS single-threaded inside them (they do not scale across threads).
public struct MultiHeadSelfAttention: Sendable {
    public var inProjection: Linear
    public var outProjection: Linear
    public let heads: Int

    public init(inProjection: Linear, outProjection: Linear, heads: Int) {
        precondition(inProjection.outFeatures == 3 * inProjection.inFeatures)
        precondition(inProjection.inFeatures % heads == 0)
        self.inProjection = inProjection
        self.outProjection = outProjection
        self.heads = heads
    }

    public var dim: Int { inProjection.inFeatures }

    /// x: (B, L, D) → (B, L, D). `keyMask[b][j] == false` excludes key j of row b.
    public func callAsFunction(_ x: Tensor, keyMask: [[Bool]]? = nil, threads: Int = ExecutionContext.current.threads) -> Tensor {
        precondition(x.rank == 3 && x.shape[2] == dim)
        let (b, l, d) = (x.shape[0], x.shape[1], dim)
        let dh = d / heads
        let qkv = inProjection(x)          // (B, L, 3D)
        var context = Tensor(zeros: [b, l, d])
        let scale = 1 / Float(dh).squareRoot()
        let keyMask = keyMask
        qkv.data.withUnsafeBufferPointer { qb in
            context.data.withUnsafeMutableBufferPointer { cb in
                let q0 = SharedPointer(qb.baseAddress!), c0 = SharedPointer(cb.baseAddress!)
                parallelFor(b * heads, threads: threads) { job in
                    var scores = [Float](repeating: 0, count: l * l)
                    scores.withUnsafeMutableBufferPointer { sb in
                        let bi = job / heads, h = job % heads
                        let base = q0.base + bi * l * 3 * d
                        // scores = Q·Kᵀ·scale  (L × L), Q and K strided inside the packed rows.
                        sgemm(transB: true, m: l, n: l, k: dh, alpha: scale, a: base + h * dh, lda: 3 * d,
                              b: base + d + h * dh, ldb: 3 * d, c: sb.baseAddress!, ldc: l)
                        if let keyMask {
                            for i in 0..<l { for j in 0..<l where !keyMask[bi][j] { sb[i * l + j] = -.infinity } }
                        }
                        Activation.softmaxRows(sb.baseAddress!, rows: l, cols: l)
                        // context[:, h] = P·V  (L × dh)
                        sgemm(m: l, n: dh, k: l, a: sb.baseAddress!, lda: l, b: base + 2 * d + h * dh, ldb: 3 * d,
                              c: c0.base + bi * l * d + h * dh, ldc: d)
                    }
                }
            }
        }
        return outProjection(context)
    }
}

