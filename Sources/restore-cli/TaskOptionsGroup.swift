import ArgumentParser
import Foundation
import RestoreCore
import Tasks

/// Flags every engine task shares: sampling, model, report and display.
struct SamplingOptions: ParsableArguments {
    // Numbers parse unconditionally, so that "-1" is a value that the range check rejects
    // with its own message, not a missing value followed by an unknown flag.
    @Option(parsing: .unconditional, help: "Random seed; the same seed gives the same result.") var seed: String = String(SamplingSettings().seed)
    @Option(parsing: .unconditional, help: "MaskGIT decoding iterations.") var iterations: Int = SamplingSettings().iterations
    @Option(parsing: .unconditional, help: "Gumbel temperature of the re-masking noise.") var temperature: Float = SamplingSettings().temperature
    @Option(parsing: .unconditional, help: "Classifier-free guidance at the last iteration (ramped from 0; only a prompt uses it).") var guidance: Float = SamplingSettings().guidance
    @Option(help: "How generated cells become mel: 'expected' (the mean code under the distribution each token was drawn from; the default for restoration) or 'sampled' (the drawn token's code; the default for generate).")
    var decoding: TokenDecoding?
    @OptionGroup var modelOption: ModelOption
    var model: String? { modelOption.model }

    func validate() throws {
        _ = try SeedArgument.parse(seed)
        guard (1...256).contains(iterations) else { throw ValidationError("--iterations must be between 1 and 256") }
        guard temperature >= 0, temperature <= 100 else { throw ValidationError("--temperature must be between 0 and 100") }
        guard guidance >= 0, guidance <= 100 else { throw ValidationError("--guidance must be between 0 and 100") }
    }

    var settings: SamplingSettings {
        var s = SamplingSettings(iterations: iterations, guidance: guidance, temperature: temperature, seed: (try? SeedArgument.parse(seed)) ?? 0)
        s.decoding = decoding
        return s
    }
}

extension TokenDecoding: ExpressibleByArgument {}

/// `--model`, alone for the commands that read the engine but sample nothing (embed).
struct ModelOption: ParsableArguments {
    @Option(help: "Model folder with tokenizer.safetensors and transformer.safetensors (default: Models/default).")
    var model: String?
}

/// `--seed`: any whole number from 0 to 2^64 − 1; anything else gets one clear message.
enum SeedArgument {
    static func parse(_ text: String, flag: String = "--seed") throws -> UInt64 {
        if let v = UInt64(text.trimmingCharacters(in: .whitespaces)) { return v }
        throw ValidationError("\(flag) must be a whole number between 0 and \(UInt64.max) (got '\(text)')")
    }
}

/// How a task command shows its results; `TaskCommand.run` reads these.
protocol TaskDisplay {
    var json: Bool { get }
    var plot: String? { get }
    var quiet: Bool { get }
}

struct DisplayOptions: ParsableArguments, TaskDisplay {
    @Flag(help: "Print one JSON line per file on stdout (see the README's JSON output).") var json = false
    @Option(help: "Write the input's and the output's log-mel spectrograms as a PNG, with time and kHz axes, a dB colour bar and what changed marked (one input only).")
    var plot: String?
    @Flag(name: [.short, .long], help: "No progress bar.") var quiet = false
}

/// The display options of a task that writes no audio (embed): `--plot` is not listed, and
/// is parsed only to be refused with a message rather than an unknown-option error.
struct DisplayOptionsWithoutPlot: ParsableArguments, TaskDisplay {
    @Flag(help: "Print one JSON line per file on stdout (see the README's JSON output).") var json = false
    @Option(help: .hidden) var plot: String?
    @Flag(name: [.short, .long], help: "No progress bar.") var quiet = false
}

