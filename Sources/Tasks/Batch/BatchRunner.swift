import Dispatch
import Foundation
import RestoreCore

/// Runs a preset over many files: skips those already done (same input checksum and preset,
/// output still readable audio), retries failed ones, records every outcome in the manifest,
/// and never lets one bad file stop the others. Each output is claimed before it is worked
/// on (`BatchClaims`), so runs sharing an output folder never process a file twice.
public struct BatchRunner: Sendable {
    public var preset: Preset
    public var outputFolder: String
    public var jobs: Int = 1
    public var overwrite: Bool = false
    /// Shard K of N: its records go to `restore-manifest.K-of-N.jsonl`.
    public var shard: (Int, Int)?
    public var loadModel: @Sendable () throws -> EngineModel
    /// The context each job runs with (its share of the threads).
    public var jobContext: ExecutionContext = .machine

    public init(preset: Preset, outputFolder: String, jobs: Int = 1, overwrite: Bool = false, shard: (Int, Int)? = nil,
                loadModel: @escaping @Sendable () throws -> EngineModel) {
        self.preset = preset
        self.outputFolder = outputFolder
        self.jobs = jobs
        self.overwrite = overwrite
        self.shard = shard
        self.loadModel = loadModel
    }

    public struct Summary: Sendable, Equatable {
        public var done = 0, skipped = 0, failed = 0
        /// Files another live run had claimed (it processes them).
        public var busy = 0
        public var audioSeconds = 0.0, wallSeconds = 0.0
        public var failures: [String] = []
    }

    /// Events for a progress display: (finished, total, file just started or finished).
    public typealias Progress = @Sendable (_ finished: Int, _ total: Int, _ current: String) -> Void

    public func output(for input: BatchInput) -> String {
        var rel = input.relative
        let ext = (rel as NSString).pathExtension.lowercased()
        if !AudioWriter.writableExtensions.contains(ext) { rel = (rel as NSString).deletingPathExtension + ".wav" }
        return rel
    }

    /// Two inputs must not map to one output (`a.mp3` and `a.aiff` both become `a.wav`);
    /// checked over the whole listing before it is sharded, so shards cannot collide either.
    public func checkOutputs(_ inputs: [BatchInput]) throws {
        var outputs: [String: String] = [:]
        for i in inputs {
            let o = output(for: i)
            if let other = outputs[o] { throw RestoreError.invalidArgument("\(other) and \(i.relative) would both be written as \(o); run them separately") }
            outputs[o] = i.relative
        }
    }

    /// `log` gets one line per file ("done …", "skip …"); `warn` gets manifest lines skipped
    /// as unreadable and leftovers of killed runs removed.
    public func run(_ inputs: [BatchInput], progress: Progress? = nil, log: (@Sendable (String) -> Void)? = nil,
                    warn: (@Sendable (String) -> Void)? = nil) throws -> Summary {
        try checkOutputs(inputs)
        try FileManager.default.createDirectory(atPath: outputFolder, withIntermediateDirectories: true)
        let manifest = try BatchManifest(folder: outputFolder, shard: shard)
        for w in manifest.warnings { warn?(w) }
        let claims = BatchClaims(outputFolder: outputFolder)
        for p in BatchSweep.run(outputFolder: outputFolder, claims: claims, manifest: manifest) { warn?("removed \(p), left by a run that was killed") }
        defer { claims.finish() }
        let presetSHA = SHA256.hex(Data(preset.source.utf8))
        let pipeline = PresetPipeline(preset: preset, loadModel: loadModel)
        let state = SharedState()
        let started = Date()
        let total = inputs.count
        let workers = max(1, min(jobs, inputs.count))
        let me = self
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            me.jobContext.run {
                while let i = state.next(inputs.count) {
                    let input = inputs[i]
                    progress?(state.finished, total, input.relative)
                    me.process(input, manifest: manifest, claims: claims, pipeline: pipeline, presetSHA: presetSHA, state: state, log: log, warn: warn)
                    progress?(state.finish(), total, input.relative)
                }
            }
        }
        var s = state.summary
        s.wallSeconds = Date().timeIntervalSince(started)
        return s
    }

    func process(_ input: BatchInput, manifest: BatchManifest, claims: BatchClaims, pipeline: PresetPipeline, presetSHA: String,
                 state: SharedState, log: (@Sendable (String) -> Void)?, warn: (@Sendable (String) -> Void)?) {
        let t0 = Date()
        let rel = output(for: input)
        var record = BatchManifest.Record(input: input.relative, status: "failed", inputSHA256: "", presetSHA256: presetSHA)
        var claimed = false
        defer { if claimed { claims.release(rel) } }
        // Done already (by an earlier run, or by another run while this one was listing)?
        func skipIfDone(again recheck: Bool = false) -> Bool {
            switch manifest.verdict(input.relative, sha: record.inputSHA256, preset: presetSHA, outputFolder: outputFolder) {
            case .done(var r, let again):
                if again {
                    // A later failure record hides a valid result: record it again, so the latest says done.
                    r.finished = BatchManifest.timestamp()
                    r.error = nil
                    do { try manifest.append(r) } catch { warn?("manifest: \(error)") }
                }
                state.update { $0.skipped += 1 }
                log?("skip \(input.relative) (done)")
                return true
            case .redo(let reason):
                if let reason, !recheck { log?("redo \(input.relative): \(reason)") }
                return false
            }
        }
        do {
            record.inputSHA256 = try SHA256.file(input.path)
            if skipIfDone() { return }
            switch try claims.claim(rel, input: input.relative) {
            case .busy(let owner):
                state.update { $0.busy += 1 }
                log?("skip \(input.relative) (in progress: \(owner))")
                return
            case .claimed(let previousOwnerDied):
                claimed = true
                manifest.refresh()
                if skipIfDone(again: true) { return }
                let target = (outputFolder as NSString).appendingPathComponent(rel)
                for p in BatchSweep.temporaries(of: target) { warn?("removed \(p), left by a run that was killed") }
                // Outputs of an earlier run of this file are ours to replace, and so is one a
                // killed run may have published without recording it.
                let ours = manifest.wrote(input.relative, output: rel) || previousOwnerDied
                let outcome = try pipeline.run(input: input.path, output: target, outputFolder: outputFolder,
                                               overwrite: overwrite || ours, publishing: { claims.publishing(rel) })
                record.status = "done"
                record.output = rel
                record.steps = outcome.steps
                let seconds = (try? AudioFileReader(path: target)).map { Double($0.info.declaredFrames) / $0.info.sampleRate } ?? 0
                record.audioSeconds = seconds
                state.update { $0.done += 1; $0.audioSeconds += seconds }
                log?("done \(input.relative): \(outcome.steps.joined(separator: ", "))")
            }
        } catch {
            record.error = "\(error)"
            state.update { $0.failed += 1; $0.failures.append("\(input.relative): \(error)") }
            log?("failed \(input.relative): \(error)")
        }
        record.seconds = Date().timeIntervalSince(t0)
        record.finished = BatchManifest.timestamp()
        do { try manifest.append(record) } catch { warn?("manifest: \(error)") }
    }
}

final class SharedState: @unchecked Sendable {
    private let lock = NSLock()
    private var cursor = 0
    private(set) var finished = 0
    var summary = BatchRunner.Summary()

    func next(_ n: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard cursor < n else { return nil }
        cursor += 1
        return cursor - 1
    }
    func finish() -> Int { lock.lock(); defer { lock.unlock() }; finished += 1; return finished }
    func update(_ f: (inout BatchRunner.Summary) -> Void) { lock.lock(); f(&summary); lock.unlock() }
}
