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
    @Option(help: "Backends to measure: onednn, openblas.") var backend: [String] = ["onednn"]
    @Option(help: "oneDNN precisions to measure: fp32, bf16 (bf16 needs AVX512-BF16).") var precision: [String] = ["fp32"]
    @Flag(help: "Machine-readable output.") var json = false

    func run() throws {
        let vocoder = try HiFiGAN(path: weights)
        let frames = Int(seconds * 22050) / 256
        var rng = SplitMix64(seed: 1)
        let mel = MelSpectrogram(melCount: 80, frames: frames, values: (0..<(80 * frames)).map { _ in Float(rng.gaussian()) - 5 })
        let audioSeconds = Double(frames * 256) / 22050
        let flops = 2 * vocoder.macsPerSecondOfAudio(frames: frames) * audioSeconds
        var rows: [Measurement] = []
        var configs: [(ComputeBackend, VocoderPrecision)] = []
        for b in backend {
            guard let be = ComputeBackend(rawValue: b) else { throw ValidationError("unknown backend \(b)") }
            if be == .openblas { configs.append((be, .fp32)); continue }
            for p in precision {
                guard let pr = VocoderPrecision(rawValue: p) else { throw ValidationError("unknown precision \(p)") }
                if pr == .bf16 && !CPUKernels.hasBF16 { continue }
                configs.append((be, pr))
            }
        }
        for (be, pr) in configs {
            ComputeBackend.current = be
            VocoderPrecision.current = pr
            for t in threads {
                let name = be == .openblas ? "swift_hifigan_openblas" : "swift_hifigan_onednn_\(pr.rawValue)"
                var m = ExecutionContext(threads: t).run {
                    measure(name, repetitions: repetitions, threads: t, audioSeconds: audioSeconds) { _ = vocoder.synthesize(mel) }
                }
                m.gflops = flops / m.medianSeconds / 1e9
                rows.append(m)
            }
        }
        if !json { print("kernels: \(CPUKernels.isa)") }
        report(rows, json: json)
    }
}
