import Foundation
import XCTest
@testable import RestoreCore

/// Each layer against a naive, obviously-correct loop on random inputs, odd shapes included.
final class LayerTests: XCTestCase {
    func naiveConv1d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int, padding: Int, dilation: Int) -> Tensor {
        let (cin, t) = (x.shape[0], x.shape[1]), (cout, k) = (w.shape[0], w.shape[2])
        let tOut = (t + 2 * padding - dilation * (k - 1) - 1) / stride + 1
        var y = Tensor(zeros: [cout, tOut])
        for co in 0..<cout { for o in 0..<tOut {
            var s = Double(b?.data[co] ?? 0)
            for ci in 0..<cin { for j in 0..<k {
                let i = o * stride + j * dilation - padding
                if i >= 0 && i < t { s += Double(w.data[(co * cin + ci) * k + j]) * Double(x.data[ci * t + i]) }
            } }
            y.data[co * tOut + o] = Float(s)
        } }
        return y
    }

    func naiveConvTranspose1d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int, padding: Int, outputPadding: Int, dilation: Int) -> Tensor {
        let (cin, t) = (x.shape[0], x.shape[1]), (cout, k) = (w.shape[1], w.shape[2])
        let tOut = (t - 1) * stride - 2 * padding + dilation * (k - 1) + outputPadding + 1
        var acc = [Double](repeating: 0, count: cout * tOut)
        for ci in 0..<cin { for i in 0..<t { for co in 0..<cout { for j in 0..<k {
            let o = i * stride + j * dilation - padding
            if o >= 0 && o < tOut { acc[co * tOut + o] += Double(x.data[ci * t + i]) * Double(w.data[(ci * cout + co) * k + j]) }
        } } } }
        for co in 0..<cout { for o in 0..<tOut { acc[co * tOut + o] += Double(b?.data[co] ?? 0) } }
        return Tensor(shape: [cout, tOut], data: acc.map(Float.init))
    }

    func testConv1dMatchesNaive() {
        let cases: [(cin: Int, cout: Int, k: Int, t: Int, s: Int, p: Int, d: Int)] = [
            (3, 5, 3, 17, 1, 1, 1), (7, 4, 7, 50, 1, 3, 1), (5, 6, 3, 40, 1, 5, 5), (4, 3, 11, 33, 1, 15, 3),
            (2, 3, 4, 31, 2, 1, 1), (3, 2, 5, 29, 3, 0, 2), (1, 1, 1, 9, 1, 0, 1), (6, 2, 3, 5, 1, 4, 1),
        ]
        for (n, c) in cases.enumerated() {
            let x = Tensor.random([c.cin, c.t], seed: UInt64(n))
            let w = Tensor.random([c.cout, c.cin, c.k], seed: UInt64(100 + n))
            let b = Tensor.random([c.cout], seed: UInt64(200 + n))
            let conv = Conv1d(weight: w, bias: b, stride: c.s, padding: c.p, dilation: c.d)
            let ref = naiveConv1d(x, w, b, stride: c.s, padding: c.p, dilation: c.d)
            let got = conv(x)
            XCTAssertEqual(got.shape, ref.shape, "\(c)")
            XCTAssertLessThan(relativeL2(got.data, ref.data), 1e-5, "\(c)")
        }
    }

    func testConv1dChunkingMatchesUnchunked() {
        // Long enough that the im2col buffer is filled in several chunks.
        let x = Tensor.random([64, 9000], seed: 1)
        let w = Tensor.random([8, 64, 11], seed: 2)
        let conv = Conv1d(weight: w, bias: nil, padding: 15, dilation: 3)
        let ref = naiveConv1d(x, w, nil, stride: 1, padding: 15, dilation: 3)
        XCTAssertLessThan(relativeL2(conv(x).data, ref.data), 1e-5)
    }

    func testConvTranspose1dMatchesNaive() {
        let cases: [(cin: Int, cout: Int, k: Int, t: Int, s: Int, p: Int, op: Int, d: Int)] = [
            (4, 3, 16, 9, 8, 4, 0, 1), (3, 2, 4, 13, 2, 1, 0, 1), (5, 7, 3, 6, 1, 1, 0, 1),
            (2, 3, 5, 7, 3, 2, 1, 1), (3, 3, 3, 8, 2, 0, 0, 2), (1, 1, 2, 1, 1, 0, 0, 1),
        ]
        for (n, c) in cases.enumerated() {
            let x = Tensor.random([c.cin, c.t], seed: UInt64(n))
            let w = Tensor.random([c.cin, c.cout, c.k], seed: UInt64(50 + n))
            let b = Tensor.random([c.cout], seed: UInt64(60 + n))
            let conv = ConvTranspose1d(weight: w, bias: b, stride: c.s, padding: c.p, outputPadding: c.op, dilation: c.d)
            let ref = naiveConvTranspose1d(x, w, b, stride: c.s, padding: c.p, outputPadding: c.op, dilation: c.d)
            let got = conv(x)
            XCTAssertEqual(got.shape, ref.shape, "\(c)")
            XCTAssertLessThan(relativeL2(got.data, ref.data), 1e-5, "\(c)")
        }
    }

    func testConv2dAndTransposeMatchNaive() {
        let cases: [(cin: Int, cout: Int, kh: Int, kw: Int, h: Int, w: Int, s: (Int, Int), p: (Int, Int), d: (Int, Int))] = [
            (3, 4, 3, 3, 9, 11, (1, 1), (1, 1), (1, 1)), (2, 5, 4, 2, 16, 13, (2, 2), (1, 0), (1, 1)),
            (1, 3, 5, 3, 10, 7, (1, 2), (2, 1), (2, 1)), (4, 2, 16, 16, 32, 48, (16, 16), (0, 0), (1, 1)),
        ]
        for (n, c) in cases.enumerated() {
            let x = Tensor.random([c.cin, c.h, c.w], seed: UInt64(n))
            let wt = Tensor.random([c.cout, c.cin, c.kh, c.kw], seed: UInt64(10 + n))
            let b = Tensor.random([c.cout], seed: UInt64(20 + n))
            let conv = Conv2d(weight: wt, bias: b, stride: c.s, padding: c.p, dilation: c.d)
            let (ho, wo) = conv.outputSize(c.h, c.w)
            var ref = [Double](repeating: 0, count: c.cout * ho * wo)
            for co in 0..<c.cout { for oy in 0..<ho { for ox in 0..<wo {
                var s = Double(b.data[co])
                for ci in 0..<c.cin { for a in 0..<c.kh { for bb in 0..<c.kw {
                    let iy = oy * c.s.0 + a * c.d.0 - c.p.0, ix = ox * c.s.1 + bb * c.d.1 - c.p.1
                    if iy >= 0 && iy < c.h && ix >= 0 && ix < c.w {
                        s += Double(x.data[(ci * c.h + iy) * c.w + ix]) * Double(wt.data[((co * c.cin + ci) * c.kh + a) * c.kw + bb])
                    }
                } } }
                ref[(co * ho + oy) * wo + ox] = s
            } } }
            let got = conv(x)
            XCTAssertEqual(got.shape, [c.cout, ho, wo])
            XCTAssertLessThan(relativeL2(got.data, ref.map(Float.init)), 1e-5, "conv2d \(n)")

            // Transposed: (cout → cin) with weight (cout, cin, kh, kw) applied to an output-sized input.
            let tw = Tensor.random([c.cout, c.cin, c.kh, c.kw], seed: UInt64(30 + n))
            let tconv = ConvTranspose2d(weight: tw, bias: nil, stride: c.s, padding: c.p, dilation: c.d)
            let y = Tensor.random([c.cout, ho, wo], seed: UInt64(40 + n))
            let (th, tww) = tconv.outputSize(ho, wo)
            var tref = [Double](repeating: 0, count: c.cin * th * tww)
            for co in 0..<c.cout { for iy in 0..<ho { for ix in 0..<wo { for ci in 0..<c.cin { for a in 0..<c.kh { for bb in 0..<c.kw {
                let oy = iy * c.s.0 + a * c.d.0 - c.p.0, ox = ix * c.s.1 + bb * c.d.1 - c.p.1
                if oy >= 0 && oy < th && ox >= 0 && ox < tww {
                    tref[(ci * th + oy) * tww + ox] += Double(y.data[(co * ho + iy) * wo + ix]) * Double(tw.data[((co * c.cin + ci) * c.kh + a) * c.kw + bb])
                }
            } } } } } }
            let tgot = tconv(y)
            XCTAssertEqual(tgot.shape, [c.cin, th, tww])
            XCTAssertLessThan(relativeL2(tgot.data, tref.map(Float.init)), 1e-5, "convT2d \(n)")
        }
    }

    func testLinearAndEmbedding() {
        let x = Tensor.random([2, 3, 7], seed: 1)
        let w = Tensor.random([5, 7], seed: 2), b = Tensor.random([5], seed: 3)
        let y = Linear(weight: w, bias: b)(x)
        XCTAssertEqual(y.shape, [2, 3, 5])
        for r in 0..<6 { for o in 0..<5 {
            var s = Double(b.data[o])
            for i in 0..<7 { s += Double(x.data[r * 7 + i]) * Double(w.data[o * 7 + i]) }
            XCTAssertEqual(Double(y.data[r * 5 + o]), s, accuracy: 1e-5)
        } }
        let table = Tensor.random([10, 4], seed: 4)
        let e = Embedding(table: table)([3, 0, 9, 3])
        XCTAssertEqual(Array(e.data[0..<4]), Array(table.data[12..<16]))
        XCTAssertEqual(Array(e.data[8..<12]), Array(table.data[36..<40]))
    }

    func testLayerNorm() {
        let x = Tensor.random([3, 13], seed: 5, scale: 3)
        let w = Tensor.random([13], seed: 6), b = Tensor.random([13], seed: 7)
        let y = LayerNorm(dim: 13, weight: w, bias: b, eps: 1e-5)(x)
        for r in 0..<3 {
            let row = x.data[(r * 13)..<(r * 13 + 13)].map(Double.init)
            let m = row.reduce(0, +) / 13
            let v = row.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 13
            for j in 0..<13 {
                let ref = (row[j] - m) / (v + 1e-5).squareRoot() * Double(w.data[j]) + Double(b.data[j])
                XCTAssertEqual(Double(y.data[r * 13 + j]), ref, accuracy: 1e-5)
            }
        }
    }

    func testActivationsAgainstLibm() {
        var rng = SplitMix64(seed: 9)
        // Odd count: exercises the padded tail; wide range: exercises both tanh branches and exp clamping.
        let xs = (0..<1001).map { _ in Float(rng.uniform() * 24 - 12) } + [0, -0, 1e-6, -1e-6, 0.6249, 0.6251, 88, -100, 30, -30]
        func check(_ f: (UnsafeMutablePointer<Float>, Int) -> Void, _ ref: (Double) -> Double, relTol: Double, absTol: Double, _ name: String) {
            var y = xs
            y.withUnsafeMutableBufferPointer { f($0.baseAddress!, $0.count) }
            for (x, v) in zip(xs, y) {
                let r = ref(Double(x))
                XCTAssertLessThanOrEqual(abs(Double(v) - r), max(absTol, relTol * abs(r)), "\(name)(\(x)) = \(v), expected \(r)")
            }
        }
        check({ p, n in Activation.exp(p, n) }, { x in x > 88.3 ? Foundation.exp(88.3) : (x < -87.3 ? 0 : Foundation.exp(x)) }, relTol: 1e-6, absTol: 1e-37, "exp")
        check({ p, n in Activation.tanh(p, n) }, { Foundation.tanh($0) }, relTol: 2e-6, absTol: 1e-7, "tanh")
        check({ p, n in Activation.geluErf(p, n) }, { x in 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot())) }, relTol: 1e-5, absTol: 5e-7, "gelu")
        check({ p, n in Activation.geluTanh(p, n) }, { x in 0.5 * x * (1 + Foundation.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))) }, relTol: 1e-5, absTol: 2e-7, "gelu_tanh")
        check({ p, n in Activation.leakyReLU(p, n, slope: 0.1) }, { $0 < 0 ? 0.1 * $0 : $0 }, relTol: 1e-7, absTol: 0, "leaky_relu")
        var e = xs
        e.withUnsafeMutableBufferPointer { VectorMath.apply($0.baseAddress!, $0.count, VectorMath.erf) }
        for (x, v) in zip(xs, e) { XCTAssertEqual(Double(v), Foundation.erf(Double(x)), accuracy: 4e-7) }
    }

    func testSoftmaxRows() {
        var x: [Float] = [1, 2, 3, 1000, 1000, 1000, -.infinity, 0, -.infinity]
        x.withUnsafeMutableBufferPointer { Activation.softmaxRows($0.baseAddress!, rows: 3, cols: 3) }
        let e = [1.0, 2.0, 3.0].map { Foundation.exp($0) }, s = e.reduce(0, +)
        for j in 0..<3 { XCTAssertEqual(Double(x[j]), e[j] / s, accuracy: 1e-6) }
        for j in 3..<6 { XCTAssertEqual(x[j], 1.0 / 3, accuracy: 1e-6) }
        XCTAssertEqual(Array(x[6..<9]), [0, 1, 0])
        // Rows longer than a vector, with a tail, and a fully masked row (all zero).
        let cols = 19
        var y = (0..<(2 * cols)).map { Float(sin(Double($0) * 1.7) * 4) } + [Float](repeating: -.infinity, count: cols)
        let before = y
        y.withUnsafeMutableBufferPointer { Activation.softmaxRows($0.baseAddress!, rows: 3, cols: cols) }
        for r in 0..<2 {
            let row = before[(r * cols)..<((r + 1) * cols)].map { Foundation.exp(Double($0)) }, s = row.reduce(0, +)
            for j in 0..<cols { XCTAssertEqual(Double(y[r * cols + j]), row[j] / s, accuracy: 1e-6, "row \(r), column \(j)") }
        }
        XCTAssertEqual(Array(y[(2 * cols)...]), [Float](repeating: 0, count: cols))
    }

    func testMultiHeadAttentionMatchesNaive() {
        for (b, l, d, h) in [(2, 5, 8, 2), (1, 7, 12, 3), (3, 1, 4, 4), (2, 9, 16, 8)] {
            let x = Tensor.random([b, l, d], seed: UInt64(l * d))
            let win = Tensor.random([3 * d, d], seed: 1, scale: 0.3), bin = Tensor.random([3 * d], seed: 2, scale: 0.1)
            let wout = Tensor.random([d, d], seed: 3, scale: 0.3), bout = Tensor.random([d], seed: 4, scale: 0.1)
            let mha = MultiHeadSelfAttention(inProjection: Linear(weight: win, bias: bin), outProjection: Linear(weight: wout, bias: bout), heads: h)
            var mask: [[Bool]] = (0..<b).map { _ in [Bool](repeating: true, count: l) }
            if l > 2 { mask[0][l - 1] = false }
            for useMask in [false, true] {
                let got = mha(x, keyMask: useMask ? mask : nil)
                // Naive reference in Double.
                let qkv = Linear(weight: win, bias: bin)(x)
                let dh = d / h
                var ctx = [Double](repeating: 0, count: b * l * d)
                for bi in 0..<b { for hh in 0..<h { for i in 0..<l {
                    var sc = [Double](repeating: 0, count: l)
                    for j in 0..<l {
                        var s = 0.0
                        for c in 0..<dh { s += Double(qkv.data[(bi * l + i) * 3 * d + hh * dh + c]) * Double(qkv.data[(bi * l + j) * 3 * d + d + hh * dh + c]) }
                        sc[j] = useMask && !mask[bi][j] ? -.infinity : s / Double(dh).squareRoot()
                    }
                    let m = sc.max()!, ex = sc.map { Foundation.exp($0 - m) }, z = ex.reduce(0, +)
                    for c in 0..<dh {
                        var s = 0.0
                        for j in 0..<l { s += ex[j] / z * Double(qkv.data[(bi * l + j) * 3 * d + 2 * d + hh * dh + c]) }
                        ctx[(bi * l + i) * d + hh * dh + c] = s
                    }
                } } }
                let ref = Linear(weight: wout, bias: bout)(Tensor(shape: [b, l, d], data: ctx.map(Float.init)))
                XCTAssertEqual(got.shape, [b, l, d])
                XCTAssertLessThan(relativeL2(got.data, ref.data), 1e-5, "b\(b) l\(l) d\(d) h\(h) mask \(useMask)")
            }
        }
    }
}
