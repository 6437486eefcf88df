/// The normalised mel of a signal fed block by block: frame for frame what
/// `MelFrontEnd.normalizedMel` gives for the whole signal (engine.md §1: reflect padding of
/// (n_fft − hop)/2 at both ends, frames every hop), holding under one FFT frame of samples.
public final class StreamingMel {
    public let frontEnd: MelFrontEnd
    let pad: Int, hop: Int, nFFT: Int
    /// Samples before the left padding can be built (it reflects samples 1…pad).
    var head: [Float] = []
    /// The padded signal from `bufferStart` (padded coordinates) on.
    var buffer: [Float] = []
    var bufferStart = 0
    var nextFrame = 0
    var started = false
    var finished = false

    public init(frontEnd: MelFrontEnd) {
        self.frontEnd = frontEnd
        pad = frontEnd.stft.padding
        hop = frontEnd.config.hop
        nFFT = frontEnd.config.nFFT
    }

    /// Frames made complete by these samples (mel bands × n, possibly n = 0).
    public func feed(_ samples: [Float]) -> MelSpectrogram {
        precondition(!finished)
        if !started {
            head += samples
            guard head.count > pad else { return empty }
            // numpy reflect: padded[i] = x[pad − i] for i < pad.
            buffer = (0..<pad).map { head[pad - $0] } + head
            head = []
            started = true
        } else {
            buffer += samples
        }
        return frames()
    }

    /// The remaining frames, after the last samples.
    public func finish() -> MelSpectrogram {
        precondition(!finished)
        finished = true
        guard started else { return frontEnd.normalizedMel(head) }   // shorter than the padding
        // padded[N + pad + j] = x[N − 2 − j]: the last pad + 1 samples are still held.
        let n = buffer.count
        buffer += (0..<pad).map { buffer[n - 2 - $0] }
        return frames()
    }

    var empty: MelSpectrogram { MelSpectrogram(melCount: frontEnd.config.melCount, frames: 0, values: []) }

    func frames() -> MelSpectrogram {
        let end = bufferStart + buffer.count
        guard end >= nFFT else { return empty }
        let available = (end - nFFT) / hop + 1
        guard available > nextFrame else { return empty }
        let from = nextFrame * hop - bufferStart, to = (available - 1) * hop + nFFT - bufferStart
        let mel = frontEnd.normalizedMel(prepadded: Array(buffer[from..<to]))
        nextFrame = available
        let keepFrom = nextFrame * hop - bufferStart
        buffer.removeFirst(min(keepFrom, buffer.count))
        bufferStart += keepFrom
        return mel
    }
}
