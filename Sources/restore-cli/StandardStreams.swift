import ArgumentParser
import Foundation
import RestoreCore

/// `-` on the command line: stdin as an input, stdout as the output (`-o -`).
///
/// Both go through a private folder in $TMPDIR, so every reader and writer keeps working on
/// files: stdin is read whole into a file first (the tasks read their input more than once:
/// a scan, then the stream), and the output is written there and sent to stdout only once it
/// is complete (a WAV header holds the length, known at the end; a failed run sends nothing).
/// The folder is removed when the command ends, and on Ctrl-C.
final class StandardStreams {
    static let marker = "-"
    /// How messages name the streams.
    static let stdinName = "stdin", stdoutName = "stdout"

    private var folder: String?
    private(set) var stdinFile: String?
    private(set) var stdoutFile: String?

    /// True when the command's output is stdout: its human-readable lines then go to stderr.
    var writesStdout: Bool { stdoutFile != nil }

    /// Refuses what `-` cannot do, before any work: stdin twice, stdin or stdout on a
    /// terminal, several outputs on stdout, and `--json` next to audio on stdout.
    static func check(inputs: [String], output: String?, outputCount: Int, json: Bool) throws {
        if inputs.filter({ $0 == marker }).count > 1 {
            throw RestoreError.invalidArgument("stdin (-) can be read once; give it as one input")
        }
        if inputs.contains(marker) && isatty(0) == 1 {
            throw RestoreError.invalidArgument("stdin is a terminal; pipe audio in (cat in.wav | restore … - -o out.wav) or name a file")
        }
        guard output == marker else { return }
        if json { throw RestoreError.invalidArgument("--json and -o - both write to stdout; write the audio to a file or leave out --json") }
        if outputCount > 1 { throw RestoreError.invalidArgument("-o - (stdout) holds one output; give a folder (-o out/) for several") }
        if isatty(1) == 1 { throw RestoreError.invalidArgument("-o -: stdout is a terminal; redirect it (> out.wav) or pipe it") }
    }

    /// The file a reader opens for `input`: the input itself, or stdin copied to a file.
    func readablePath(_ input: String) throws -> String {
        guard input == Self.marker else { return input }
        if let stdinFile { return stdinFile }
        let head = try copyStdin()
        // libsndfile tells every container by its header except a bare MPEG stream, which
        // it knows by the .mp3 name: an ID3 tag or an MPEG frame sync gets that name.
        let isMPEG = head.starts(with: Array("ID3".utf8)) || (head.count > 1 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0)
        var path = try privateFolder() + "/" + Self.stdinName
        if isMPEG {
            try FileManager.default.moveItem(atPath: path, toPath: path + ".mp3")
            path += ".mp3"
        }
        stdinFile = path
        CLIOutput.alias(path, as: Self.stdinName)
        return path
    }

    /// The file a writer writes for `target`: the target itself, or the file sent to stdout,
    /// named with the container's extension (`format`, default WAV).
    func writablePath(_ target: String, format: String?) throws -> String {
        guard target == Self.marker else { return target }
        if let stdoutFile { return stdoutFile }
        let path = try privateFolder() + "/" + Self.stdoutName + "." + (format ?? "wav")
        stdoutFile = path
        CLIOutput.alias(path, as: Self.stdoutName)
        return path
    }

    /// Sends the finished output to stdout (once the command wrote it).
    func sendStdout() throws {
        guard let stdoutFile else { return }
        guard let file = FileHandle(forReadingAtPath: stdoutFile) else {
            throw RestoreError.writeFailed(path: Self.stdoutName, reason: "the output was not written")
        }
        defer { try? file.close() }
        while let chunk = try file.read(upToCount: 1 << 20), !chunk.isEmpty {
            try FileHandle.standardOutput.write(contentsOf: chunk)
        }
    }

