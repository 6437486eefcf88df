import ArgumentParser
import Foundation
import RestoreCore

struct Vocode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Analysis–resynthesis through the vocoder: audio → mel → HiFi-GAN → audio.",
        discussion: """
        Shows what the vocoder alone changes (the ceiling of every task's quality).
        The output keeps the input's rate and channel count; each channel is
        resampled to 22 050 Hz, vocoded, and resampled back. The log-mel L1
        between input and output is printed (lower is closer).

        Examples:
          restore vocode take.wav                  # writes take.vocode.wav
          restore vocode take.flac -o out/ --json
        """
    )

    @Argument(help: "Audio files.") var inputs: [String]
    @OptionGroup var output: OutputOptions
    @OptionGroup var engine: EngineOptions
    @Flag(help: "Print a JSON report per file.") var json = false

    struct Report: Encodable {
        var input: String, output: String, melL1: Double, seconds: Double, realTimeFactor: Double
    }

    func run() throws {
        engine.apply()
        let vocoder = try HiFiGAN(path: ModelLocator.vocoder(explicit: engine.vocoder))
        let resynthesis = Resynthesis(vocoder: vocoder)
        var failed = 0
        for input in inputs {
            do {
                let (buffer, info) = try AudioFile.read(input)
                let target = try output.path(for: input, suffix: "vocode", inputCount: inputs.count)
                let t0 = Date()
                let result = try resynthesis.run(buffer)
                try AudioWriter.write(result.audio, to: target, options: output.writeOptions(source: info.format, inputs: inputs))
                let seconds = Date().timeIntervalSince(t0)
                let report = Report(input: input, output: target, melL1: result.melL1, seconds: seconds, realTimeFactor: seconds / buffer.duration)
                if json { print(try CLIOutput.json(report)) } else {
                    print("\(input) → \(target): log-mel L1 \(String(format: "%.4f", result.melL1)), \(String(format: "%.2f", seconds)) s (RTF \(String(format: "%.3f", report.realTimeFactor)))")
                }
            } catch let error as RestoreError {
                CLIOutput.error(error.description)
                failed += 1
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
