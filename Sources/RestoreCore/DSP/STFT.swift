import Foundation

/// Short-time Fourier transform with a periodic Hann window, and its inverse.
/// Padding is explicit (reflect) rather than centred, as the HiFi-GAN front end does it.
public struct STFT: Sendable {
    public let nFFT: Int
    public let hop: Int
    public let window: [Float]
    /// Samples of reflect padding added on each side before framing.
    public let padding: Int

    public init(nFFT: Int, hop: Int, padding: Int? = nil) {
        precondition(nFFT >= 2 && hop >= 1)
        self.nFFT = nFFT
        self.hop = hop
        self.padding = padding ?? (nFFT - hop) / 2
        window = STFT.periodicHann(nFFT)
    }

    public var bins: Int { nFFT / 2 + 1 }

    /// Periodic Hann: w[i] = 0.5 − 0.5·cos(2πi/N), as torch.hann_window(N).
    public static func periodicHann(_ n: Int) -> [Float] {
        (0..<n).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n))) }
    }

    public func frameCount(samples: Int) -> Int {
        let padded = samples + 2 * padding
        return padded < nFFT ? 0 : 1 + (padded - nFFT) / hop
    }

    /// numpy-style reflect padding (edge sample not repeated), reflecting again for short signals.
    public static func reflectPad(_ x: [Float], _ p: Int) -> [Float] {
        let n = x.count
        if p == 0 { return x }
        if n == 1 { return [Float](repeating: x[0], count: n + 2 * p) }
        let period = 2 * (n - 1)
        var out = [Float](repeating: 0, count: n + 2 * p)
        for i in 0..<(n + 2 * p) {
            var j = (i - p) % period
            if j < 0 { j += period }
            if j >= n { j = period - j }
            out[i] = x[j]
        }
        return out
    }

    /// Complex spectrogram, frame-major: `[frame][bin]` as interleaved (re, im) pairs.
    public func forward(_ signal: [Float]) -> ComplexSpectrogram {
        let frames = frameCount(samples: signal.count)
        // Too short for one frame (an empty signal cannot even be reflected).
        guard frames > 0 else { return ComplexSpectrogram(frames: 0, bins: bins, data: []) }
        let padded = STFT.reflectPad(signal, padding)
        let fft = RealFFT.plan(size: nFFT)
        let ws = fft.makeWorkspace()
        var data = [Float](repeating: 0, count: frames * bins * 2)
        padded.withUnsafeBufferPointer { x in
            window.withUnsafeBufferPointer { w in
                data.withUnsafeMutableBufferPointer { out in
                    for t in 0..<frames {
                        let base = t * hop
                        for i in 0..<nFFT { ws.real[i] = x[base + i] * w[i] }
                        fft.forward(ws)
                        (out.baseAddress! + t * bins * 2).update(from: ws.complexFloats, count: bins * 2)
                    }
                }
            }
        }
        return ComplexSpectrogram(frames: frames, bins: bins, data: data)
    }

    /// Magnitude spectrogram `[frame][bin]`: sqrt(re² + im² + epsilon).
    public func magnitude(_ signal: [Float], epsilon: Float = 0) -> [Float] {
        let spec = forward(signal)
        var mag = [Float](repeating: 0, count: spec.frames * spec.bins)
        spec.data.withUnsafeBufferPointer { d in
            mag.withUnsafeMutableBufferPointer { m in
                for i in 0..<m.count {
                    let re = d[2 * i], im = d[2 * i + 1]
                    m[i] = (re * re + im * im + epsilon).squareRoot()
                }
            }
        }
        return mag
    }

    /// Weighted overlap-add inverse; returns `length` samples aligned with the forward input.
    public func inverse(_ spec: ComplexSpectrogram, length: Int) -> [Float] {
        precondition(spec.bins == bins)
        let fft = RealFFT.plan(size: nFFT)
        let ws = fft.makeWorkspace()
        let total = (spec.frames - 1) * hop + nFFT
        var acc = [Float](repeating: 0, count: max(total, length + 2 * padding))
        var norm = [Float](repeating: 0, count: acc.count)
        let scale = 1 / Float(nFFT)
        spec.data.withUnsafeBufferPointer { d in
            for t in 0..<spec.frames {
                ws.complexFloats.update(from: d.baseAddress! + t * bins * 2, count: bins * 2)
                fft.inverse(ws)
                let base = t * hop
                for i in 0..<nFFT {
                    acc[base + i] += ws.real[i] * scale * window[i]
                    norm[base + i] += window[i] * window[i]
                }
            }
        }
        var out = [Float](repeating: 0, count: length)
        for i in 0..<length {
            let j = i + padding
            guard j < acc.count else { break }
            // Where the window sum vanishes (the outermost samples) nothing can be recovered.
            out[i] = norm[j] > 1e-6 ? acc[j] / norm[j] : 0
        }
        return out
    }
}

/// Frame-major complex spectrogram with interleaved (re, im).
public struct ComplexSpectrogram: Sendable {
    public var frames: Int
    public var bins: Int
    public var data: [Float]
}
