import Foundation

/// Linear-phase FIR filters (windowed sinc, Blackman window), applied with zero delay.
public struct FIRFilter: Sendable {
    public let taps: [Float]

    /// Low-pass with its −6 dB point at `cutoff` Hz. Odd tap count keeps the delay integral.
    /// Blackman: ~74 dB stop band, transition ≈ 5.5·rate/taps.
    public static func lowPass(cutoff: Double, sampleRate: Double, taps n: Int = 1023) -> FIRFilter {
        precondition(n % 2 == 1, "odd tap count")
        let fc = cutoff / sampleRate
        let m = Double(n - 1)
        var h = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let x = Double(i) - m / 2
            let sinc = x == 0 ? 2 * fc : sin(2 * Double.pi * fc * x) / (Double.pi * x)
            let w = 0.42 - 0.5 * cos(2 * Double.pi * Double(i) / m) + 0.08 * cos(4 * Double.pi * Double(i) / m)
            h[i] = sinc * w
        }
        let sum = h.reduce(0, +)
        return FIRFilter(taps: h.map { Float($0 / sum) })
    }

    /// Filters `x`, compensating the (taps−1)/2 delay; the output has `x.count` samples.
    public func apply(_ x: [Float]) -> [Float] {
        let n = taps.count, half = n / 2, len = x.count
        var y = [Float](repeating: 0, count: len)
        // Zero-extended copy so the inner loop needs no bounds tests.
        var ext = [Float](repeating: 0, count: len + n)
        ext.replaceSubrange(half..<(half + len), with: x)
        let rev = Array(taps.reversed())
        ext.withUnsafeBufferPointer { e in
            rev.withUnsafeBufferPointer { h in
                y.withUnsafeMutableBufferPointer { out in
                    for i in 0..<len {
                        out[i] = dot(e.baseAddress! + i, h.baseAddress!, n)
                    }
                }
            }
        }
        return y
    }
}

/// Dot product with explicit SIMD accumulators (Swift does not vectorise float reductions).
@inline(__always)
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    while i + 16 <= n {
        acc0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        acc1 += ra.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self)
            * rb.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self)
        i += 16
    }
    var s = (acc0 + acc1).sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}
