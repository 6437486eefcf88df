import Foundation

/// Slaney-style mel scale and area-normalised triangular filterbank,
/// the same definition as librosa.filters.mel(htk=False, norm="slaney").
public enum MelScale {
    static let fSp = 200.0 / 3
    static let minLogHz = 1000.0
    static let minLogMel = 15.0   // minLogHz / fSp
    static let logStep = log(6.4) / 27

    public static func hzToMel(_ f: Double) -> Double {
        f >= minLogHz ? minLogMel + log(f / minLogHz) / logStep : f / fSp
    }

    public static func melToHz(_ m: Double) -> Double {
        m >= minLogMel ? minLogHz * exp(logStep * (m - minLogMel)) : fSp * m
    }

    /// The frequencies (Hz) where mel band `b`'s triangle starts and ends.
    public static func binEdges(_ b: Int, config: MelConfig) -> (low: Double, high: Double) {
        let lo = hzToMel(config.fMin), hi = hzToMel(config.fMax), points = Double(config.melCount + 1)
        return (melToHz(lo + (hi - lo) * Double(b) / points), melToHz(lo + (hi - lo) * Double(b + 2) / points))
    }

    /// Row-major `[mel][bin]`, `melCount × (nFFT/2 + 1)`.
    public static func filterbank(sampleRate: Double, nFFT: Int, melCount: Int, fMin: Double, fMax: Double) -> [Float] {
        let bins = nFFT / 2 + 1
        let fftFreqs = (0..<bins).map { Double($0) * sampleRate / Double(nFFT) }
        let lo = hzToMel(fMin), hi = hzToMel(fMax)
        let melF = (0..<(melCount + 2)).map { melToHz(lo + (hi - lo) * Double($0) / Double(melCount + 1)) }
        var weights = [Float](repeating: 0, count: melCount * bins)
        for i in 0..<melCount {
            let dLow = melF[i + 1] - melF[i], dHigh = melF[i + 2] - melF[i + 1]
            let enorm = 2.0 / (melF[i + 2] - melF[i])
            for b in 0..<bins {
                let lower = (fftFreqs[b] - melF[i]) / dLow
                let upper = (melF[i + 2] - fftFreqs[b]) / dHigh
                weights[i * bins + b] = Float(max(0, min(lower, upper)) * enorm)
            }
        }
        return weights
    }
}
