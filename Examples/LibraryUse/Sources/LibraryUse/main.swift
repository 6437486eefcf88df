// Bandwidth extension from Swift: what `restore bwe IN -o OUT` does, through the Tasks and
// RestoreCore libraries, then a check that the output has the new band the input lacks.
//
//   swift run -c release library-use in.wav out.wav
//
// The models are found as the restore binary finds them: $RESTORE_MODELS (a folder holding
// default/ and pretrained/), ./Models, or an installed copy.
import Foundation
import RestoreCore
import Tasks

/// Why the example stopped.
enum LibraryUseError: Error, CustomStringConvertible {
    case usage
    case copied(notes: [String])
    case noNewBand(cutoff: Double, inputDB: Double, outputDB: Double)

    var description: String {
        switch self {
        case .usage: return "usage: library-use INPUT OUTPUT"
        case .copied(let notes): return "bwe copied the input unchanged: " + notes.joined(separator: "; ")
        case .noNewBand(let cutoff, let inputDB, let outputDB):
            return String(format: "no new band above %.0f Hz: %.1f dB in the input, %.1f dB in the output", cutoff, inputDB, outputDB)
        }
    }
}

/// The level (dB, relative to the band below `cutoff`) of the band from just above `cutoff`
/// to 7.5 kHz, where the engine's new band lies (`BandLevel`: the long-term spectrum's power).
func newBandLevel(path: String, cutoff: Double) throws -> Double {
    let levels = try BandLevel.dBFS(path: path, bands: [(cutoff + 500)...7500, 100...(cutoff - 500)])
    return levels[0] - levels[1]
}

func run() throws {
    let arguments = Array(CommandLine.arguments.dropFirst())
    guard arguments.count == 2 else { throw LibraryUseError.usage }
    let (input, output) = (arguments[0], arguments[1])

    // Two threads for this job (the engine's setting lives with the calling thread).
    ExecutionContext(threads: 2).adopt()

    var options = BandwidthExtension.Options()
    options.cutoff = .auto
    let task = try BandwidthExtension(options: options)
    let context = TaskContext(outputPath: output, loadModel: { try EngineModel.load() })
    let result = try task.run(input: TaskInput(path: input), context: context)
    for note in context.notes { print("note: \(note)") }

    guard result.report["copied"] == nil, case .number(let cutoff)? = result.report["cutoff_hz"] else {
        throw LibraryUseError.copied(notes: context.notes)
    }
    let before = try newBandLevel(path: input, cutoff: cutoff)
    let after = try newBandLevel(path: output, cutoff: cutoff)
    print(String(format: "bwe: %@ -> %@, cutoff %.0f Hz, band above it %.1f dB -> %.1f dB (relative to the band below)",
                 input, result.outputs.joined(separator: ", "), cutoff, before, after))
    // The low-pass leaves the band 60 dB or more down; the engine's band is within ~30 dB.
    guard after > before + 20 else { throw LibraryUseError.noNewBand(cutoff: cutoff, inputDB: before, outputDB: after) }
}

do {
    try run()
} catch {
    FileHandle.standardError.write(Data("library-use: \(error)\n".utf8))
    exit(1)
}
