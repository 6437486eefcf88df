import Foundation
import RestoreCore
import Tasks

/// `--plot PNG`: log-mel panels (mono mix, 22 050 Hz) of the input and the output, titled
/// in the task's words, with the task's cutoff, gaps or boxes marked (`SpectrogramImage`).
/// A task without an input (generate) gets one panel per sound it wrote.
enum SpectrogramPlotter {
    /// `input` is empty when the task read none.
    static func plot(task: String, input: String, result: TaskResult, to path: String, overwrite: Bool) throws {
        guard path.lowercased().hasSuffix(".png") else { throw RestoreError.unsupportedOutputFormat(path: path, reason: "plots are .png") }
        let inputs = input.isEmpty ? [] : [input]
        try OutputGuard.check(path, inputs: inputs, overwrite: overwrite)
        let frontEnd = MelFrontEnd()
        func mel(_ p: String) throws -> MelSpectrogram {
            let (b, _) = try AudioFile.read(p)
            let mono = try Resampler.resample(AudioBuffer(sampleRate: b.sampleRate, mono: b.mixedToMono()), to: frontEnd.config.sampleRate)
            return frontEnd.normalizedMel(mono.channels[0])
        }
        var panels: [SpectrogramImage.Panel] = []
        if input.isEmpty {
            for (i, output) in result.outputs.enumerated() {
                let title = result.outputs.count == 1 ? "generated" : "generated \(i + 1) of \(result.outputs.count)"
                panels.append(.init(title: title, mel: try mel(output)))
            }
        } else {
            let titles = panelTitles(task: task)
            panels.append(.init(title: titles.input, mel: try mel(input)))
            if let output = result.outputs.first { panels.append(.init(title: titles.output, mel: try mel(output))) }
        }
        let data = try SpectrogramImage.render(panels: panels, regions: regions(of: result), config: frontEnd.config).pngData()
        try OutputGuard.write(data, to: path, inputs: inputs + result.outputs, overwrite: overwrite)
    }

    static func panelTitles(task: String) -> (input: String, output: String) {
        switch task {
        case "bwe": return ("low-pass input", "after bwe")
        default: return ("input", "after \(task)")
        }
    }

    /// What the task's report says it changed: bwe's cutoff, fill-gap's gaps, repair's boxes.
    static func regions(of result: TaskResult) -> [SpectrogramImage.Region] {
        var regions: [SpectrogramImage.Region] = []
        if case .number(let hz)? = result.report["cutoff_hz"] { regions.append(.above(hertz: hz)) }
        if case .array(let gaps)? = result.report["gaps"] {
            for case .object(let g) in gaps {
                if case .number(let s)? = g["start"], case .number(let e)? = g["end"] { regions.append(.time(start: s, end: e)) }
            }
        }
        if case .array(let boxes)? = result.report["boxes"] {
            for case .object(let b) in boxes {
                if case .number(let s)? = b["start"], case .number(let e)? = b["end"],
                   case .number(let lo)? = b["low_hz"], case .number(let hi)? = b["high_hz"] {
                    regions.append(.box(start: s, end: e, lowHertz: lo, highHertz: hi))
                }
            }
        }
        return regions
    }
}
