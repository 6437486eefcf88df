import Foundation

/// Puts generated audio into time–frequency boxes of the original (spectral repair): in the
/// STFT domain (Hann, 75 % overlap, ≈46 ms frames), the generated spectrum inside each box
/// and the original's outside, with raised-cosine edges of `ramp` seconds in time and a sixth
/// of an octave in frequency. Outside the boxes' time spans (plus ramps and one frame) the
/// original is copied sample for sample.
public enum BoxSplice {
    public typealias Box = (span: TimeSpan, band: ClosedRange<Double>?)

    /// `offset`: the time (s) of the buffers' first sample in the file the boxes refer to.
    public static func join(original: AudioBuffer, generated: AudioBuffer, boxes: [Box], offset: Double, ramp: Double) -> AudioBuffer {
        precondition(original.frameCount == generated.frameCount && original.channelCount == generated.channelCount)
        let rate = original.sampleRate, n = original.frameCount
        let nfft = BandSplice.fftSize(rate: rate)
        guard n > nfft else { return original }
        let stft = STFT(nFFT: nfft, hop: nfft / 4)
        let frames = stft.frameCount(samples: n)
        let binHz = rate / Double(nfft)
        let octaveSixth = pow(2.0, 1.0 / 6)
        // Weight of the generated spectrum per (frame, bin).
        var weight = [Float](repeating: 0, count: frames * stft.bins)
        func rampUp(_ d: Double, _ width: Double) -> Double { d >= width ? 1 : d <= 0 ? 0 : 0.5 - 0.5 * cos(Double.pi * d / width) }
        for box in boxes {
            let inBand: [Double] = (0..<stft.bins).map { k in
                guard let band = box.band else { return 1 }
                let f = max(Double(k) * binHz, 1)
                if band.contains(f) { return 1 }
                let distance = f < band.lowerBound ? log(band.lowerBound / f) : log(f / band.upperBound)
                return 1 - rampUp(distance, log(octaveSixth))
            }
            for t in 0..<frames {
                let centre = offset + Double(t * stft.hop + nfft / 2 - stft.padding) / rate
                let outside = max(box.span.start - centre, centre - box.span.end, 0)
                let w = 1 - rampUp(outside, ramp)
                guard w > 0 else { continue }
                for k in 0..<stft.bins { weight[t * stft.bins + k] = max(weight[t * stft.bins + k], Float(w * inBand[k])) }
            }
        }
        // Samples whose frames all have zero weight are copied exactly.
        let reach = ramp + Double(nfft) / rate
        var out = original
        for ch in 0..<original.channelCount {
            var a = stft.forward(original.channels[ch])
            let b = stft.forward(generated.channels[ch])
            for i in 0..<weight.count where weight[i] > 0 {
                let w = weight[i]
                a.data[2 * i] = (1 - w) * a.data[2 * i] + w * b.data[2 * i]
                a.data[2 * i + 1] = (1 - w) * a.data[2 * i + 1] + w * b.data[2 * i + 1]
            }
            let mixed = stft.inverse(a, length: n)
            for box in boxes {
                let lo = max(0, Int(((box.span.start - reach - offset) * rate).rounded(.down)))
                let hi = min(n, Int(((box.span.end + reach - offset) * rate).rounded(.up)))
                if lo < hi { for i in lo..<hi { out.channels[ch][i] = mixed[i] } }
            }
        }
        return out
    }
}
