import CSampleRate

/// Sample-rate conversion over libsamplerate.
public enum Resampler {
    public enum Quality: String, Sendable, CaseIterable {
        /// Band-limited sinc, ~97% bandwidth, 97 dB SNR (libsamplerate's best).
        case best
        /// Sinc with a shorter filter: several times faster, about four fifths of the bandwidth.
        case fast

        var converter: Int32 {
            switch self {
            case .best: return Int32(SRC_SINC_BEST_QUALITY)
            case .fast: return Int32(SRC_SINC_FASTEST)
            }
        }
    }

    /// Output length for `frames` input frames: round(frames · to / from).
    public static func outputLength(frames: Int, from: Double, to: Double) -> Int {
        Int((Double(frames) * to / from).rounded())
    }

    /// The whole buffer in one `src_process` run with end of input set (libsamplerate's
    /// one-shot use), exactly round(frames · to / from) frames.
    public static func resample(_ buffer: AudioBuffer, to rate: Double, quality: Quality = .best) throws -> AudioBuffer {
        if rate == buffer.sampleRate { return buffer }
        return try StreamingResampler(from: buffer.sampleRate, to: rate, channelCount: buffer.channelCount, quality: quality).whole(buffer)
    }
}
