import ArgumentParser
import Foundation
import RestoreCore

/// Where results are written; shared by every command that writes files (how audio is
/// encoded is `AudioFormatOptions`, which only the commands that write audio take).
struct OutputOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Output file, or an existing folder to write into. Default: beside the input, named <input>.<command>.<ext>.")
    var output: String?

    @Flag(help: "Replace an existing output file (an input file is never replaced).")
    var overwrite = false

    /// The output path for `input`, written by command `suffix`; `-` for stdout (`-o -`).
    func path(for input: String, suffix: String, inputCount: Int, extension forced: String? = nil) throws -> String {
        if output == StandardStreams.marker {
            // Only audio goes to stdout; other artifacts (embeddings) are files.
            guard forced.map(AudioWriter.outputExtensions.contains) ?? true else {
                throw RestoreError.invalidArgument("-o - (stdout) carries audio only; write .\(forced ?? "") files to a file or folder")
            }
            return StandardStreams.marker
        }
        let fromStdin = input == StandardStreams.marker
        let url = URL(fileURLWithPath: fromStdin ? StandardStreams.stdinName : input)
        var ext = url.pathExtension.lowercased()
        if !AudioWriter.writableExtensions.contains(ext) { ext = "wav" }
        if let forced { ext = forced }
        let stem = url.deletingPathExtension().lastPathComponent
        guard let output else {
            if fromStdin { throw RestoreError.invalidArgument("stdin (-) has no name to write beside; give -o FILE, -o FOLDER/ or -o - (stdout)") }
            return ((input as NSString).deletingLastPathComponent as NSString).appendingPathComponent("\(stem).\(suffix).\(ext)")
        }
        var isDir: ObjCBool = false
        if output.hasSuffix("/") || (FileManager.default.fileExists(atPath: output, isDirectory: &isDir) && isDir.boolValue) {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            return (output as NSString).appendingPathComponent("\(stem).\(ext)")
        }
        if inputCount > 1 {
            throw RestoreError.invalidArgument("-o \(output): several inputs need an output folder, not a file")
        }
        return output
    }

    /// Completed by `AudioFormatOptions.apply` for audio.
    func writeOptions(source: AudioFormat?, inputs: [String]) -> AudioWriteOptions {
        AudioWriteOptions(encoding: .keep, overwrite: overwrite, protectedPaths: inputs, sourceFormat: source)
    }
}

extension SampleEncoding: ExpressibleByArgument {}

/// Threads; shared by every command that runs the engine.
struct EngineOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Threads for the engine and BLAS (default: all cores).")
    var threads: Int?

    func validate() throws {
        guard (threads ?? 1) >= 1 && (threads ?? 1) <= 256 else { throw ValidationError("--threads must be between 1 and 256") }
    }

    /// The command's execution context: --threads, or every core this process may use.
    var context: ExecutionContext { threads.map { ExecutionContext(threads: $0) } ?? .machine }

    /// Makes the command's context the main thread's, where its one job runs.
    func apply() { context.adopt() }
}

/// `--vocoder`; only the commands that turn mel into audio take it (embed does not).
struct VocoderOption: ParsableArguments {
    @Option(help: "Vocoder weights (default: Models/pretrained/hifigan-universal.safetensors).")
    var vocoder: String?
}

/// `--level-guard DB|off` (bwe, fill-gap) and `--fill-floor DB|off` (fill-gap): dB, or nil for off.
enum LevelGuardArgument {
    static func text(_ value: Double?) -> String { value.map { String(format: "%g", $0) } ?? "off" }
    static func parse(_ text: String, flag: String = "--level-guard") throws -> Double? {
        if text == "off" { return nil }
        guard let g = Double(text) else { throw ValidationError("\(flag) '\(text)' is not a number of dB or off") }
        return g
    }
}
