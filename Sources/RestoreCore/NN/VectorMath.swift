import CKernels

/// Vectorised transcendental functions over SIMD8<Float>. libm's expf/tanhf/erff cost
/// ~20 ns per element and Swift will not vectorise them; these run 8 lanes at a time.
/// exp: Cephes-style range reduction and degree-6 polynomial (rel. error < 2e-7).
/// tanh: Cephes odd polynomial below 0.625, 1 − 2/(e^{2|x|}+1) above.
/// erf: Abramowitz & Stegun 7.1.26 (abs. error < 1.5e-7 in exact arithmetic, < 4e-7 in float32).
public enum VectorMath {
    public typealias V = SIMD8<Float>

    /// |x| by clearing the sign bits.
    @inline(__always)
    public static func magnitude(_ x: V) -> V {
        unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7fff_ffff, to: V.self)
    }

    @inline(__always)
    public static func exp(_ x0: V) -> V {
        // Clamp by compare-and-blend: SIMD `clamped`/`pointwiseMin` are not inlined here and
        // cost ~6% of the transformer's time as calls.
        var x = x0
        x.replace(with: V(repeating: -87.3), where: x .< -87.3)
        x.replace(with: V(repeating: 88.3), where: x .> 88.3)
        // Round to nearest by adding 1.5·2²³ (the float add does the rounding): Swift's SIMD
        // rounded()/Int32(rounding:) are not lowered to vector instructions and cost ~40% of
        // the transformer's time. The integer n is then read from the sum's low bits.
        let magic = V(repeating: 12_582_912)
        let shifted = x * 1.44269504088896341 + magic
        let n = shifted - magic
        var r = x - n * 0.693359375
        r = r + n * 2.12194440e-4
        var p = V(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        p = p * (r * r) + r + 1
        let bits = (unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        var y = p * unsafeBitCast(bits, to: V.self)
        // Below the float range (and −∞, as in masked attention) the answer is exactly 0.
        y.replace(with: 0, where: x0 .< -87.3)
        return y
    }

    @inline(__always)
    public static func tanh(_ x: V) -> V {
        let a = magnitude(x)
        // Large |x|: 1 − 2/(e^{2|x|} + 1), sign restored.
        let e = exp(2 * a)
        var big = 1 - 2 / (e + 1)
        big.replace(with: -big, where: x .< 0)
        // Small |x|: x + x³·P(x²) keeps full relative precision near 0.
        let z = x * x
        var p = V(repeating: -5.70498872745e-3)
        p = p * z + 2.06390887954e-2
        p = p * z - 5.37397155531e-2
        p = p * z + 1.33314422036e-1
        p = p * z - 3.33332819422e-1
        let small = x + x * z * p
        var out = big
        out.replace(with: small, where: a .< 0.625)
        return out
    }

    @inline(__always)
    public static func erf(_ x: V) -> V {
        let a = magnitude(x)
        let t = 1 / (1 + 0.3275911 * a)
        var p = V(repeating: 1.061405429)
        p = p * t - 1.453152027
        p = p * t + 1.421413741
        p = p * t - 0.284496736
        p = p * t + 0.254829592
        var y = 1 - p * t * exp(-a * a)
        y.replace(with: -y, where: x .< 0)
        return y
    }

    @inline(__always)
    public static func sigmoid(_ x: V) -> V { 1 / (1 + exp(-x)) }

    /// Applies `f` over `count` floats in place, 8 at a time, the tail through a padded vector.
    @inline(__always)
    public static func apply(_ p: UnsafeMutablePointer<Float>, _ count: Int, _ f: (V) -> V) {
        let raw = UnsafeMutableRawPointer(p)
        var i = 0
        while i + 8 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: V.self)
            raw.storeBytes(of: f(v), toByteOffset: i * 4, as: V.self)
            i += 8
        }
        if i < count {
            var v = V()
            for k in 0..<(count - i) { v[k] = p[i + k] }
            let r = f(v)
            for k in 0..<(count - i) { p[i + k] = r[k] }
        }
    }
}

