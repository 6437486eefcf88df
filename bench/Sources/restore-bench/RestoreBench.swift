import ArgumentParser
import Foundation
import RestoreCore

@main
struct RestoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore-bench",
        abstract: "Speed benchmarks of restore's engine parts (median of repetitions after warm-up).",
        subcommands: [FrontEnd.self, VocoderBench.self, SamplerBench.self, TextEncoderBench.self]
    )
}

struct FrontEnd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frontend",
        abstract: "STFT + mel of 10 s of audio at 22 050 Hz, and the resampling that precedes it."
    )

    @Option(help: "Repetitions after one warm-up run.") var repetitions = 5
    @Option(help: "Seconds of audio.") var seconds = 10.0
    @Flag(help: "Machine-readable output.") var json = false

    func run() throws {
        ExecutionContext.single.adopt()
        let x = TestSignals.whiteNoise(sampleRate: 22050, seconds: seconds, seed: 1)
        let fe = MelFrontEnd()
        var rows: [Measurement] = []
        rows.append(measure("stft_magnitude", repetitions: repetitions, audioSeconds: seconds) { _ = fe.stft.magnitude(x) })
        rows.append(measure("stft_mel", repetitions: repetitions, audioSeconds: seconds) { _ = fe.magnitudeMel(x) })
        rows.append(measure("stft_mel_normalized", repetitions: repetitions, audioSeconds: seconds) { _ = fe.normalizedMel(x) })
        let x44 = AudioBuffer(sampleRate: 44100, mono: TestSignals.whiteNoise(sampleRate: 44100, seconds: seconds, seed: 2))
        for q in Resampler.Quality.allCases {
            rows.append(try measure("resample_44k_to_22k_\(q.rawValue)", repetitions: repetitions, audioSeconds: seconds) {
                _ = try Resampler.resample(x44, to: 22050, quality: q)
            })
        }
        report(rows, json: json)
    }
}