/// Runs one task over the inputs the way every task command does: output naming, progress,
/// reports, and one failing file not stopping the others (exit code 1 at the end). `-` as an
/// input reads stdin and `-o -` writes stdout (`StandardStreams`); result lines then go to
/// stderr, so stdout holds only the audio.
enum TaskCommand {
    /// `readsInputs` is false for tasks whose "input" is only a name (generate). `format` is
    /// given by the commands that write audio; `outputsPerInput` is more than one when a task
    /// writes several files (generate --count). `samples` is false for tasks that draw no random
    /// numbers (embed): their JSON lines carry no seed.
    static func run(_ task: any RestoreTask, inputs: [String], suffix: String, extension ext: String? = nil, readsInputs: Bool = true,
                    outputsPerInput: Int = 1, samples: Bool = true, output: OutputOptions, format: AudioFormatOptions? = nil,
                    engine: EngineOptions, vocoder: String?, sampling: SamplingSettings, model: String?, display: some TaskDisplay) throws {
        engine.apply()
        var settings = try JSONValue.encodingFields(task.options)
        if samples {
            let s = sampling
            settings["iterations"] = .of(s.iterations)
            settings["temperature"] = .of(Double(s.temperature))
            settings["guidance"] = .of(Double(s.guidance))
            settings["decoding"] = .string((s.decoding ?? type(of: task).defaultDecoding).rawValue)
        }
        if display.plot != nil && inputs.count != 1 { throw ValidationError("--plot needs exactly one input") }
        try StandardStreams.check(inputs: readsInputs ? inputs : [], output: output.output,
                                  outputCount: inputs.count * outputsPerInput, json: display.json)
        let streams = StandardStreams()
        defer { streams.removeAll() }
        // Every file this call will write, found before any work: none may be an input and no
        // two may be the same file (two inputs named alike into one folder). Existing files are
        // refused per input as they come, so one of them does not stop the others.
        let targets = try inputs.map { try output.path(for: $0, suffix: suffix, inputCount: inputs.count, extension: ext ?? format?.forcedExtension) }
        for t in targets { try format?.check(target: t) }
        let protected = readsInputs ? inputs.filter { $0 != StandardStreams.marker } : []
        var planned = targets.filter { $0 != StandardStreams.marker }.flatMap { ext == nil ? [$0] : EmbeddingWriter.paths(for: $0) }
        if let plot = display.plot { planned.append(plot) }
        try OutputGuard.checkAll(planned, inputs: protected, overwrite: true)
        let loader = ModelCache(directory: model, vocoder: vocoder, withVocoder: type(of: task).writesAudio)
        let notes = NoteCollector()
        var failed = 0
        for (input, target) in zip(inputs, targets) {
            do {
                let readable = readsInputs ? try streams.readablePath(input) : input
                let file = try streams.writablePath(target, format: format?.forcedExtension)
                let source = (try? AudioFileReader(path: readable))?.info.format
                let base = output.writeOptions(source: source, inputs: readsInputs ? protected + [readable] : [])
                let bar = ProgressBar(label: input == StandardStreams.marker ? StandardStreams.stdinName : (input as NSString).lastPathComponent,
                                      enabled: !display.quiet)
                let context = TaskContext(sampling: sampling, outputPath: file,
                                          writeOptions: format.map { $0.apply(to: base, notes: notes) } ?? base,
                                          progress: { bar.update($0) }, loadModel: loader.load)
                let t0 = Date()
                let result = try task.run(input: TaskInput(path: readable), context: context)
                bar.finish()
                for note in notes.take() + context.notes { CLIOutput.note(note) }
                if let plot = display.plot {
                    try SpectrogramPlotter.plot(task: type(of: task).name, input: readsInputs ? readable : "", result: result, to: plot,
                                                overwrite: output.overwrite)
                }
                if target == StandardStreams.marker { try streams.sendStdout() }
                var shown = result
                if input == StandardStreams.marker { shown.input = StandardStreams.marker }
                let seconds = Date().timeIntervalSince(t0)
                if display.json {
                    // The model only when this input needed it (fill-gap with nothing to fill loads none).
                    let identity = loader.model == nil ? nil : ModelIdentity.of(directory: model)
                    OutputRecord(command: type(of: task).name, input: readsInputs ? shown.input : nil, outputs: shown.outputs, seconds: seconds,
                                 seed: samples ? sampling.seed : nil, settings: settings, report: shown.report, model: identity).print()
                } else {
                    report(shown, seconds: seconds, toStandardError: streams.writesStdout)
                }
            } catch let error as RestoreError {
                CLIOutput.error(error.description)
                failed += 1
            } catch let error as SafeTensorsError {
                CLIOutput.error(error.description)
                failed += 1
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }

    /// The result line without `--json`.
    static func report(_ r: TaskResult, seconds: Double, toStandardError: Bool = false) {
        let from = r.input.isEmpty ? "" : "\(r.input == StandardStreams.marker ? StandardStreams.stdinName : r.input) → "
        let details = (detail(r).map { [$0] } ?? []) + [String(format: "%.1f s", seconds)]
        CLIOutput.result("\(from)\(r.outputs.joined(separator: ", ")) (\(details.joined(separator: "; ")))", toStandardError: toStandardError)
    }

    /// What a user should see at once: for bwe, the cutoff used and the new band's level
    /// beside the octave under it (both in the JSON report too).
    static func detail(_ r: TaskResult) -> String? {
        guard case .number(let cutoff)? = r.report["cutoff_hz"], case .number(let band)? = r.report["new_band_db"],
              case .number(let below)? = r.report["below_cutoff_db"], band.isFinite, below.isFinite else { return nil }
        return String(format: "from %.0f Hz; new band %.1f dBFS, octave below %.1f dBFS", cutoff, band, below)
    }
}

/// Loads the engine once per command, on first use (by whichever job asks first); without the
/// vocoder when nothing the command runs writes audio (embed).
final class ModelCache: @unchecked Sendable {
    let directory: String?, vocoder: String?, withVocoder: Bool
    var model: EngineModel?
    private let lock = NSLock()
    init(directory: String?, vocoder: String?, withVocoder: Bool = true) {
        self.directory = directory; self.vocoder = vocoder; self.withVocoder = withVocoder
    }
    func load() throws -> EngineModel {
        lock.lock(); defer { lock.unlock() }
        if let model { return model }
        let m = try EngineModel.load(modelDirectory: directory, vocoder: vocoder, withVocoder: withVocoder)
        model = m
        return m
    }
}

/// A one-line progress bar on stderr: only on a terminal, only after the first second.
final class ProgressBar: @unchecked Sendable {
    let label: String
    let enabled: Bool
    let start = Date()
    var shown = false
    private let lock = NSLock()

    init(label: String, enabled: Bool) {
        self.label = label
        self.enabled = enabled && isatty(2) == 1
    }

    func update(_ fraction: Double) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let elapsed = Date().timeIntervalSince(start)
        guard elapsed > 1 else { return }
        shown = true
        let f = max(0, min(1, fraction)), width = 30
        let filled = Int(f * Double(width))
        let eta = f > 0.01 ? String(format: " ETA %.0fs", elapsed / f - elapsed) : ""
        let line = "\r\(label) [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(Int(f * 100))%\(eta)\u{1B}[K"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        guard enabled, shown else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
