import ArgumentParser
import Foundation
import RestoreCore

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Round-trip audio through the engine's tokens: mel → tokens → mel → vocoder → audio.",
        discussion: """
        Shows what the token space can represent of a recording (a debugging and
        evaluation aid). Each channel is tokenized at 22 050 Hz in 10 s windows
        (5 rows × 53 columns of tokens each) and decoded again; the output keeps the
        input's rate and channel count. --tokens writes the token grids as .npy
        (channels × rows × columns).

        Examples:
          restore tokenize take.wav                     # writes take.tokenize.wav
          restore tokenize take.flac -o out/ --tokens take.tokens.npy
          cat take.wav | restore tokenize - -o - > round-trip.wav
        """
    )

    @Argument(help: "An audio file; - reads stdin.") var input: String
    @OptionGroup var output: OutputOptions
    @OptionGroup var format: AudioFormatOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var vocoder: VocoderOption
    @Option(help: "Tokenizer weights (default: Models/default/tokenizer.safetensors).") var tokenizer: String?
    @Option(help: "Also write the token ids as a .npy file.") var tokens: String?
    @Flag(help: "Print one JSON line (see the README's JSON output).") var json = false

    func run() throws {
        engine.apply()
        try StandardStreams.check(inputs: [input], output: output.output, outputCount: 1, json: json)
        let streams = StandardStreams()
        defer { streams.removeAll() }
        let target = try output.path(for: input, suffix: "tokenize", inputCount: 1, extension: format.forcedExtension)
        try format.check(target: target)
        let protected = input == StandardStreams.marker ? [] : [input]
        // Every output checked before any work: never the input, never one file twice.
        try OutputGuard.checkAll((target == StandardStreams.marker ? [] : [target]) + (tokens.map { [$0] } ?? []), inputs: protected, overwrite: output.overwrite)
        let tokPath = try ModelLocator.tokenizer(explicit: tokenizer), vocPath = try ModelLocator.vocoder(explicit: vocoder.vocoder)
        try ModelVerification.verify(files: [tokPath, vocPath], manifestFolder: (tokPath as NSString).deletingLastPathComponent)
        let t0 = Date()
        let tok = try SpectrogramTokenizer(path: tokPath)
        let voc = try HiFiGAN(path: vocPath)
        let readable = try streams.readablePath(input)
        let file = try streams.writablePath(target, format: format.forcedExtension)
        let (buffer, info) = try AudioFile.read(readable)
        let result = try TokenRoundTrip(tokenizer: tok, vocoder: voc).run(buffer)
        let notes = NoteCollector()
        try AudioWriter.write(result.audio, to: file, options: format.apply(to: output.writeOptions(source: info.format, inputs: protected + [readable]), notes: notes))
        for note in notes.take() { CLIOutput.note(note) }
        let g = result.grids[0]
        if let tokens {
            let values = result.grids.flatMap { $0.ids.map(Float.init) }
            let data = NumpyArray(shape: [result.grids.count, g.rows, g.columns], values: values).encoded()
            try OutputGuard.write(data, to: tokens, inputs: protected + [readable, file], overwrite: output.overwrite)
        }
        try streams.sendStdout()
        let distinct = Set(result.grids.flatMap(\.ids)).count
        if json {
            OutputRecord(command: "tokenize", input: input, outputs: [target] + (tokens.map { [$0] } ?? []), seconds: Date().timeIntervalSince(t0),
                         report: ["mel_l1": .of(result.melL1), "rows": .of(g.rows), "columns": .of(g.columns), "distinct_tokens": .of(distinct)],
                         model: ModelIdentity.of(tokenizer: tokPath)).print()
        } else {
            CLIOutput.result("\(CLIOutput.shown(readable)) → \(CLIOutput.shown(file)): \(g.rows)×\(g.columns) tokens per channel (\(distinct) distinct), normalised-mel L1 \(String(format: "%.4f", result.melL1))",
                             toStandardError: streams.writesStdout)
        }
    }
}
