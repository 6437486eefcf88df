import Foundation

/// The mean-square level of one frequency band of a file, in dB relative to full scale
/// (a full-scale sine in the band reads −3 dB; silence −∞), averaged over channels. It is what `bwe`
/// reports as the new band's level, so that a user can compare it with the band below.
public enum BandLevel {
    /// Streams `path` (an even spread of at most 4,000 frames of ~10 Hz resolution, the
    /// bandwidth estimator's long-term spectrum) once and sums its power over each band (Hz).
    /// Throws `RestoreError` for an unreadable file.
    public static func dBFS(path: String, bands: [ClosedRange<Double>]) throws -> [Double] {
        let reader = try AudioFileReader(path: path)
        let info = reader.info
        var spectrum = LongTermSpectrum(rate: info.sampleRate, channels: info.channelCount, totalFrames: max(0, info.declaredFrames))
        while let block = try reader.read(maxFrames: 65536) { spectrum.add(block) }
        let db = spectrum.finish()
        return bands.map { level(spectrumDB: db, window: spectrum.window, rate: info.sampleRate, band: $0) }
    }

    /// The band's mean-square level from a one-sided power spectrum in dB (per frame, as
    /// `LongTermSpectrum.finish()` gives it) taken with `window`: by Parseval, a signal's
    /// mean square is 2·Σ|X_k|² / (N·Σw²) over the positive-frequency bins.
    public static func level(spectrumDB: [Double], window: [Float], rate: Double, band: ClosedRange<Double>) -> Double {
        let n = window.count
        let energy = window.reduce(0.0) { $0 + Double($1) * Double($1) }
        let binHz = rate / Double(n)
        let first = max(0, Int((band.lowerBound / binHz).rounded(.up)))
        let last = min(spectrumDB.count - 1, Int((band.upperBound / binHz).rounded(.down)))
        guard first <= last, energy > 0 else { return -.infinity }
        var sum = 0.0
        // `finish()` adds 1e-30 to every bin before its log; silence stays −∞.
        for k in first...last { sum += max(0, pow(10, spectrumDB[k] / 10) - 1e-30) }
        return 10 * log10(2 * sum / (Double(n) * energy))
    }
}
