import CSampleRate

/// Sample-rate conversion block by block (libsamplerate's streaming `src_process`), for
/// inputs too long to hold. Fed the same samples, it gives the one-shot `Resampler`'s
/// output: `finish()` trims or pads the total to round(frames · to / from), as it does.
public final class StreamingResampler {
    public let from: Double
    public let to: Double
    public let channelCount: Int
    let ratio: Double
    let state: OpaquePointer?
    var consumed = 0
    var produced = 0
    var finished = false

    public init(from: Double, to: Double, channelCount: Int, quality: Resampler.Quality = .best) throws {
        guard to > 0, to.isFinite else { throw RestoreError.invalidArgument("invalid target sample rate \(to)") }
        guard from > 0, from.isFinite else { throw RestoreError.invalidArgument("invalid source sample rate \(from)") }
        ratio = to / from
        guard ratio >= 1.0 / 256, ratio <= 256 else {
            throw RestoreError.invalidArgument("cannot resample \(from) Hz to \(to) Hz: ratio outside 1/256…256")
        }
        self.from = from
        self.to = to
        self.channelCount = channelCount
        if from == to {
            state = nil
        } else {
            var error: Int32 = 0
            guard let s = src_new(quality.converter, Int32(channelCount), &error) else {
                throw RestoreError.invalidArgument("libsamplerate: \(String(cString: src_strerror(error)))")
            }
            state = s
        }
    }

    deinit { if let state { src_delete(state) } }

    /// The output for the next block of input (possibly empty: the converter keeps a history).
    public func process(_ block: AudioBuffer) throws -> AudioBuffer {
        precondition(!finished && block.channelCount == channelCount)
        consumed += block.frameCount
        return try convert(block.interleaved(), frames: block.frameCount, last: false)
    }

    /// The rest of the output, after the last block.
    public func finish() throws -> AudioBuffer {
        precondition(!finished)
        return try trimmed(convert([], frames: 0, last: true))
    }

    /// A whole signal in one call (no block before it): `Resampler.resample`.
    func whole(_ buffer: AudioBuffer) throws -> AudioBuffer {
        precondition(!finished && consumed == 0 && buffer.channelCount == channelCount)
        consumed = buffer.frameCount
        return try trimmed(convert(buffer.interleaved(), frames: buffer.frameCount, last: true))
    }

    /// The last output, cut or padded with silence so the total is round(frames · to / from)
    /// (the converter may stop a few frames short, or give one more).
    func trimmed(_ last: AudioBuffer) -> AudioBuffer {
        var tail = last
        finished = true
        let target = Resampler.outputLength(frames: consumed, from: from, to: to)
        let have = produced
        if have > target {
            let drop = min(have - target, tail.frameCount)
            tail = AudioBuffer(sampleRate: to, channels: tail.channels.map { Array($0.dropLast(drop)) })
        } else if have < target {
            tail = AudioBuffer(sampleRate: to, channels: tail.channels.map { $0 + [Float](repeating: 0, count: target - have) })
        }
        return tail
    }

    func convert(_ input: [Float], frames: Int, last: Bool) throws -> AudioBuffer {
        let c = channelCount
        guard let state else {
            produced += frames
            return AudioBuffer.fromInterleaved(input, channelCount: c, sampleRate: to)
        }
        // libsamplerate wants a real pointer even for no input.
        let input = input.isEmpty ? [Float](repeating: 0, count: c) : input
        var out: [Float] = []
        var chunk = [Float](repeating: 0, count: (Int(Double(max(frames, 1)) * ratio) + 256) * c)
        var used = 0
        try input.withUnsafeBufferPointer { inp in
            try chunk.withUnsafeMutableBufferPointer { buf in
                while true {
                    var d = SRC_DATA()
                    d.data_in = inp.baseAddress.map { $0 + used * c }
                    d.input_frames = frames - used
                    d.data_out = buf.baseAddress!
                    d.output_frames = buf.count / c
                    d.end_of_input = last ? 1 : 0
                    d.src_ratio = ratio
                    let e = src_process(state, &d)
                    if e != 0 { throw RestoreError.invalidArgument("libsamplerate: \(String(cString: src_strerror(e)))") }
                    used += d.input_frames_used
                    out.append(contentsOf: buf[0..<(d.output_frames_gen * c)])
                    // Done when the input is used up and the converter has nothing more to give.
                    if d.output_frames_gen == 0 && (used >= frames) { break }
                }
            }
        }
        produced += out.count / c
        return AudioBuffer.fromInterleaved(out, channelCount: c, sampleRate: to)
    }
}

/// Another source at a new rate, converted block by block as it is read.
public final class ResamplingAudioSource: AudioSource {
    let base: AudioSource
    let resampler: StreamingResampler
    var done = false
    /// Converted frames not yet read, per channel.
    var pending: [[Float]] = []
    public let sampleRate: Double
    public var channelCount: Int { base.channelCount }

    public init(_ base: AudioSource, to rate: Double, quality: Resampler.Quality = .best) throws {
        self.base = base
        sampleRate = rate
        resampler = try StreamingResampler(from: base.sampleRate, to: rate, channelCount: base.channelCount, quality: quality)
    }

    /// Up to `maxFrames` frames; nil at the end.
    public func read(maxFrames: Int) throws -> AudioBuffer? {
        while pending.first.map({ $0.count < maxFrames }) ?? true, !done {
            let inFrames = max(1, Int(Double(maxFrames) * base.sampleRate / sampleRate))
            let out: AudioBuffer
            if let block = try base.read(maxFrames: inFrames) {
                out = try resampler.process(block)
            } else {
                out = try resampler.finish()
                done = true
            }
            if pending.isEmpty { pending = out.channels } else { for c in pending.indices { pending[c] += out.channels[c] } }
        }
        guard let first = pending.first, !first.isEmpty else { return nil }
        let n = min(maxFrames, first.count)
        defer { for c in pending.indices { pending[c].removeFirst(n) } }
        return AudioBuffer(sampleRate: sampleRate, channels: pending.map { Array($0[0..<n]) })
    }
}
