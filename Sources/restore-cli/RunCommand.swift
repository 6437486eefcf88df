import ArgumentParser
import Foundation
import RestoreCore
import Tasks

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a preset pipeline over files and folders (batch restoration).",
        discussion: """
        Folders are walked recursively for audio files; the layout below each folder
        is mirrored in the output folder, files keep their format. The preset is
        validated before any audio is read. A manifest (restore-manifest.jsonl) in
        the output folder records each file's status, checksum, preset hash, timing
        and error: a rerun skips files already done with the same input and preset
        and retries failed ones. One bad file never stops the batch; the exit code
        is 1 if any file failed. Ctrl-C leaves no partial output.

        Examples:
          restore run Presets/dropout-repair.yaml Examples/ -o out/
          restore run phone-speech-to-wideband calls/ -o wide/ --jobs 2
          restore run lossy-music-brighten music/ -o out/ --shard 2/8   # job 2 of 8
        """
    )

    @Argument(help: "A preset file, or the name of a built-in preset (see `restore presets`).") var preset: String
    @Argument(help: "Audio files and folders.") var inputs: [String]
    @Option(name: [.short, .long], help: "Output folder.") var output: String
    @Option(help: "Files processed in parallel; the thread budget is shared between them.") var jobs = 1
    @Option(help: "Process only shard K of N (K/N): a deterministic split by file name.") var shard: String?
    @Flag(help: "Replace existing outputs not written by an earlier run.") var overwrite = false
    @Option(help: "Model folder with tokenizer.safetensors and transformer.safetensors (default: Models/default).") var model: String?
    @OptionGroup var engine: EngineOptions
    @Flag(name: [.short, .long], help: "No progress display.") var quiet = false
    @Flag(help: "Print the summary as JSON.") var json = false

    func validate() throws {
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be between 1 and 64") }
    }

    struct Summary: Encodable {
        var preset: String, inputs: Int, done: Int, skipped: Int, failed: Int
        var wallSeconds: Double, audioSeconds: Double, filesPerMinute: Double, audioSecondsPerSecond: Double
        var failures: [String]
    }

    func run() throws {
        let p = try Preset.load(path: PresetLibrary.resolve(preset))
        var files = try BatchInputs.collect(inputs)
        if let shard {
            let (k, n) = try BatchInputs.parseShard(shard)
            files = BatchInputs.shard(files, k, of: n)
        }
        let budget = engine.threads ?? ProcessInfo.processInfo.activeProcessorCount
        let perJob = max(1, budget / jobs)
        BLASThreads.set(perJob)
        ParallelConfig.threads = perJob
        let cache = ModelCache(directory: model, vocoder: engine.vocoder)
        let runner = BatchRunner(preset: p, outputFolder: output, jobs: jobs, overwrite: overwrite, loadModel: { try cache.load() })
        let display = BatchDisplay(enabled: !quiet)
        let progress: BatchRunner.Progress = { display.update($0, $1, $2) }
        let logLine: @Sendable (String) -> Void = { display.log($0) }
        let log: (@Sendable (String) -> Void)? = quiet ? nil : logLine
        let s = try runner.run(files, progress: progress, log: log)
        display.finish()
        let summary = Summary(preset: p.name, inputs: files.count, done: s.done, skipped: s.skipped, failed: s.failed,
                              wallSeconds: s.wallSeconds, audioSeconds: s.audioSeconds,
                              filesPerMinute: s.wallSeconds > 0 ? Double(s.done) / s.wallSeconds * 60 : 0,
                              audioSecondsPerSecond: s.wallSeconds > 0 ? s.audioSeconds / s.wallSeconds : 0, failures: s.failures)
        if json { print(try CLIOutput.json(summary)) } else {
            print("\(p.name): \(s.done) done, \(s.skipped) skipped, \(s.failed) failed of \(files.count) in \(String(format: "%.1f", s.wallSeconds)) s → \(output)")
            for f in s.failures { CLIOutput.error(f) }
        }
        if s.failed > 0 { throw ExitCode(1) }
    }
}

/// Batch progress on stderr (a terminal only): files done of total, the current file, ETA.
final class BatchDisplay: @unchecked Sendable {
    let enabled: Bool
    let start = Date()
    private let lock = NSLock()
    init(enabled: Bool) { self.enabled = enabled && isatty(2) == 1 }

    func update(_ finished: Int, _ total: Int, _ current: String) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let elapsed = Date().timeIntervalSince(start)
        let eta = finished > 0 ? String(format: " ETA %.0fs", elapsed / Double(finished) * Double(total - finished)) : ""
        FileHandle.standardError.write(Data("\r[\(finished)/\(total)] \(current)\(eta)\u{1B}[K".utf8))
    }

    func log(_ line: String) {
        lock.lock(); defer { lock.unlock() }
        FileHandle.standardError.write(Data(((enabled ? "\r\u{1B}[K" : "") + line + "\n").utf8))
    }

    func finish() { if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
}

struct Presets: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the built-in presets, or show one.",
        discussion: """
        Examples:
          restore presets                       # names and descriptions
          restore presets show dropout-repair   # the YAML
        """,
        subcommands: [List.self, Show.self],
        defaultSubcommand: List.self
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Names and descriptions of the built-in presets.")
        func run() throws {
            let all = PresetLibrary.all()
            guard !all.isEmpty else { throw RestoreError.invalidArgument("no Presets folder found (set RESTORE_PRESETS)") }
            for (name, path) in all {
                let p = try Preset.load(path: path)
                print("\(name)\n  \(p.description)\n  steps: \(p.steps.map { s in s.when.map { "\(s.name) when \($0)" } ?? s.name }.joined(separator: " → "))")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print one preset's YAML.")
        @Argument(help: "Preset name.") var name: String
        func run() throws {
            let path = try PresetLibrary.resolve(name)
            _ = try Preset.load(path: path)
            print(try String(contentsOfFile: path, encoding: .utf8), terminator: "")
        }
    }
}

/// Ctrl-C and SIGTERM: remove temporary outputs in progress, then exit 130.
enum Interrupts {
    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []
    static func install() {
        for s in [SIGINT, SIGTERM] {
            signal(s, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: s, queue: .global())
            src.setEventHandler {
                TemporaryFiles.shared.removeAll()
                FileHandle.standardError.write(Data("\nrestore: interrupted; no partial output was left\n".utf8))
                // _exit: exit() would run atexit handlers and flush stdio while workers hold
                // their locks, and can hang; everything that matters is already on disk.
                _exit(130)
            }
            src.resume()
            sources.append(src)
        }
    }
}