    /// Removes the private folder (stdin's copy and stdout's file).
    func removeAll() {
        guard let folder else { return }
        TemporaryFiles.shared.removeFolder(folder)
        self.folder = nil
    }

    deinit { removeAll() }

    private func privateFolder() throws -> String {
        if let folder { return folder }
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((base as NSString).appendingPathComponent("restore-\(getpid())-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw RestoreError.writeFailed(path: base, reason: "cannot make a temporary folder for - (\(String(cString: strerror(errno))))")
        }
        let path = String(cString: made)
        TemporaryFiles.shared.registerFolder(path)
        folder = path
        return path
    }

    /// Copies stdin to the private folder; returns its first bytes (to tell the container).
    private func copyStdin() throws -> [UInt8] {
        let path = try privateFolder() + "/" + Self.stdinName
        guard FileManager.default.createFile(atPath: path, contents: nil), let out = FileHandle(forWritingAtPath: path) else {
            throw RestoreError.writeFailed(path: path, reason: "cannot hold stdin")
        }
        defer { try? out.close() }
        var head: [UInt8] = []
        do {
            while let chunk = try FileHandle.standardInput.read(upToCount: 1 << 20), !chunk.isEmpty {
                if head.count < 4 { head += chunk.prefix(4 - head.count) }
                try out.write(contentsOf: chunk)
            }
        } catch {
            throw RestoreError.unreadable(path: Self.stdinName, reason: error.localizedDescription)
        }
        return head
    }
}

/// The audio container and quality of what a command writes (the audio commands only).
struct AudioFormatOptions: ParsableArguments {
    @Option(help: "Container of the output when -o names no file: beside the input, in a folder, or on stdout (-o -, default wav).")
    var format: AudioContainer?

    @Option(parsing: .unconditional, help: "Quality of lossy output (.ogg, .mp3, .opus), from 0 (smallest) to 1 (best); default: the encoder's.")
    var quality: Double?

    @Option(help: "Sample encoding: keep (the input's), pcm16, pcm24 or float.")
    var encoding: SampleEncoding = .keep

    func validate() throws {
        if let quality, !(0...1).contains(quality) { throw ValidationError("--quality must be between 0 and 1 (got \(quality))") }
    }

    /// The extension outputs named by `restore` take (beside the input, in a folder, on stdout).
    var forcedExtension: String? { format?.rawValue }

    /// Refuses, before any work, `--format` naming another container than the output file
    /// does, and `--quality` for a lossless one.
    func check(target: String) throws {
        let toStdout = target == StandardStreams.marker
        let ext = toStdout ? (format?.rawValue ?? "wav") : (target as NSString).pathExtension.lowercased()
        if let format, !toStdout, ext != format.rawValue {
            throw RestoreError.invalidArgument("--format \(format.rawValue) does not match the output \(target); name it .\(format.rawValue) or leave out --format")
        }
        if quality != nil, !AudioWriter.lossyExtensions.contains(ext) {
            throw RestoreError.invalidArgument("--quality applies to lossy output (ogg, mp3, opus); \(toStdout ? "stdout" : target) is \(ext.isEmpty ? "wav" : ext), which is lossless")
        }
    }

    /// The write options with this encoding and quality, and notes collected for the user.
    func apply(to options: AudioWriteOptions, notes: NoteCollector) -> AudioWriteOptions {
        var o = options
        o.encoding = encoding
        o.quality = quality
        o.note = { notes.add($0) }
        return o
    }
}

enum AudioContainer: String, CaseIterable, ExpressibleByArgument {
    case wav, flac, ogg, mp3, opus
}

/// Notes the writers give while a task runs, printed with the task's own after it (a line
/// in the middle would break the progress bar).
final class NoteCollector: @unchecked Sendable {
    private var lines: [String] = []
    private let lock = NSLock()
    func add(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    /// The notes so far, emptied.
    func take() -> [String] {
        lock.lock(); defer { lines = []; lock.unlock() }
        return lines
    }
}
