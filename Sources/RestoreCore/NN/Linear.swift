/// y = x·Wᵀ + b over the last axis; W in PyTorch layout (out, in).
public struct Linear: Sendable {
    public var weight: Tensor   // (out, in)
    public var bias: Tensor?    // (out)

    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2)
        if let b = bias { precondition(b.shape == [weight.shape[0]]) }
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// x: (..., in) → (..., out).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == inFeatures, "Linear expects last dim \(inFeatures), got \(x.shape)")
        let rows = x.count / inFeatures
        var out = Tensor(zeros: Array(x.shape.dropLast()) + [outFeatures])
        let (n, k) = (outFeatures, inFeatures)
        out.data.withUnsafeMutableBufferPointer { o in
            if let b = bias {
                b.data.withUnsafeBufferPointer { bb in
                    for r in 0..<rows { (o.baseAddress! + r * n).update(from: bb.baseAddress!, count: n) }
                }
            }
            x.data.withUnsafeBufferPointer { xx in
                weight.data.withUnsafeBufferPointer { w in
                    sgemm(transB: true, m: rows, n: n, k: k, a: xx.baseAddress!, lda: k, b: w.baseAddress!, ldb: k,
                          beta: bias == nil ? 0 : 1, c: o.baseAddress!, ldc: n)
                }
            }
        }
        return out
    }
}

/// Row lookup in a (vocabulary, dim) table.
public struct Embedding: Sendable {
    public var table: Tensor
    public init(table: Tensor) { precondition(table.rank == 2); self.table = table }

    /// ids → (ids.count, dim). Ids outside the table are a programming error upstream.
    public func callAsFunction(_ ids: [Int]) -> Tensor {
        let d = table.shape[1]
        var out = Tensor(zeros: [ids.count, d])
        out.data.withUnsafeMutableBufferPointer { o in
            table.data.withUnsafeBufferPointer { t in
                for (i, id) in ids.enumerated() {
                    precondition(id >= 0 && id < table.shape[0], "embedding id \(id) outside 0..<\(table.shape[0])")
                    (o.baseAddress! + i * d).update(from: t.baseAddress! + id * d, count: d)
                }
            }
        }
        return out
    }
}

/// Layer normalisation over the last axis (biased variance, as PyTorch).
public struct LayerNorm: Sendable {
    public var weight: Tensor?
    public var bias: Tensor?
    public var eps: Float
    public let dim: Int

    public init(dim: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) {
        self.dim = dim
        self.weight = weight
        self.bias = bias
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == dim)
        typealias V = VectorMath.V
        var out = x
        let rows = x.count / dim
        let d = dim, full = d & ~7
        let ones = [Float](repeating: 1, count: d), zeros = [Float](repeating: 0, count: d)
        let w = weight?.data ?? ones, b = bias?.data ?? zeros
        out.data.withUnsafeMutableBufferPointer { o in
            w.withUnsafeBufferPointer { wb in
                b.withUnsafeBufferPointer { bb in
                    let wr = UnsafeRawPointer(wb.baseAddress!), br = UnsafeRawPointer(bb.baseAddress!)
                    for r in 0..<rows {
                        let p = o.baseAddress! + r * d, raw = UnsafeMutableRawPointer(p)
                        // Two passes (mean, then squared deviations), 8 lanes at a time.
                        var sv = V(repeating: 0)
                        var j = 0
                        while j < full { sv += raw.loadUnaligned(fromByteOffset: j * 4, as: V.self); j += 8 }
                        var sum = sv.sum()
                        while j < d { sum += p[j]; j += 1 }
                        let mean = sum / Float(d)
                        var qv = V(repeating: 0)
                        j = 0
                        while j < full { let c = raw.loadUnaligned(fromByteOffset: j * 4, as: V.self) - mean; qv += c * c; j += 8 }
                        var sq = qv.sum()
                        while j < d { let c = p[j] - mean; sq += c * c; j += 1 }
                        let inv = 1 / (sq / Float(d) + eps).squareRoot()
                        j = 0
                        while j < full {
                            let v = (raw.loadUnaligned(fromByteOffset: j * 4, as: V.self) - mean) * inv
                            let y = v * wr.loadUnaligned(fromByteOffset: j * 4, as: V.self) + br.loadUnaligned(fromByteOffset: j * 4, as: V.self)
                            raw.storeBytes(of: y, toByteOffset: j * 4, as: V.self)
                            j += 8
                        }
                        while j < d { p[j] = (p[j] - mean) * inv * wb[j] + bb[j]; j += 1 }
                    }
                }
            }
        }
        return out
    }
}
