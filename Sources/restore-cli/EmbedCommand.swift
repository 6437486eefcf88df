import ArgumentParser
import Foundation
import RestoreCore
import Tasks

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embeddings from the engine: one vector per clip and one per 186 ms column.",
        discussion: """
        The transformer sees every token (nothing masked, no condition). A column's
        embedding holds the chosen blocks' hidden states of its 5 rows (frequency
        bands) side by side: 5 x the model's width, 1280 values for the default
        model (width 256; --rows average gives 256). The clip embedding is their
        mean and standard deviation over time (2 x 1280 values; see --pool).
        Written as .npy (the clip vector, with <name>.columns.npy beside it: time
        in seconds, then the vector, one row per column), .json or .safetensors,
        by the output's extension.

        Examples:
          restore embed music.wav                       # music.embed.npy + music.embed.columns.npy
          restore embed --layer 3 --pool mean --rows average *.flac -o embeddings/
          restore embed take.wav -o take.json
          restore embed --features mfcc *.wav -o mfcc/   # the MFCC baseline
          restore embed --text "rain on a tin roof"      # the MiniLM text embedding
        """
    )

    @Argument(help: "Audio files.") var inputs: [String] = []
    @Option(help: "Embed this text with MiniLM instead (384 values; JSON on stdout, or -o FILE.npy/.json).") var text: String?
    @Option(parsing: .unconditional, help: "Transformer blocks to average: an index (negative from the last), a list 4,5, or all.") var layer: String = Embed.Options().layers.map(String.init).joined(separator: ",")
    @Option(help: "Pooling over time: mean, max, mean+max or mean+std.") var pool: Embed.Pool = .meanstd
    @Option(help: "A column's rows (frequency bands): separate (side by side) or average.") var rows: Embed.Rows = .separate
    @Option(help: "engine (the transformer's states), latents (the tokenizer's encoder output), engine+latents (both side by side) or mfcc (20 MFCCs + deltas, mean and std: the baseline).")
    var features: Embed.Features = .engine
    @Option(help: "Output format when -o is a folder or absent: npy, json or safetensors.") var format: String = "npy"
    @OptionGroup var output: OutputOptions
    @OptionGroup var model: ModelOption
    @OptionGroup var engine: EngineOptions
    @OptionGroup var display: DisplayOptionsWithoutPlot

    func run() throws {
        // Embeddings are not audio: there is no before and after to draw.
        if display.plot != nil {
            throw RestoreError.invalidArgument("--plot draws the audio a task read and wrote; embed writes no audio (plots are for bwe, fill-gap, repair and generate)")
        }
        if let text {
            guard inputs.isEmpty else { throw ValidationError("--text embeds text; give no audio files with it") }
            try embedText(text)
            return
        }
        guard !inputs.isEmpty else { throw ValidationError("give audio files to embed, or --text TEXT") }
        var o = Embed.Options()
        o.layers = try Embed.Options.parseLayers(layer)
        o.pool = pool
        o.rows = rows
        o.features = features
        guard EmbeddingWriter.extensions.contains(format) else { throw ValidationError("--format must be npy, json or safetensors") }
        let task = try Embed(options: o)
        try TaskCommand.run(task, inputs: inputs, suffix: "embed", extension: format, samples: false, output: output, engine: engine, vocoder: nil, sampling: SamplingSettings(), model: model.model, display: display)
    }
}

extension EmbedCommand {
    /// `--text`: the MiniLM sentence embedding (the engine's condition space).
    func embedText(_ text: String) throws {
        engine.apply()
        let t0 = Date()
        let m = try MiniLM.load()
        let v = m.embed(text)
        let vector = JSONValue.array(v.map { .number(Double($0)) })
        guard let path = output.output else {
            // Without -o the vector is the result: a JSON line whether or not --json was given.
            OutputRecord(command: "embed", input: nil, seconds: Date().timeIntervalSince(t0), settings: ["text": .string(text)],
                         report: ["dimension": .of(v.count), "embedding": vector]).print()
            return
        }
        try OutputGuard.check(path, inputs: [], overwrite: output.overwrite)
        let data: Data
        switch (path as NSString).pathExtension.lowercased() {
        case "npy": data = NumpyArray(shape: [v.count], values: v).encoded()
        case "json": data = Data(JSONText.render(.object(["text": .string(text), "embedding": vector])).utf8)
        default: throw RestoreError.unsupportedOutputFormat(path: path, reason: "text embeddings are written as .npy or .json")
        }
        try OutputGuard.write(data, to: path, overwrite: output.overwrite)
        if display.json {
            OutputRecord(command: "embed", input: nil, outputs: [path], seconds: Date().timeIntervalSince(t0), settings: ["text": .string(text)],
                         report: ["dimension": .of(v.count)]).print()
        } else {
            print("\(path): \(v.count)-d MiniLM embedding of \(text.debugDescription)")
        }
    }
}

extension Embed.Pool: ExpressibleByArgument {}
extension Embed.Rows: ExpressibleByArgument {}
extension Embed.Features: ExpressibleByArgument {}

extension FileManager {
    func isDirectory(_ path: String) -> Bool {
        var d: ObjCBool = false
        return fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }
}
