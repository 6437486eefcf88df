/// Planar Float audio: one array per channel, all of equal length.
/// Samples are nominally in [-1, 1]; float sources may exceed it.
public struct AudioBuffer: Sendable, Equatable {
    /// Samples per second (Hz).
    public var sampleRate: Double
    /// One array of samples per channel, in the file's channel order.
    public var channels: [[Float]]

    /// A buffer from channels of equal length (at least one channel; the caller's bug otherwise).
    public init(sampleRate: Double, channels: [[Float]]) {
        precondition(!channels.isEmpty, "an AudioBuffer has at least one channel")
        precondition(channels.allSatisfy { $0.count == channels[0].count }, "channels differ in length")
        self.sampleRate = sampleRate
        self.channels = channels
    }

    /// A one-channel buffer.
    public init(sampleRate: Double, mono: [Float]) {
        self.init(sampleRate: sampleRate, channels: [mono])
    }

    /// Number of channels (at least one).
    public var channelCount: Int { channels.count }
    /// Samples per channel.
    public var frameCount: Int { channels[0].count }
    /// Length in seconds.
    public var duration: Double { Double(frameCount) / sampleRate }

    /// Average of all channels (used for analysis, never for output).
    public func mixedToMono() -> [Float] {
        if channelCount == 1 { return channels[0] }
        var out = [Float](repeating: 0, count: frameCount)
        let scale = 1 / Float(channelCount)
        for ch in channels {
            for i in 0..<frameCount { out[i] += ch[i] * scale }
        }
        return out
    }

    /// Interleaved frames, as libsndfile and libsamplerate want them.
    public func interleaved() -> [Float] {
        let n = frameCount, c = channelCount
        if c == 1 { return channels[0] }
        var out = [Float](repeating: 0, count: n * c)
        out.withUnsafeMutableBufferPointer { o in
            for (k, ch) in channels.enumerated() {
                ch.withUnsafeBufferPointer { s in
                    for i in 0..<n { o[i * c + k] = s[i] }
                }
            }
        }
        return out
    }

    public static func fromInterleaved(_ data: [Float], channelCount c: Int, sampleRate: Double) -> AudioBuffer {
        precondition(c > 0 && data.count % c == 0)
        let n = data.count / c
        if c == 1 { return AudioBuffer(sampleRate: sampleRate, mono: data) }
        var chans = [[Float]](repeating: [Float](repeating: 0, count: n), count: c)
        data.withUnsafeBufferPointer { d in
            for k in 0..<c {
                chans[k].withUnsafeMutableBufferPointer { o in
                    for i in 0..<n { o[i] = d[i * c + k] }
                }
            }
        }
        return AudioBuffer(sampleRate: sampleRate, channels: chans)
    }

    /// The first frame/channel holding NaN or ±Inf, if any.
    public func firstNonFinite() -> (frame: Int, channel: Int)? {
        var best: (Int, Int)? = nil
        for (k, ch) in channels.enumerated() {
            if let i = ch.firstIndex(where: { !$0.isFinite }), best == nil || i < best!.0 {
                best = (i, k)
            }
        }
        return best.map { (frame: $0.0, channel: $0.1) }
    }
}
