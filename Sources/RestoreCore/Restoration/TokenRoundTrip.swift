/// Audio → normalised mel → tokens → decoded mel → vocoder → audio, per channel:
/// what the engine's token space can represent of a recording.
public struct TokenRoundTrip {
    public let tokenizer: SpectrogramTokenizer
    public let vocoder: HiFiGAN
    public let frontEnd: MelFrontEnd

    /// The front end is the tokenizer's own (its normalisation floor) unless one is given.
    public init(tokenizer: SpectrogramTokenizer, vocoder: HiFiGAN, frontEnd: MelFrontEnd? = nil) {
        self.tokenizer = tokenizer
        self.vocoder = vocoder
        self.frontEnd = frontEnd ?? tokenizer.frontEnd
    }

    public struct Result {
        public var audio: AudioBuffer
        /// Mean |decoded − input| on the normalised [−1, 1] mel, averaged over channels.
        public var melL1: Double
        public var grids: [TokenGrid]
    }

    /// Tokens are computed over windows of `windowColumns` token columns (53: about 10 s), so
    /// memory stays bounded; the tokenizer's short context makes windows nearly seamless.
    public func run(_ input: AudioBuffer, windowColumns: Int = 53) throws -> Result {
        let rate = frontEnd.config.sampleRate, bands = frontEnd.config.melCount
        let windowFrames = windowColumns * tokenizer.config.frames_per_token
        var channels: [[Float]] = [], grids: [TokenGrid] = [], l1 = 0.0
        for ch in input.channels {
            let x = try Resampler.resample(AudioBuffer(sampleRate: input.sampleRate, mono: ch), to: rate).channels[0]
            let mel = frontEnd.normalizedMel(x)
            var decoded = [Float](repeating: 0, count: mel.values.count)
            var ids: [Int32] = []
            var rows = 0, columns = 0
            var start = 0
            var windows: [TokenGrid] = []
            while start < mel.frames {
                let end = min(mel.frames, start + windowFrames)
                var part = [Float](repeating: 0, count: bands * (end - start))
                for b in 0..<bands { for f in start..<end { part[b * (end - start) + f - start] = mel.values[b * mel.frames + f] } }
                let grid = tokenizer.encode(MelSpectrogram(melCount: bands, frames: end - start, values: part))
                windows.append(grid)
                let back = tokenizer.decode(grid, frames: end - start)
                for b in 0..<bands { for f in start..<end { decoded[b * mel.frames + f] = back.values[b * (end - start) + f - start] } }
                start = end
            }
            rows = windows.first?.rows ?? tokenizer.config.rows
            for r in 0..<rows { for w in windows { ids += w.ids[(r * w.columns)..<((r + 1) * w.columns)] } }
            columns = windows.reduce(0) { $0 + $1.columns }
            grids.append(TokenGrid(rows: rows, columns: columns, ids: ids))
            let decodedMel = MelSpectrogram(melCount: bands, frames: mel.frames, values: decoded.map { min(1, max(-1, $0)) })
            l1 += MelDistance.l1(mel, decodedMel)
            var y = vocoder.synthesize(frontEnd.logMel(fromNormalized: decodedMel))
            if y.count < x.count { y += [Float](repeating: 0, count: x.count - y.count) } else { y.removeLast(y.count - x.count) }
            var back = try Resampler.resample(AudioBuffer(sampleRate: rate, mono: y), to: input.sampleRate).channels[0]
            if back.count < input.frameCount { back += [Float](repeating: 0, count: input.frameCount - back.count) }
            else { back.removeLast(back.count - input.frameCount) }
            channels.append(back)
        }
        return Result(audio: AudioBuffer(sampleRate: input.sampleRate, channels: channels), melL1: l1 / Double(input.channelCount), grids: grids)
    }
}
