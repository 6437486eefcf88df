/// Audio → mel → vocoder → audio at the input's rate and channel count (analysis–resynthesis).
/// It measures what the vocoder alone loses: the oracle of every task's output.
public struct Resynthesis {
    public let vocoder: HiFiGAN
    public let frontEnd: MelFrontEnd

    public init(vocoder: HiFiGAN, frontEnd: MelFrontEnd = MelFrontEnd()) {
        self.vocoder = vocoder
        self.frontEnd = frontEnd
    }

    public struct Result {
        public var audio: AudioBuffer
        /// Mean |ln-mel(output) − ln-mel(input)| at 22 050 Hz, averaged over channels.
        public var melL1: Double
    }

    public func run(_ input: AudioBuffer, quality: Resampler.Quality = .best) throws -> Result {
        let rate = frontEnd.config.sampleRate
        var outChannels: [[Float]] = []
        var l1 = 0.0
        for ch in input.channels {
            let x = try Resampler.resample(AudioBuffer(sampleRate: input.sampleRate, mono: ch), to: rate, quality: quality).channels[0]
            let mel = frontEnd.logMel(x)
            var y = vocoder.synthesize(mel)
            // frames·hop is up to a hop short of the input; the vocoder's output is aligned at sample 0.
            if y.count < x.count { y += [Float](repeating: 0, count: x.count - y.count) } else { y.removeLast(y.count - x.count) }
            l1 += MelDistance.l1(mel, frontEnd.logMel(y))
            var back = try Resampler.resample(AudioBuffer(sampleRate: rate, mono: y), to: input.sampleRate, quality: quality).channels[0]
            if back.count < input.frameCount { back += [Float](repeating: 0, count: input.frameCount - back.count) }
            else { back.removeLast(back.count - input.frameCount) }
            outChannels.append(back)
        }
        return Result(audio: AudioBuffer(sampleRate: input.sampleRate, channels: outChannels), melL1: l1 / Double(input.channelCount))
    }
}

public enum MelDistance {
    /// Mean absolute difference over the frames both spectrograms have.
    public static func l1(_ a: MelSpectrogram, _ b: MelSpectrogram) -> Double {
        precondition(a.melCount == b.melCount)
        let frames = min(a.frames, b.frames)
        guard frames > 0 else { return 0 }
        var s = 0.0
        for m in 0..<a.melCount {
            for f in 0..<frames { s += Double(abs(a[m, f] - b[m, f])) }
        }
        return s / Double(frames * a.melCount)
    }
}

/// Approximate-equality measures shared by tests and benchmarks.
public enum Approximate {
    /// ‖a − b‖ / ‖b‖ in Double.
    public static func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count)
        var num = 0.0, den = 0.0
        for i in 0..<a.count {
            let d = Double(a[i]) - Double(b[i])
            num += d * d
            den += Double(b[i]) * Double(b[i])
        }
        return (num / max(den, 1e-300)).squareRoot()
    }
}
