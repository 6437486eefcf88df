import ArgumentParser
import Foundation
import RestoreCore

struct VocoderBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vocoder",
        abstract: "HiFi-GAN on a 10 s mel: real-time factor and GFLOP/s, median after a warm-up."
    )

    @Option(help: "Repetitions after one warm-up run.") var repetitions = 5
    @Option(help: "Seconds of audio.") var seconds = 10.0
    @Option(help: "Thread counts to measure.") var threads: [Int] = [1, 2]
    @Option(help: "Vocoder weights.") var weights = "Models/pretrained/hifigan-universal.safetensors"
    @Flag(help: "Machine-readable output.") var json = false

    func run() throws {
        let vocoder = try HiFiGAN(path: weights)
        let frames = Int(seconds * 22050) / 256
        var rng = TestSignals.SplitMix64(seed: 1)
        let mel = MelSpectrogram(melCount: 80, frames: frames, values: (0..<(80 * frames)).map { _ in Float(rng.gaussian()) - 5 })
        let audioSeconds = Double(frames * 256) / 22050
        let flops = 2 * vocoder.macsPerSecondOfAudio(frames: frames) * audioSeconds
        var rows: [Measurement] = []
        for t in threads {
            BLASThreads.set(t)
            ParallelConfig.threads = t
            var m = measure("swift_hifigan", repetitions: repetitions, threads: t, audioSeconds: audioSeconds) {
                _ = vocoder.synthesize(mel)
            }
            m.gflops = flops / m.medianSeconds / 1e9
            rows.append(m)
        }
        report(rows, json: json)
    }
}
