/// 1-D convolution over (channels, time) via chunked im2col + sgemm.
/// Weight in PyTorch layout (out, in, kernel); groups = 1.
public struct Conv1d: Sendable {
    public var weight: Tensor
    public var bias: Tensor?
    public var stride: Int
    public var padding: Int
    public var dilation: Int

    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0, dilation: Int = 1) {
        precondition(weight.rank == 3 && stride >= 1 && dilation >= 1 && padding >= 0)
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
    }

    public var outChannels: Int { weight.shape[0] }
    public var inChannels: Int { weight.shape[1] }
    public var kernel: Int { weight.shape[2] }

    public func outputLength(_ t: Int) -> Int {
        (t + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
    }

    /// Output columns per GEMM. About a thousand keeps the im2col block in L2 and is where
    /// OpenBLAS reaches its best rate for these channel counts (bench/: 45–69 GFLOP/s).
    static let chunkColumns = 1024

    /// Time chunks run in parallel, each worker with its own im2col block and a
    /// single-threaded GEMM: small GEMMs scale better this way than through BLAS threads.
    public func callAsFunction(_ x: Tensor, threads: Int = ExecutionContext.current.threads) -> Tensor {
        precondition(x.rank == 2 && x.shape[0] == inChannels, "Conv1d expects (\(inChannels), T), got \(x.shape)")
        let t = x.shape[1], tOut = outputLength(t)
        precondition(tOut > 0, "Conv1d input of length \(t) is too short")
        let (cin, cout, k) = (inChannels, outChannels, kernel)
        let rowsK = cin * k
        var out = Tensor(zeros: [cout, tOut])
        let chunk = min(tOut, Conv1d.chunkColumns)
        let chunks = (tOut + chunk - 1) / chunk
        let workers = max(1, min(threads, chunks))
        let (s, p, d) = (stride, padding, dilation)
        x.data.withUnsafeBufferPointer { xb in
            weight.data.withUnsafeBufferPointer { wb in
                out.data.withUnsafeMutableBufferPointer { ob in
                    let xs = SharedPointer(xb.baseAddress!), ws = SharedPointer(wb.baseAddress!), os = SharedPointer(ob.baseAddress!)
                    let biasData = bias?.data
                    parallelWorkers(workers) { worker in
                        let cols = UnsafeMutablePointer<Float>.allocate(capacity: rowsK * chunk)
                        defer { cols.deallocate() }
                        var c = worker
                        while c < chunks {
                            let t0 = c * chunk, tc = min(chunk, tOut - t0)
                            // cols[(ci·k + j), tt] = x[ci, (t0+tt)·s + j·d − p], zero outside.
                            for ci in 0..<cin {
                                let src = xs.base + ci * t
                                for j in 0..<k {
                                    let dst = cols + (ci * k + j) * tc
                                    let off = t0 * s + j * d - p
                                    if s == 1 {
                                        // Contiguous source: zero the edges, copy the middle.
                                        let lo = min(tc, max(0, -off))
                                        let hi = max(lo, min(tc, t - off))
                                        if lo > 0 { dst.update(repeating: 0, count: lo) }
                                        if hi > lo { dst.advanced(by: lo).update(from: src + off + lo, count: hi - lo) }
                                        if hi < tc { dst.advanced(by: hi).update(repeating: 0, count: tc - hi) }
                                    } else {
                                        for tt in 0..<tc {
                                            let idx = off + tt * s
                                            dst[tt] = idx >= 0 && idx < t ? src[idx] : 0
                                        }
                                    }
                                }
                            }
                            let o = os.base + t0
                            if let biasData {
                                for co in 0..<cout { (o + co * tOut).update(repeating: biasData[co], count: tc) }
                            }
                            sgemm(m: cout, n: tc, k: rowsK, a: ws.base, lda: rowsK, b: cols, ldb: tc,
                                  beta: biasData == nil ? 0 : 1, c: o, ldc: tOut)
                            c += workers
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Transposed 1-D convolution: sgemm to columns, then col2im scatter-add.
/// Weight in PyTorch layout (in, out, kernel).
public struct ConvTranspose1d: Sendable {
    public var weight: Tensor
    public var bias: Tensor?
    public var stride: Int
    public var padding: Int
    public var outputPadding: Int
    public var dilation: Int

    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0, outputPadding: Int = 0, dilation: Int = 1) {
        precondition(weight.rank == 3 && stride >= 1 && dilation >= 1)
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
        self.dilation = dilation
    }

    public var inChannels: Int { weight.shape[0] }
    public var outChannels: Int { weight.shape[1] }
    public var kernel: Int { weight.shape[2] }

    public func outputLength(_ t: Int) -> Int {
        (t - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 2 && x.shape[0] == inChannels, "ConvTranspose1d expects (\(inChannels), T), got \(x.shape)")
        let t = x.shape[1], tOut = outputLength(t)
        let (cin, cout, k) = (inChannels, outChannels, kernel)
        var out = Tensor(zeros: [cout, tOut])
        var cols = [Float](repeating: 0, count: cout * k * t)
        let (s, p, d) = (stride, padding, dilation)
        x.data.withUnsafeBufferPointer { xb in
            weight.data.withUnsafeBufferPointer { wb in
                cols.withUnsafeMutableBufferPointer { cb in
                    // (cout·k × T) = W(cin × cout·k)ᵀ · x(cin × T)
                    sgemm(transA: true, m: cout * k, n: t, k: cin, a: wb.baseAddress!, lda: cout * k,
                          b: xb.baseAddress!, ldb: t, c: cb.baseAddress!, ldc: t)
                    out.data.withUnsafeMutableBufferPointer { ob in
                        for co in 0..<cout {
                            let orow = ob.baseAddress! + co * tOut
                            for j in 0..<k {
                                let crow = cb.baseAddress! + (co * k + j) * t
                                let off = j * d - p
                                // Valid ti: 0 ≤ ti·s + off < tOut.
                                let lo = off >= 0 ? 0 : (-off + s - 1) / s
                                let hiExclusive = tOut - 1 - off < 0 ? 0 : min(t, (tOut - 1 - off) / s + 1)
                                if lo < hiExclusive {
                                    for ti in lo..<hiExclusive { orow[ti * s + off] += crow[ti] }
                                }
                            }
                            if let bias {
                                let bv = bias.data[co]
                                for i in 0..<tOut { orow[i] += bv }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
