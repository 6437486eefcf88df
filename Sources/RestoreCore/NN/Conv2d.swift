/// 2-D convolution over (channels, height, width) via im2col + sgemm.
/// Weight in PyTorch layout (out, in, kh, kw); groups = 1.
public struct Conv2d: Sendable {
    public var weight: Tensor
    public var bias: Tensor?
    public var stride: (Int, Int)
    public var padding: (Int, Int)
    public var dilation: (Int, Int)

    public init(weight: Tensor, bias: Tensor?, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1)) {
        precondition(weight.rank == 4)
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
    }

    public var outChannels: Int { weight.shape[0] }
    public var inChannels: Int { weight.shape[1] }

    public func outputSize(_ h: Int, _ w: Int) -> (Int, Int) {
        let (kh, kw) = (weight.shape[2], weight.shape[3])
        return ((h + 2 * padding.0 - dilation.0 * (kh - 1) - 1) / stride.0 + 1,
                (w + 2 * padding.1 - dilation.1 * (kw - 1) - 1) / stride.1 + 1)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3 && x.shape[0] == inChannels, "Conv2d expects (\(inChannels), H, W), got \(x.shape)")
        let (h, w) = (x.shape[1], x.shape[2])
        let (kh, kw) = (weight.shape[2], weight.shape[3])
        let (ho, wo) = outputSize(h, w)
        precondition(ho > 0 && wo > 0, "Conv2d input \(x.shape) is too small")
        let cin = inChannels, cout = outChannels
        let rowsK = cin * kh * kw, n = ho * wo
        var cols = [Float](repeating: 0, count: rowsK * n)
        cols.withUnsafeMutableBufferPointer { cb in
            x.data.withUnsafeBufferPointer { xb in
                for ci in 0..<cin {
                    for a in 0..<kh {
                        for b in 0..<kw {
                            let dst = cb.baseAddress! + ((ci * kh + a) * kw + b) * n
                            for oy in 0..<ho {
                                let iy = oy * stride.0 + a * dilation.0 - padding.0
                                let row = dst + oy * wo
                                guard iy >= 0 && iy < h else { continue }   // already zero
                                let src = xb.baseAddress! + (ci * h + iy) * w
                                for ox in 0..<wo {
                                    let ix = ox * stride.1 + b * dilation.1 - padding.1
                                    if ix >= 0 && ix < w { row[ox] = src[ix] }
                                }
                            }
                        }
                    }
                }
            }
        }
        var out = Tensor(zeros: [cout, ho, wo])
        out.data.withUnsafeMutableBufferPointer { ob in
            weight.data.withUnsafeBufferPointer { wb in
                cols.withUnsafeBufferPointer { cb in
                    sgemm(m: cout, n: n, k: rowsK, a: wb.baseAddress!, lda: rowsK, b: cb.baseAddress!, ldb: n,
                          c: ob.baseAddress!, ldc: n)
                }
            }
            if let bias {
                for co in 0..<cout { for i in 0..<n { ob[co * n + i] += bias.data[co] } }
            }
        }
        return out
    }
}

/// Transposed 2-D convolution; weight in PyTorch layout (in, out, kh, kw).
public struct ConvTranspose2d: Sendable {
    public var weight: Tensor
    public var bias: Tensor?
    public var stride: (Int, Int)
    public var padding: (Int, Int)
    public var outputPadding: (Int, Int)
    public var dilation: (Int, Int)

    public init(weight: Tensor, bias: Tensor?, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                outputPadding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1)) {
        precondition(weight.rank == 4)
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
        self.dilation = dilation
    }

    public var inChannels: Int { weight.shape[0] }
    public var outChannels: Int { weight.shape[1] }

    public func outputSize(_ h: Int, _ w: Int) -> (Int, Int) {
        let (kh, kw) = (weight.shape[2], weight.shape[3])
        return ((h - 1) * stride.0 - 2 * padding.0 + dilation.0 * (kh - 1) + outputPadding.0 + 1,
                (w - 1) * stride.1 - 2 * padding.1 + dilation.1 * (kw - 1) + outputPadding.1 + 1)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 3 && x.shape[0] == inChannels, "ConvTranspose2d expects (\(inChannels), H, W), got \(x.shape)")
        let (h, w) = (x.shape[1], x.shape[2])
        let (kh, kw) = (weight.shape[2], weight.shape[3])
        let (ho, wo) = outputSize(h, w)
        let cin = inChannels, cout = outChannels, n = h * w
        let rows = cout * kh * kw
        var cols = [Float](repeating: 0, count: rows * n)
        cols.withUnsafeMutableBufferPointer { cb in
            x.data.withUnsafeBufferPointer { xb in
                weight.data.withUnsafeBufferPointer { wb in
                    sgemm(transA: true, m: rows, n: n, k: cin, a: wb.baseAddress!, lda: rows,
                          b: xb.baseAddress!, ldb: n, c: cb.baseAddress!, ldc: n)
                }
            }
        }
        var out = Tensor(zeros: [cout, ho, wo])
        out.data.withUnsafeMutableBufferPointer { ob in
            cols.withUnsafeBufferPointer { cb in
                for co in 0..<cout {
                    for a in 0..<kh {
                        for b in 0..<kw {
                            let src = cb.baseAddress! + ((co * kh + a) * kw + b) * n
                            for iy in 0..<h {
                                let oy = iy * stride.0 + a * dilation.0 - padding.0
                                guard oy >= 0 && oy < ho else { continue }
                                let orow = ob.baseAddress! + (co * ho + oy) * wo
                                for ix in 0..<w {
                                    let ox = ix * stride.1 + b * dilation.1 - padding.1
                                    if ox >= 0 && ox < wo { orow[ox] += src[iy * w + ix] }
                                }
                            }
                        }
                    }
                    if let bias { for i in 0..<(ho * wo) { ob[co * ho * wo + i] += bias.data[co] } }
                }
            }
        }
        return out
    }
}
