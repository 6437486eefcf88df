import Foundation

/// Streams an input through overlapping model windows (engine.md §3) with bounded memory:
/// it reads only as far as the current window needs, drops what no later window needs,
/// and writes each stretch of output as soon as the crossfade into the next window is
/// all that is left of it. Memory is a few windows, whatever the input's length.
public enum WindowedRunner {
    public struct Window {
        public var index: Int
        /// The input samples [sliceStart, sliceStart + slice.frameCount) with margins.
        public var slice: AudioBuffer
        public var sliceStart: Int
        /// First sample of the model window itself (inside the slice).
        public var windowStart: Int
        public var isLast: Bool
    }

    /// `process` returns the output for the window's slice, at the same rate and length.
    /// Returns the frames written (the input's length).
    @discardableResult
    public static func run(source: AudioSource, sink: AudioSink, plan: WindowPlan, expectedFrames: Int? = nil,
                           progress: ((Double) -> Void)? = nil,
                           process: (Window) throws -> AudioBuffer) throws -> Int {
        precondition(source.sampleRate == plan.rate)
        let c = source.channelCount, rate = source.sampleRate
        var buffer = [[Float]](repeating: [], count: c)
        var bufferStart = 0, eof = false
        var bufferEnd: Int { bufferStart + buffer[0].count }
        func fill(upTo end: Int) throws {
            while !eof && bufferEnd < end {
                if let block = try source.read(maxFrames: 65536) {
                    for ch in 0..<c { buffer[ch].append(contentsOf: block.channels[ch]) }
                } else { eof = true }
            }
        }
        var pending = [[Float]](repeating: [], count: c), pendingStart = 0
        var written = 0, k = 0
        while true {
            let u = plan.start(k)
            try fill(upTo: u + plan.windowSamples + plan.margin + 1)
            let total = bufferEnd
            if k == 0 && total == 0 { return 0 }
            let last = eof && plan.isLast(k, total: total)
            let range = plan.slice(k, available: total)
            let slice = AudioBuffer(sampleRate: rate, channels: buffer.map { Array($0[(range.lowerBound - bufferStart)..<(range.upperBound - bufferStart)]) })
            let out = try process(Window(index: k, slice: slice, sliceStart: range.lowerBound, windowStart: u, isLast: last))
            precondition(out.frameCount == slice.frameCount && out.channelCount == c)
            let writeTo = last ? total : plan.start(k + 1) + plan.edge
            let fade = k > 0 ? plan.fade(k) : 0..<0
            var chunk = [[Float]](repeating: [], count: c)
            for ch in 0..<c {
                chunk[ch].reserveCapacity(writeTo - written)
                for t in written..<writeTo {
                    let v = out.channels[ch][t - range.lowerBound]
                    if fade.contains(t) {
                        let w = Float(t - fade.lowerBound) / Float(fade.count)
                        chunk[ch].append((1 - w) * pending[ch][t - pendingStart] + w * v)
                    } else {
                        chunk[ch].append(v)
                    }
                }
            }
            try sink.write(AudioBuffer(sampleRate: rate, channels: chunk))
            written = writeTo
            if let expectedFrames, expectedFrames > 0 { progress?(min(1, Double(written) / Double(expectedFrames))) }
            if last { return written }
            pendingStart = writeTo
            for ch in 0..<c { pending[ch] = Array(out.channels[ch][(writeTo - range.lowerBound)...]) }
            // Nothing before the next window's slice is needed again.
            let keepFrom = min(max(0, plan.start(k + 1) - plan.margin), bufferEnd)
            if keepFrom > bufferStart {
                for ch in 0..<c { buffer[ch].removeFirst(keepFrom - bufferStart) }
                bufferStart = keepFrom
            }
            k += 1
        }
    }
}
