import ArgumentParser
import Foundation
import RestoreCore
import Tasks

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a preset pipeline over files and folders (batch restoration).",
        discussion: """
        Folders are walked recursively for audio files (hidden ones, and the output
        folder when it lies inside an input folder, are left out); the layout below
        each folder is mirrored in the output folder, files keep their format. The
        preset is validated before any audio is read. A manifest in the output folder
        (restore-manifest.jsonl; restore-manifest.K-of-N.jsonl for --shard K/N)
        records each file's status, checksum, preset hash, timing and error: a rerun
        skips files already done with the same input and preset whose output still
        reads as audio, and retries failed ones. Unreadable manifest lines are skipped
        with a warning. Each output is claimed (a lock in OUT/.restore-claims) while
        it is worked on, so runs sharing an output folder never process a file twice;
        leftovers of killed runs are removed at start. One bad file never stops the
        batch; the exit code is 1 if any file failed. Ctrl-C (exit 130) and SIGTERM
        (exit 143) leave no partial output. See `restore manifest` for merging and
        summarising the manifests of a sharded run.

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
    @Option(help: ArgumentHelp("Process only shard K of N (K/N): a balanced deterministic split of the sorted listing (sizes differ by at most 1).", valueName: "K/N")) var shard: String?
    @Flag(help: "Replace existing outputs not written by an earlier run.") var overwrite = false
    @Option(help: "Model folder with tokenizer.safetensors and transformer.safetensors (default: Models/default).") var model: String?
    @OptionGroup var engine: EngineOptions
    @OptionGroup var vocoder: VocoderOption
    @Flag(name: [.short, .long], help: "No progress display.") var quiet = false
    @Flag(help: "Print the summary as one JSON line (see the README's JSON output).") var json = false

    func validate() throws {
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be between 1 and 64") }
    }

    struct Summary: Encodable {
        var preset: String, inputs: Int, done: Int, skipped: Int, failed: Int, busy: Int
        var shard: String?, manifest: String
        var wallSeconds: Double, audioSeconds: Double, filesPerMinute: Double, audioSecondsPerSecond: Double
        var failures: [String]
    }

    func run() throws {
        let p = try Preset.load(path: PresetLibrary.resolve(preset))
        var files = try BatchInputs.collect(inputs, excluding: [output])
        let cache = ModelCache(directory: model, vocoder: vocoder.vocoder)
        var runner = BatchRunner(preset: p, outputFolder: output, jobs: jobs, overwrite: overwrite, loadModel: { try cache.load() })
        try runner.checkOutputs(files)
        var shardKN: (Int, Int)?
        if let shard {
            let (k, n) = try BatchInputs.parseShard(shard)
            files = BatchInputs.shard(files, k, of: n)
            shardKN = (k, n)
            runner.shard = shardKN
        }
        let budget = engine.threads ?? ProcessInfo.processInfo.activeProcessorCount
        runner.jobContext = ExecutionContext(threads: max(1, budget / jobs))
        let display = BatchDisplay(enabled: !quiet)
        let progress: BatchRunner.Progress = { display.update($0, $1, $2) }
        let logLine: @Sendable (String) -> Void = { display.log($0) }
        let log: (@Sendable (String) -> Void)? = quiet ? nil : logLine
        let warn: @Sendable (String) -> Void = { display.log("restore: warning: " + $0) }
        let s = try runner.run(files, progress: progress, log: log, warn: warn)
        display.finish()
        let manifest = (output as NSString).appendingPathComponent(BatchManifest.fileName(shard: shardKN))
        let summary = Summary(preset: p.name, inputs: files.count, done: s.done, skipped: s.skipped, failed: s.failed, busy: s.busy,
                              shard: shard, manifest: manifest,
                              wallSeconds: s.wallSeconds, audioSeconds: s.audioSeconds,
                              filesPerMinute: s.wallSeconds > 0 ? Double(s.done) / s.wallSeconds * 60 : 0,
                              audioSecondsPerSecond: s.wallSeconds > 0 ? s.audioSeconds / s.wallSeconds : 0, failures: s.failures)
        if json {
            var settings: [String: JSONValue] = ["preset": .string(p.name), "jobs": .of(jobs), "overwrite": .bool(overwrite)]
            if let shard { settings["shard"] = .string(shard) }
            // One line for the whole run: its per-file records are the manifest's lines.
            OutputRecord(command: "run", input: nil, outputs: [manifest], seconds: s.wallSeconds, settings: settings,
                         report: try JSONValue.encodingFields(summary), model: cache.model == nil ? nil : ModelIdentity.of(directory: model)).print()
        } else {
            let busy = s.busy > 0 ? ", \(s.busy) in progress elsewhere" : ""
            print("\(p.name): \(s.done) done, \(s.skipped) skipped, \(s.failed) failed\(busy) of \(files.count) in \(String(format: "%.1f", s.wallSeconds)) s → \(output)")
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
        @Flag(help: "Print one JSON line per preset (see the README's JSON output).") var json = false
        func run() throws {
            let all = PresetLibrary.all()
            guard !all.isEmpty else { throw RestoreError.invalidArgument("no Presets folder found (set RESTORE_PRESETS)") }
            for (name, path) in all {
                let t0 = Date()
                let p = try Preset.load(path: path)
                if json {
                    OutputRecord(command: "presets", input: path, seconds: Date().timeIntervalSince(t0), report: Presets.report(name: name, p)).print()
                } else {
                    print("\(name)\n  \(p.description)\n  steps: \(p.steps.map { s in s.when.map { "\(s.name) when \($0)" } ?? s.name }.joined(separator: " → "))")
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print one preset's YAML.")
        @Argument(help: "Preset name.") var name: String
        @Flag(help: "Print one JSON line: the steps and the YAML (see the README's JSON output).") var json = false
        func run() throws {
            let t0 = Date()
            let path = try PresetLibrary.resolve(name)
            let p = try Preset.load(path: path)
            let yaml = try String(contentsOfFile: path, encoding: .utf8)
            if json {
                var report = Presets.report(name: name, p)
                report["yaml"] = .string(yaml)
                OutputRecord(command: "presets show", input: path, seconds: Date().timeIntervalSince(t0), report: report).print()
            } else {
                print(yaml, terminator: "")
            }
        }
    }

    /// A preset as JSON: its steps, each with its guard as written (`when:` or null).
    static func report(name: String, _ p: Preset) -> [String: JSONValue] {
        let steps: [JSONValue] = p.steps.map { s in .object(["task": .string(s.name), "when": s.when.map { .string($0.description) } ?? .null]) }
        return ["name": .string(name), "description": .string(p.description), "steps": .array(steps)]
    }
}

/// Ctrl-C and SIGTERM: remove temporary outputs and claims in progress, then exit with the
/// shell's convention, 128 + the signal (130 for SIGINT, 143 for SIGTERM).
///
/// Both signals are blocked in the main thread before any worker exists, so every thread
/// the engine starts (dispatch workers, the GEMM library's OpenMP team) inherits the block
/// and is never interrupted; the signal waits, pending, for libdispatch's signal file
/// descriptor. Delivered to a busy engine thread instead (libdispatch's own handler, which
/// re-raises it), it corrupted the heap about once in fifty interrupts.
enum Interrupts {
    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []
    /// Call first in `main`, before any thread is started.
    static func install() {
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGINT)
        sigaddset(&blocked, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &blocked, nil)
        for s in [SIGINT, SIGTERM] {
            signal(s, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: s, queue: .global())
            src.setEventHandler {
                TemporaryFiles.shared.removeAll()
                BatchClaims.interrupted()
                FileHandle.standardError.write(Data("\nrestore: interrupted; no partial output was left\n".utf8))
                // _exit: exit() would run atexit handlers and flush stdio while workers hold
                // their locks, and can hang; everything that matters is already on disk.
                _exit(128 + s)
            }
            src.resume()
            sources.append(src)
        }
    }
}
