import Foundation

/// Joins the band below a cutoff of one signal with the band above it of another, in the
/// STFT domain (weighted overlap-add, Hann, 75% overlap): low-frequency replacement for
/// bandwidth extension (engine.md §3), where the input's own band is put back under the
/// generated one. Bins up to the cutoff come from `low` unchanged; a raised-cosine
/// crossover of `transition` Hz above the cutoff hands over to `high`.
public enum BandSplice {
    public static func fftSize(rate: Double) -> Int {
        var n = 256
        while Double(n) < rate * 0.046 { n *= 2 }   // ≈ 46 ms: 2048 at 44.1 kHz
        return n
    }

    public static func join(low: [Float], high: [Float], cutoff: Double, rate: Double, transition: Double = 300) -> [Float] {
        precondition(low.count == high.count)
        let n = low.count
        if n == 0 { return [] }
        let nfft = fftSize(rate: rate)
        guard n > nfft else {
            // Too short for a frame: fall back to the low band alone.
            return low
        }
        let stft = STFT(nFFT: nfft, hop: nfft / 4)
        var a = stft.forward(low)
        let b = stft.forward(high)
        let binHz = rate / Double(nfft)
        var weight = [Float](repeating: 0, count: stft.bins)   // weight of `high`
        for k in 0..<stft.bins {
            let f = Double(k) * binHz
            if f <= cutoff { weight[k] = 0 } else if f >= cutoff + transition { weight[k] = 1 } else {
                weight[k] = Float(0.5 - 0.5 * cos(Double.pi * (f - cutoff) / transition))
            }
        }
        for t in 0..<a.frames {
            for k in 0..<stft.bins where weight[k] > 0 {
                let i = (t * stft.bins + k) * 2, w = weight[k]
                a.data[i] = (1 - w) * a.data[i] + w * b.data[i]
                a.data[i + 1] = (1 - w) * a.data[i + 1] + w * b.data[i + 1]
            }
        }
        return stft.inverse(a, length: n)
    }
}
