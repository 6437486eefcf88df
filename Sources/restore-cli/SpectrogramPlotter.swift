import Foundation
import RestoreCore
import Tasks

/// `--plot PNG`: the input's and the output's log-mel (mono mix, 22 050 Hz), stacked, with
/// what the task changed outlined on the output.
enum SpectrogramPlotter {
    static func plot(task: String, input: String, output: String?, result: TaskResult, to path: String, overwrite: Bool) throws {
        guard path.lowercased().hasSuffix(".png") else { throw RestoreError.unsupportedOutputFormat(path: path, reason: "plots are .png") }
        let inputs = input.isEmpty ? [] : [input]
        try OutputGuard.check(path, inputs: inputs, overwrite: overwrite)
        let fe = MelFrontEnd()
        func mel(_ p: String) throws -> MelSpectrogram {
            let (b, _) = try AudioFile.read(p)
            return fe.normalizedMel(try Resampler.resample(AudioBuffer(sampleRate: b.sampleRate, mono: b.mixedToMono()), to: fe.config.sampleRate).channels[0])
        }
        var panels: [MelSpectrogram] = []
        if !input.isEmpty, FileManager.default.fileExists(atPath: input) { panels.append(try mel(input)) }
        if let output, task != "embed" { panels.append(try mel(output)) }
        var regions: [SpectrogramImage.Region] = []
        if case .number(let hz)? = result.report["cutoff_hz"] { regions.append(.above(hertz: hz)) }
        if case .array(let gaps)? = result.report["gaps"] {
            for case .object(let g) in gaps {
                if case .number(let s)? = g["start"], case .number(let e)? = g["end"] { regions.append(.time(start: s, end: e)) }
            }
        }
        let data = try SpectrogramImage.render(panels: panels, regions: regions).pngData()
        try OutputGuard.write(data, to: path, inputs: inputs + (output.map { [$0] } ?? []), overwrite: overwrite)
    }
}
