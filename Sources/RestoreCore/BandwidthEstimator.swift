import Foundation

/// Estimates the effective bandwidth of a recording: the highest frequency where
/// its long-term spectrum stays above the noise floor. Used by `bwe --cutoff auto`
/// and reported by `restore info`.
public struct BandwidthEstimate: Sendable, Equatable, Codable {
    /// Estimated upper band edge in Hz.
    public var cutoff: Double
    /// Half the sample rate.
    public var nyquist: Double
    /// True when no drop to a noise floor was found below Nyquist.
    public var isFullBand: Bool
}

public enum BandwidthEstimator {
    /// Spectral resolution of the long-term spectrum, about 10 Hz per bin.
    static func fftSize(for rate: Double) -> Int {
        var n = 256
        while Double(n) < rate / 10 { n *= 2 }
        return n
    }

    /// Long-term power spectrum in dB (all channels summed), `nFFT/2+1` bins.
    /// Blackman–Harris window: its −92 dB side lobes keep a steep edge steep.
    public static func longTermSpectrum(_ buffer: AudioBuffer, nFFT: Int, maxFrames: Int = 4000) -> [Double] {
        var acc = LongTermSpectrum(nFFT: nFFT, channels: buffer.channelCount, totalFrames: buffer.frameCount, maxFrames: maxFrames)
        acc.add(buffer)
        return acc.finish()
    }

    public static func estimate(_ buffer: AudioBuffer) -> BandwidthEstimate {
        var acc = LongTermSpectrum(rate: buffer.sampleRate, channels: buffer.channelCount, totalFrames: buffer.frameCount)
        acc.add(buffer)
        return estimate(spectrum: acc.finish(), rate: buffer.sampleRate)
    }

    /// The band edge from a long-term spectrum (`LongTermSpectrum` at `fftSize(for: rate)`).
    public static func estimate(spectrum raw: [Double], rate: Double) -> BandwidthEstimate {
        let nyquist = rate / 2
        let nFFT = fftSize(for: rate)
        let binHz = rate / Double(nFFT)
        let bins = raw.count
        // Smooth ±50 Hz so single noisy bins do not decide the edge.
        let k = max(1, Int((50 / binHz).rounded(.up)))
        var level = [Double](repeating: 0, count: bins)
        for b in 0..<bins {
            let lo = max(0, b - k), hi = min(bins - 1, b + k)
            var s = 0.0
            for j in lo...hi { s += raw[j] }
            level[b] = s / Double(hi - lo + 1)
        }
        // Ignore DC and sub-bass (hum, offsets) and the bin at Nyquist.
        let first = max(1, Int(100 / binHz))
        let usable = Array(level[first..<(bins - 1)]).sorted()
        guard usable.count > 8 else { return BandwidthEstimate(cutoff: nyquist, nyquist: nyquist, isFullBand: true) }
        let floorLevel = usable[usable.count * 5 / 100]
        let reference = usable[usable.count * 90 / 100]
        if reference - floorLevel < 15 {
            return BandwidthEstimate(cutoff: nyquist, nyquist: nyquist, isFullBand: true)
        }
        let threshold = max(floorLevel + 12, reference - 80)
        var top = bins - 2
        while top > first && level[top] <= threshold { top -= 1 }
        // Refine to the edge: the last bin within 10 dB of the band just below it.
        let below = max(first, top - Int(600 / binHz)), above = max(first, top - Int(300 / binHz))
        var edge = top
        if above > below {
            let local = Array(level[below..<above]).sorted()[(above - below) / 2]
            while edge > first && level[edge] < local - 10 { edge -= 1 }
        }
        let cutoff = min(nyquist, Double(edge) * binHz)
        let fullBand = cutoff >= nyquist * 0.97
        return BandwidthEstimate(cutoff: fullBand ? nyquist : cutoff, nyquist: nyquist, isFullBand: fullBand)
    }
}

/// The long-term power spectrum of a stream, block by block: Blackman–Harris frames every
/// nFFT/2 samples, at most `maxFrames` of them per channel spread evenly over the whole
/// length (so the length must be known: a file's declared frames), averaged in dB.
public struct LongTermSpectrum {
    public let nFFT: Int
    let hop: Int, step: Int, available: Int, totalFrames: Int, maxFrames: Int
    let window: [Float]
    var power: [Double]
    var count = 0
    /// Per channel, the samples from `bufferStart` on.
    var buffer: [[Float]]
    var bufferStart = 0
    /// Next frame index (a multiple of `step`) to take.
    var next = 0

    public init(rate: Double, channels: Int, totalFrames: Int) {
        self.init(nFFT: BandwidthEstimator.fftSize(for: rate), channels: channels, totalFrames: totalFrames)
    }

    public init(nFFT: Int, channels: Int, totalFrames: Int, maxFrames: Int = 4000) {
        self.nFFT = nFFT
        hop = nFFT / 2
        self.totalFrames = totalFrames
        self.maxFrames = maxFrames
        if totalFrames > 0 {
            available = totalFrames >= nFFT ? 1 + (totalFrames - nFFT) / hop : 1
            // Long files: an even spread of frames is as good as all of them.
            step = max(1, (available + maxFrames - 1) / maxFrames)
        } else {
            // Length unknown (a stream without a frame count): the first maxFrames frames.
            available = .max
            step = 1
        }
        window = (0..<nFFT).map { i in
            let x = 2 * Double.pi * Double(i) / Double(nFFT)
            return Float(0.35875 - 0.48829 * cos(x) + 0.14128 * cos(2 * x) - 0.01168 * cos(3 * x))
        }
        power = [Double](repeating: 0, count: nFFT / 2 + 1)
        buffer = [[Float]](repeating: [], count: channels)
    }

    /// All frames taken: later samples are not kept.
    var done: Bool { next >= available || next / step >= maxFrames }

    public mutating func add(_ block: AudioBuffer) {
        guard !done else { return }
        for c in buffer.indices { buffer[c] += block.channels[c] }
        take(final: false)
    }

    /// The spectrum in dB, after the last block.
    public mutating func finish() -> [Double] {
        take(final: true)
        return power.map { 10 * log10($0 / Double(Swift.max(count, 1)) + 1e-30) }
    }

    /// Frames whose samples are all here.
    mutating func take(final: Bool) {
        let fft = RealFFT.plan(size: nFFT)
        let ws = fft.makeWorkspace()
        let end = bufferStart + (buffer.first?.count ?? 0)
        while !done {
            let base = next * hop
            // Whole frames only; a signal shorter than one frame gives one zero-padded frame.
            // (So a header that promised more than came adds no frames of silence.)
            guard base + nFFT <= end || (final && count == 0) else { break }
            for ch in buffer {
                for i in 0..<nFFT {
                    let t = base + i - bufferStart
                    ws.real[i] = t < ch.count ? ch[t] * window[i] : 0
                }
                fft.forward(ws)
                let c = ws.complexFloats
                for b in 0..<power.count {
                    let re = Double(c[2 * b]), im = Double(c[2 * b + 1])
                    power[b] += re * re + im * im
                }
                count += 1
            }
            next += step
        }
        // Nothing before the next frame is needed again (nothing at all once done).
        let keep = done ? end : Swift.min(next * hop, end)
        if keep > bufferStart {
            for c in buffer.indices { buffer[c].removeFirst(keep - bufferStart) }
            bufferStart = keep
        }
    }
}
