import ArgumentParser
import Foundation
import RestoreCore
import Tasks

struct FillGapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fill-gap",
        abstract: "Fill gaps and dropouts with audio generated from the surroundings.",
        discussion: """
        Each gap is masked in the engine's token grid (every row of the columns it
        touches) and regenerated with up to 10 s of context around it; the result is
        spliced in with short crossfades and its gain matched to the neighbouring
        audio. Nothing outside the gaps and their crossfades changes. --at without
        --length fills the dropout (digital silence) that starts there.

        --detect fills dropouts: digital silence of --min-dropout to --max-dropout
        entered and left abruptly, with the signal on both sides well above the
        recording's noise floor. Silence at the start or end, a decay into silence
        and a noise gate closing are pauses, and are left alone. --list prints the
        gaps that would be filled and writes nothing (no model is loaded).

        Examples:
          restore fill-gap --at 1.2s take.wav                   # the dropout at 1.2 s
          restore fill-gap --at 1.2s --length 0.4s --at 3s --length 0.1s take.wav
          restore fill-gap --gaps 1.2-1.6,3.0-3.1 take.wav -o fixed.wav
          restore fill-gap --detect tape.flac                   # dropouts of 20–500 ms
          restore fill-gap --detect --list tape.flac            # only list them
        """
    )

    @Argument(help: "Audio files; - reads stdin.") var inputs: [String]
    @Option(parsing: .unconditionalSingleValue, help: "Start of a gap (repeatable): 1.2s, 350ms, 1:02.5.") var at: [String] = []
    @Option(parsing: .unconditional, help: "Length of the gaps given by --at (default: the dropout found there).") var length: String?
    @Option(help: "Gaps as START-END pairs, comma-separated: 1.2-1.6,3.0-3.1.") var gaps: String?
    @Flag(help: "Find dropouts (digital silence inside the signal) and fill them.") var detect = false
    @Option(parsing: .unconditional, help: "Shortest dropout --detect fills.") var minDropout: String = FillGap.Options().minDropout.typed
    @Option(parsing: .unconditional, help: "Longest dropout --detect fills; longer silences are pauses.") var maxDropout: String = FillGap.Options().maxDropout.typed
    @Flag(help: "Print the gaps that would be filled and write nothing.") var list = false
    @Option(parsing: .unconditional, help: "Crossfade at each edge of a gap.") var crossfade: String = FillGap.Options().crossfade.typed
    @Flag(help: "Process stereo as mid and side instead of left and right.") var midSide = false
    @Option(parsing: .unconditional, help: "Move generated cells further than this many dB from the level beside the gap to that distance; off to disable.")
    var levelGuard: String = LevelGuardArgument.text(FillGap.Options().levelGuard)
    @Option(parsing: .unconditional, help: "In gaps up to 1 s, raise generated cells more than this many dB under the louder side of the gap to that level; off to disable.")
    var fillFloor: String = LevelGuardArgument.text(FillGap.Options().fillFloor)
    @OptionGroup var output: OutputOptions
    @OptionGroup var format: AudioFormatOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var vocoder: VocoderOption
    @OptionGroup var display: DisplayOptions

    static func time(_ s: String, _ flag: String) throws -> TimeValue {
        guard let t = TimeValue(parsing: s) else { throw ValidationError("\(flag) '\(s)' is not a time (e.g. 1.2s, 350ms, 1:02.5)") }
        return t
    }

    func run() throws {
        var o = FillGap.Options()
        o.at = try at.map { try Self.time($0, "--at") }
        o.length = try length.map { try Self.time($0, "--length") }
        o.gaps = gaps
        o.detect = detect
        o.minDropout = try Self.time(minDropout, "--min-dropout")
        o.maxDropout = try Self.time(maxDropout, "--max-dropout")
        o.crossfade = try Self.time(crossfade, "--crossfade")
        o.channels = midSide ? .midSide : .perChannel
        o.levelGuard = try LevelGuardArgument.parse(levelGuard)
        o.fillFloor = try LevelGuardArgument.parse(fillFloor, flag: "--fill-floor")
        let task = try FillGap(options: o)
        if list { return try Self.list(task, inputs: inputs, json: display.json) }
        try TaskCommand.run(task, inputs: inputs, suffix: "filled", output: output, format: format, engine: engine, vocoder: vocoder.vocoder, sampling: sampling.settings, model: sampling.model, display: display)
    }

    /// `--list`: the gaps per file, one line each (or one JSON line each); nothing is written.
    static func list(_ task: FillGap, inputs: [String], json: Bool) throws {
        try StandardStreams.check(inputs: inputs, output: nil, outputCount: 0, json: json)
        let streams = StandardStreams()
        defer { streams.removeAll() }
        let settings = try JSONValue.encodingFields(task.options).merging(["list": true]) { $1 }
        var failed = 0
        for input in inputs {
            do {
                let t0 = Date()
                let p = try task.plan(path: try streams.readablePath(input))
                if json {
                    let gaps: [JSONValue] = p.gaps.map { .object(["start": .of($0.start), "end": .of($0.end)]) }
                    OutputRecord(command: "fill-gap", input: input, seconds: Date().timeIntervalSince(t0), settings: settings,
                                 report: ["gaps": .array(gaps), "detected": .of(p.detected)]).print()
                } else {
                    let spans = p.gaps.map { String(format: "%.3f–%.3f s (%.0f ms)", $0.start, $0.end, $0.length * 1000) }
                    print("\(input == StandardStreams.marker ? StandardStreams.stdinName : input): \(p.gaps.count) gap\(p.gaps.count == 1 ? "" : "s") to fill\(spans.isEmpty ? "" : ": " + spans.joined(separator: ", "))")
                }
            } catch let error as RestoreError {
                CLIOutput.error(error.description)
                failed += 1
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
