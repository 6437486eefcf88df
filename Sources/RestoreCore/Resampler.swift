import CSampleRate

/// Sample-rate conversion over libsamplerate.
public enum Resampler {
    public enum Quality: String, Sendable, CaseIterable {
        /// Band-limited sinc, ~97% bandwidth, 97 dB SNR (libsamplerate's best).
        case best
        /// Sinc with a shorter filter: several times faster, ~80% bandwidth.
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

    public static func resample(_ buffer: AudioBuffer, to rate: Double, quality: Quality = .best) throws -> AudioBuffer {
        if rate == buffer.sampleRate { return buffer }
        guard rate > 0, rate.isFinite else { throw RestoreError.invalidArgument("invalid target sample rate \(rate)") }
        let ratio = rate / buffer.sampleRate
        guard ratio >= 1.0 / 256, ratio <= 256 else {
            throw RestoreError.invalidArgument("cannot resample \(buffer.sampleRate) Hz to \(rate) Hz: ratio outside 1/256…256")
        }
        let c = buffer.channelCount
        let input = buffer.interleaved()
        let target = outputLength(frames: buffer.frameCount, from: buffer.sampleRate, to: rate)
        var output = [Float](repeating: 0, count: (target + 64) * c)
        var error: Int32 = 0
        guard let state = src_new(quality.converter, Int32(c), &error) else {
            throw RestoreError.invalidArgument("libsamplerate: \(String(cString: src_strerror(error)))")
        }
        defer { src_delete(state) }
        var produced = 0
        var consumed = 0
        try input.withUnsafeBufferPointer { inp in
            try output.withUnsafeMutableBufferPointer { out in
                while produced < target {
                    var d = SRC_DATA()
                    d.data_in = inp.baseAddress! + consumed * c
                    d.input_frames = buffer.frameCount - consumed
                    d.data_out = out.baseAddress! + produced * c
                    d.output_frames = target + 64 - produced
                    d.end_of_input = 1
                    d.src_ratio = ratio
                    let e = src_process(state, &d)
                    if e != 0 { throw RestoreError.invalidArgument("libsamplerate: \(String(cString: src_strerror(e)))") }
                    consumed += d.input_frames_used
                    produced += d.output_frames_gen
                    if d.output_frames_gen == 0 { break }
                }
            }
        }
        // The converter may stop a few frames short at the very end; pad with silence.
        output.removeLast(output.count - target * c)
        return AudioBuffer.fromInterleaved(output, channelCount: c, sampleRate: rate)
    }
}