/// Element-wise activations over whole buffers.
public enum Activation {
    public static func exp(_ p: UnsafeMutablePointer<Float>, _ n: Int) { VectorMath.apply(p, n, VectorMath.exp) }
    public static func tanh(_ p: UnsafeMutablePointer<Float>, _ n: Int) { VectorMath.apply(p, n, VectorMath.tanh) }

    public static func leakyReLU(_ p: UnsafeMutablePointer<Float>, _ n: Int, slope: Float) {
        VectorMath.apply(p, n) { v in
            var out = v
            out.replace(with: v * slope, where: v .< 0)
            return out
        }
    }

    /// A new tensor holding leakyReLU(x): one pass instead of a copy and an in-place pass.
    public static func leakyReLUCopy(_ x: Tensor, slope: Float) -> Tensor {
        let out = [Float](unsafeUninitializedCapacity: x.count) { buf, n in
            x.data.withUnsafeBufferPointer { src in
                let s = UnsafeRawPointer(src.baseAddress!), d = UnsafeMutableRawPointer(buf.baseAddress!)
                var i = 0
                while i + 8 <= x.count {
                    let v = s.loadUnaligned(fromByteOffset: i * 4, as: VectorMath.V.self)
                    var r = v
                    r.replace(with: v * slope, where: v .< 0)
                    d.storeBytes(of: r, toByteOffset: i * 4, as: VectorMath.V.self)
                    i += 8
                }
                while i < x.count { let v = src[i]; buf[i] = v < 0 ? v * slope : v; i += 1 }
            }
            n = x.count
        }
        return Tensor(shape: x.shape, data: out)
    }

    /// GELU, exact form: x·Φ(x) = 0.5·x·(1 + erf(x/√2)).
    /// The same formula in C, compiled for AVX2 and AVX-512 (Swift's SIMD8 is lowered to
    /// SSE here; this was 14% of the sampler's time).
    public static func geluErf(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        rk_gelu_erf(p, n)
    }

    /// GELU, tanh form: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    public static func geluTanh(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        VectorMath.apply(p, n) { x in 0.5 * x * (1 + VectorMath.tanh(0.79788456080286536 * (x + 0.044715 * x * x * x))) }
    }

    /// Softmax over each contiguous row of length `cols`, max-subtracted for stability.
    /// Max, exp-and-sum and scaling run 8 lanes at a time (the scalar loops were ~12% of the
    /// transformer's time).
    public static func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        // The C kernel (AVX2/AVX-512, same exp): 12% of the sampler's time in Swift.
        rk_softmax_rows(p, Int32(rows), Int32(cols))
    }

    /// The Swift version of `softmaxRows` (SIMD8), kept as the reference in tests.
    public static func softmaxRowsSwift(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        typealias V = VectorMath.V
        let full = cols & ~7
        for r in 0..<rows {
            let row = p + r * cols, raw = UnsafeMutableRawPointer(row)
            var mv = V(repeating: -.infinity)
            var j = 0
            while j < full {
                let v = raw.loadUnaligned(fromByteOffset: j * 4, as: V.self)
                mv.replace(with: v, where: v .> mv)
                j += 8
            }
            var m = mv.max()
            while j < cols { m = Swift.max(m, row[j]); j += 1 }
            if m == -.infinity { m = 0 }   // an all-masked row stays finite (all zero)
            var sv = V(repeating: 0)
            j = 0
            while j < full {
                let e = VectorMath.exp(raw.loadUnaligned(fromByteOffset: j * 4, as: V.self) - m)
                raw.storeBytes(of: e, toByteOffset: j * 4, as: V.self)
                sv += e
                j += 8
            }
            if j < cols {
                var v = V(repeating: -.infinity)
                for k in 0..<(cols - j) { v[k] = row[j + k] - m }
                let e = VectorMath.exp(v)
                for k in 0..<(cols - j) { row[j + k] = e[k] }
                sv += e   // lanes past the row are exp(−∞) = 0
            }
            let s = sv.sum()
            let inv = s > 0 ? 1 / s : 0
            j = 0
            while j < full {
                raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: j * 4, as: V.self) * inv, toByteOffset: j * 4, as: V.self)
                j += 8
            }
            while j < cols { row[j] *= inv; j += 1 }
        }
    }
}
