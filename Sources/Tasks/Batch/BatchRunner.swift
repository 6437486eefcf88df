import Dispatch
import Foundation
import RestoreCore

/// Runs a preset over many files: skips those already done (same input checksum and preset),
/// retries failed ones, records every outcome in the manifest, and never lets one bad file
/// stop the others.
public struct BatchRunner: Sendable {
    public var preset: Preset
    public var outputFolder: String
    public var jobs: Int = 1
    public var overwrite: Bool = false
    public var loadModel: @Sendable () throws -> EngineModel

    public init(preset: Preset, outputFolder: String, jobs: Int = 1, overwrite: Bool = false,
                loadModel: @escaping @Sendable () throws -> EngineModel) {
        self.preset = preset
        self.outputFolder = outputFolder
        self.jobs = jobs
        self.overwrite = overwrite
        self.loadModel = loadModel
    }

    public struct Summary: Sendable, Equatable {
        public var done = 0, skipped = 0, failed = 0
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

    public func run(_ inputs: [BatchInput], progress: Progress? = nil, log: (@Sendable (String) -> Void)? = nil) throws -> Summary {
        try FileManager.default.createDirectory(atPath: outputFolder, withIntermediateDirectories: true)
        let manifest = try BatchManifest(folder: outputFolder)
        let presetSHA = SHA256.hex(Data(preset.source.utf8))
        let pipeline = PresetPipeline(preset: preset, loadModel: loadModel)
        let state = SharedState()
        let started = Date()
        let total = inputs.count
        let workers = max(1, min(jobs, inputs.count))
        let me = self
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let i = state.next(inputs.count) {
                let input = inputs[i]
                progress?(state.finished, total, input.relative)
                let t0 = Date()
                let rel = me.output(for: input)
                var record = BatchManifest.Record(input: input.relative, status: "failed", inputSHA256: "", presetSHA256: presetSHA,
                                                  output: nil, steps: [], seconds: 0, error: nil, finished: "")
                do {
                    record.inputSHA256 = try SHA256.file(input.path)
                    if manifest.isDone(input.relative, sha: record.inputSHA256, preset: presetSHA, outputFolder: me.outputFolder) {
                        state.update { $0.skipped += 1 }
                        log?("skip \(input.relative) (done)")
                        progress?(state.finish(), total, input.relative)
                        continue
                    }
                    let target = (me.outputFolder as NSString).appendingPathComponent(rel)
                    // Outputs from an earlier run of this file are ours to replace.
                    let ours = manifest.latest[input.relative]?.output == rel
                    let outcome = try pipeline.run(input: input.path, output: target, outputFolder: me.outputFolder,
                                                   overwrite: me.overwrite || ours)
                    record.status = "done"
                    record.output = rel
                    record.steps = outcome.steps
                    let seconds = (try? AudioFileReader(path: target)).map { Double($0.info.declaredFrames) / $0.info.sampleRate } ?? 0
                    state.update { $0.done += 1; $0.audioSeconds += seconds }
                    log?("done \(input.relative): \(outcome.steps.joined(separator: ", "))")
                } catch {
                    record.error = "\(error)"
                    state.update { $0.failed += 1; $0.failures.append("\(input.relative): \(error)") }
                    log?("failed \(input.relative): \(error)")
                }
                record.seconds = Date().timeIntervalSince(t0)
                record.finished = ISO8601DateFormatter().string(from: Date())
                do { try manifest.append(record) } catch { log?("manifest: \(error)") }
                progress?(state.finish(), total, input.relative)
            }
        }
        var s = state.summary
        s.wallSeconds = Date().timeIntervalSince(started)
        return s
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
