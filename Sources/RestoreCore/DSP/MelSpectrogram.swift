import Foundation

/// The fixed mel front end of engine.md §1 (the HiFi-GAN V1 "universal" vocoder's).
public struct MelConfig: Sendable, Equatable, Codable {
    public var sampleRate: Double = 22050
    public var nFFT: Int = 1024
    public var hop: Int = 256
    public var melCount: Int = 80
    public var fMin: Double = 0
    public var fMax: Double = 8000
    /// Added under the square root of |X|², as the HiFi-GAN reference does, so that
    /// silence is a finite floor rather than an exact zero.
    public var magnitudeEpsilon: Float = 1e-9
    /// Magnitude floor before any log.
    public var floor: Float = 1e-5
    public var dbMin: Float = -80
    public var dbMax: Float = 20

    public init() {}
    /// The standard front end with another normalisation floor (a tokenizer's `db_min`).
    public init(dbMin: Float) { self.dbMin = dbMin }
    public static let standard = MelConfig()
}

/// A mel spectrogram stored mel-major: `values[mel * frames + frame]`.
public struct MelSpectrogram: Sendable, Equatable {
    public var melCount: Int
    public var frames: Int
    public var values: [Float]

    public init(melCount: Int, frames: Int, values: [Float]) {
        precondition(values.count == melCount * frames)
        self.melCount = melCount
        self.frames = frames
        self.values = values
    }

    public subscript(mel: Int, frame: Int) -> Float {
        get { values[mel * frames + frame] }
        set { values[mel * frames + frame] = newValue }
    }
}

/// Audio at 22 050 Hz → magnitude mel, ln-mel (vocoder input) or normalised dB (tokenizer input).
public final class MelFrontEnd: @unchecked Sendable {
    public let config: MelConfig
    public let stft: STFT
    /// `[mel][bin]` slaney filterbank.
    public let filterbank: [Float]

    public init(config: MelConfig = .standard) {
        self.config = config
        stft = STFT(nFFT: config.nFFT, hop: config.hop)
        filterbank = MelScale.filterbank(sampleRate: config.sampleRate, nFFT: config.nFFT,
                                         melCount: config.melCount, fMin: config.fMin, fMax: config.fMax)
    }

    /// Magnitude mel M (no log). The signal must already be at `config.sampleRate`.
    public func magnitudeMel(_ signal: [Float]) -> MelSpectrogram { magnitudeMel(signal, stft: stft) }

    /// Normalised mel of a stretch of the already padded signal (no padding added here):
    /// how `StreamingMel` computes its frames.
    public func normalizedMel(prepadded segment: [Float]) -> MelSpectrogram {
        var m = magnitudeMel(segment, stft: STFT(nFFT: config.nFFT, hop: config.hop, padding: 0))
        m.values = m.values.map { normalize(magnitude: $0) }
        return m
    }

    func magnitudeMel(_ signal: [Float], stft: STFT) -> MelSpectrogram {
        let mag = stft.magnitude(signal, epsilon: config.magnitudeEpsilon)   // [frame][bin]
        let frames = mag.count / stft.bins
        var out = [Float](repeating: 0, count: config.melCount * frames)
        if frames > 0 {
            filterbank.withUnsafeBufferPointer { fb in
                mag.withUnsafeBufferPointer { m in
                    out.withUnsafeMutableBufferPointer { o in
                        // (mel × bins) · (frames × bins)ᵀ = mel × frames
                        sgemm(transB: true, m: config.melCount, n: frames, k: stft.bins,
                              a: fb.baseAddress!, lda: stft.bins, b: m.baseAddress!, ldb: stft.bins,
                              c: o.baseAddress!, ldc: frames)
                    }
                }
            }
        }
        return MelSpectrogram(melCount: config.melCount, frames: frames, values: out)
    }

    /// Vocoder input: ln(max(M, floor)).
    public func logMel(_ signal: [Float]) -> MelSpectrogram {
        var m = magnitudeMel(signal)
        m.values = m.values.map { Foundation.log(max($0, config.floor)) }
        return m
    }

    /// Tokenizer input: clip(20·log10(max(M, floor)), dbMin, dbMax) mapped linearly to [−1, 1].
    public func normalizedMel(_ signal: [Float]) -> MelSpectrogram {
        var m = magnitudeMel(signal)
        m.values = m.values.map { normalize(magnitude: $0) }
        return m
    }

    @inline(__always)
    public func normalize(magnitude x: Float) -> Float {
        let db = min(max(20 * log10(max(x, config.floor)), config.dbMin), config.dbMax)
        return 2 * (db - config.dbMin) / (config.dbMax - config.dbMin) - 1
    }

    /// Inverse of the normalisation, up to the clipping: normalised dB → ln-mel for the vocoder.
    public func logMel(fromNormalized n: MelSpectrogram) -> MelSpectrogram {
        var m = n
        let span = config.dbMax - config.dbMin
        let toLn = Float(M_LN10) / 20
        m.values = n.values.map { v in
            let db = (min(max(v, -1), 1) + 1) / 2 * span + config.dbMin
            return db * toLn
        }
        return m
    }
}
