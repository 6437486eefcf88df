import Foundation

/// MFCC features, the tagging baseline of engine.md §4: 20 coefficients (DCT-II, orthonormal,
/// of the front end's log-mel) plus their deltas (±2-frame regression, edges repeated); a
/// clip is summarised by the mean and standard deviation over time (2 × 40 values).
public enum MFCC {
    public static let coefficients = 20

    /// Per frame: 20 MFCCs then 20 deltas (frames × 40, row-major).
    public static func frames(_ signal: [Float], frontEnd: MelFrontEnd = MelFrontEnd()) -> (values: [Float], frames: Int) {
        let mel = frontEnd.logMel(signal)
        let m = mel.melCount, t = mel.frames, n = coefficients
        var dct = [Float](repeating: 0, count: n * m)
        for k in 0..<n {
            let scale = k == 0 ? (1 / Double(m)).squareRoot() : (2 / Double(m)).squareRoot()
            for i in 0..<m { dct[k * m + i] = Float(scale * cos(Double.pi * Double(k) * (2 * Double(i) + 1) / (2 * Double(m)))) }
        }
        var c = [Float](repeating: 0, count: t * n)
        for f in 0..<t {
            for k in 0..<n {
                var s: Float = 0
                for i in 0..<m { s += dct[k * m + i] * mel.values[i * t + f] }
                c[f * n + k] = s
            }
        }
        var out = [Float](repeating: 0, count: t * 2 * n)
        for f in 0..<t {
            for k in 0..<n {
                func at(_ g: Int) -> Float { c[min(t - 1, max(0, g)) * n + k] }
                let delta = (1 * (at(f + 1) - at(f - 1)) + 2 * (at(f + 2) - at(f - 2))) / 10
                out[f * 2 * n + k] = c[f * n + k]
                out[f * 2 * n + n + k] = delta
            }
        }
        return (out, t)
    }

    /// Mean then standard deviation over frames of the 40 per-frame values (2 × 40 values).
    public static func summary(_ signal: [Float], frontEnd: MelFrontEnd = MelFrontEnd()) -> [Float] {
        let (v, t) = frames(signal, frontEnd: frontEnd)
        let w = 2 * coefficients
        var mean = [Double](repeating: 0, count: w), sq = [Double](repeating: 0, count: w)
        for f in 0..<t { for j in 0..<w { let x = Double(v[f * w + j]); mean[j] += x; sq[j] += x * x } }
        let n = Double(max(t, 1))
        return (0..<w).map { Float(mean[$0] / n) } + (0..<w).map { Float(max(0, sq[$0] / n - (mean[$0] / n) * (mean[$0] / n)).squareRoot()) }
    }
}
