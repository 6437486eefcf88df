import ArgumentParser
import Foundation
import RestoreCore
import Tasks

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe audio files: format, rate, channels, duration, level, bandwidth, clipping.",
        discussion: """
        Every file is read in full, block by block. A file that cannot be read is
        reported on stderr and the others are still described; the exit code is 1
        if any file failed.

        Bandwidth is "full band" or "cut at N Hz (edge D dB over W Hz)": a cutoff is
        a steep edge (at least 25 dB, 60 dB per octave) followed by a floor that
        stays down up to Nyquist; natural roll-off is full band. Silence, DC and a
        single tone have no measurable bandwidth. Dropouts are what
        `fill-gap --detect` would fill.

        Examples:
          restore info take.wav
          restore info --json archive/*.flac > report.json
        """
    )

    @Flag(name: .long, help: "Print one JSON line per file (see the README's JSON output).")
    var json = false

    @Argument(help: "Audio files (WAV, FLAC, OGG/Vorbis, Opus, MP3, … whatever libsndfile reads).")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one audio file") }
    }

    func run() throws {
        var failed = 0
        for file in files {
            do {
                let t0 = Date()
                let report = try AudioReport.measure(path: file)
                if json {
                    // The report's keys are the names preset `when:` guards test (peak_dbfs, …).
                    var fields = try JSONValue.encodingFields(report)
                    fields["path"] = nil
                    OutputRecord(command: "info", input: file, seconds: Date().timeIntervalSince(t0), report: fields).print()
                } else {
                    print(report.text)
                }
            } catch let error as RestoreError {
                CLIOutput.error(error.description)
                failed += 1
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
