import ArgumentParser
import Foundation
import RestoreCore

@main
struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Audio restoration and generation on one masked generative engine (SpecMaskGIT).",
        discussion: """
        Examples:
          restore bwe --lfr lowpass.wav        # regenerate the band above a low-pass
          restore fill-gap --at 1.2s take.wav  # fill the dropout at 1.2 s
          restore generate --duration 5        # 5 s of new audio
          restore embed music.wav              # clip and per-timestamp embeddings
          restore run dropout-repair in/ -o out/  # a preset over a folder
          restore info --json *.flac           # format, level, bandwidth, clipping
          restore vocode take.wav              # resynthesise through the vocoder
          restore tokenize take.wav            # round-trip through the engine's tokens
        """,
        version: RestoreVersion.string,
        subcommands: [Bwe.self, FillGapCommand.self, RepairCommand.self, GenerateCommand.self, EmbedCommand.self, Run.self, ManifestCommand.self, Presets.self, ProbeCommand.self, Info.self, Vocode.self, Tokenize.self]
    )

    /// One-line errors naming the file, exit code 1; never a stack trace for user input.
    static func main() {
        Interrupts.install()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as RestoreError {
            CLIOutput.error(error.description)
            Foundation.exit(1)
        } catch let error as SafeTensorsError {
            CLIOutput.error(error.description)
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}

enum RestoreVersion {
    static let string = "0.1.0"
}

enum CLIOutput {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("restore: error: \(shown(message))\n".utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data("restore: note: \(shown(message))\n".utf8))
    }

    /// A result line: on stdout, or on stderr when stdout carries the audio (`-o -`).
    static func result(_ line: String, toStandardError: Bool) {
        if toStandardError { FileHandle.standardError.write(Data("\(shown(line))\n".utf8)) } else { print(shown(line)) }
    }

    // Set on the main thread before any work starts (the private files behind `-`), read
    // when messages are printed.
    nonisolated(unsafe) private static var aliases: [(path: String, name: String)] = []

    /// Messages name `path` as `name` from now on (stdin's copy is "stdin", not a temporary file).
    static func alias(_ path: String, as name: String) { aliases.append((path, name)) }

    static func shown(_ text: String) -> String {
        aliases.reduce(text) { $0.replacingOccurrences(of: $1.path, with: $1.name) }
    }
}
