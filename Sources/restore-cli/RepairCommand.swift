import ArgumentParser
import Foundation
import RestoreCore
import Tasks

struct RepairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Regenerate time-frequency boxes (a cough, a phone ring, a squeak) from their surroundings.",
        discussion: """
        Each box is a time span (--at, --length) and optionally a band (--band
        LOW-HIGH in Hz; without it, every frequency). The engine's token rows and
        columns that cover the box are masked and regenerated from everything around
        them; the result replaces the input inside the box only, with smooth edges
        (--ramp in time, a sixth of an octave in frequency). Outside the boxes the
        input is untouched. Repeat --at for several boxes, with one --length and
        --band for all of them or one each.

        Examples:
          restore repair --at 2.1s --length 0.3s --band 1k-5k take.wav
          restore repair --at 2.1s --at 7s --length 0.2s take.wav -o fixed.wav
        """
    )

    @Argument(help: "Audio files; - reads stdin.") var inputs: [String]
    @Option(parsing: .unconditionalSingleValue, help: "Start of a box (repeatable): 2.1s, 350ms, 1:02.5.") var at: [String] = []
    @Option(parsing: .unconditionalSingleValue, help: "Length of the boxes: one for all, or one per --at.") var length: [String] = []
    @Option(parsing: .unconditionalSingleValue, help: "Band of the boxes in Hz, LOW-HIGH (1k-5k): one for all, or one per --at; default all.")
    var band: [String] = []
    @Option(parsing: .unconditional, help: "Edge of each box in time.") var ramp: String = Repair.Options().ramp.typed
    @OptionGroup var output: OutputOptions
    @OptionGroup var format: AudioFormatOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var vocoder: VocoderOption
    @OptionGroup var display: DisplayOptions

    func run() throws {
        var o = Repair.Options()
        o.at = try at.map { try FillGapCommand.time($0, "--at") }
        o.length = try length.map { try FillGapCommand.time($0, "--length") }
        o.band = band
        o.ramp = try FillGapCommand.time(ramp, "--ramp")
        let task = try Repair(options: o)
        try TaskCommand.run(task, inputs: inputs, suffix: "repaired", output: output, format: format, engine: engine, vocoder: vocoder.vocoder, sampling: sampling.settings, model: sampling.model, display: display)
    }
}
