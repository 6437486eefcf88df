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
          cat take.wav | restore vocode - -o - | aplay
        """
    )

    @Argument(help: "Audio files; - reads stdin.") var inputs: [String]
    @OptionGroup var output: OutputOptions
    @OptionGroup var format: AudioFormatOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var vocoder: VocoderOption
    @Flag(help: "Print one JSON line per file (see the README's JSON output).") var json = false

    func run() throws {
        engine.apply()
        try StandardStreams.check(inputs: inputs, output: output.output, outputCount: inputs.count, json: json)
        let streams = StandardStreams()
        defer { streams.removeAll() }
        let targets = try inputs.map { try output.path(for: $0, suffix: "vocode", inputCount: inputs.count, extension: format.forcedExtension) }
        for t in targets { try format.check(target: t) }
        let vocoder = try HiFiGAN(path: ModelLocator.vocoder(explicit: vocoder.vocoder))
        let resynthesis = Resynthesis(vocoder: vocoder)
        let notes = NoteCollector()
        var failed = 0
        for (input, target) in zip(inputs, targets) {
            do {
                let readable = try streams.readablePath(input)
                let (buffer, info) = try AudioFile.read(readable)
                let file = try streams.writablePath(target, format: format.forcedExtension)
                let t0 = Date()
                let result = try resynthesis.run(buffer)
                let protected = inputs.filter { $0 != StandardStreams.marker } + [readable]
                try AudioWriter.write(result.audio, to: file, options: format.apply(to: output.writeOptions(source: info.format, inputs: protected), notes: notes))
                for note in notes.take() { CLIOutput.note(note) }
                try streams.sendStdout()
                let seconds = Date().timeIntervalSince(t0)
                let realTimeFactor = seconds / buffer.duration
                if json {
                    OutputRecord(command: "vocode", input: input, outputs: [target], seconds: seconds,
                                 report: ["mel_l1": .of(result.melL1), "real_time_factor": .of(realTimeFactor)]).print()
                } else {
                    CLIOutput.result("\(CLIOutput.shown(readable)) → \(CLIOutput.shown(file)): log-mel L1 \(String(format: "%.4f", result.melL1)), \(String(format: "%.2f", seconds)) s (RTF \(String(format: "%.3f", realTimeFactor)))",
                                     toStandardError: streams.writesStdout)
                }
            } catch let error as RestoreError {
                CLIOutput.error(error.description)
                failed += 1
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
