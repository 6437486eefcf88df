import Foundation
import RestoreCore

/// Runs a preset's steps on one file. Each step writes a float WAV into a private work
/// folder inside the output folder; the result is then written to its final path in the
/// input's own format (temporary file + rename), so the output folder never holds a
/// partial file, and the work folder is removed whatever happens.
public struct PresetPipeline: Sendable {
    public let preset: Preset
    public let loadModel: @Sendable () throws -> EngineModel

    public init(preset: Preset, loadModel: @escaping @Sendable () throws -> EngineModel) {
        self.preset = preset
        self.loadModel = loadModel
    }

    public struct Outcome: Sendable {
        /// "bwe", or "skip fill-gap (dropouts == 0 is false)".
        public var steps: [String]
    }

    /// Work folders are `.restore-work-` + 8 hex digits; `.lock` inside is flock'ed for their
    /// lifetime, so a later run can tell a killed run's folder from a live one.
    public static let workPrefix = ".restore-work-"
    public static let workLock = ".lock"

    /// `publishing` is called just before the result is renamed into place.
    public func run(input: String, output: String, outputFolder: String, overwrite: Bool,
                    progress: ((Double) -> Void)? = nil, publishing: (() -> Void)? = nil) throws -> Outcome {
        let fm = FileManager.default
        // Made under another name and renamed once its lock is held, so a sweep never sees a
        // work folder whose lock is free while its owner is alive.
        let work = (outputFolder as NSString).appendingPathComponent(Self.workPrefix + String(UUID().uuidString.prefix(8)))
        let making = work + ".new"
        TemporaryFiles.shared.registerFolder(making)
        do { try fm.createDirectory(atPath: making, withIntermediateDirectories: true) } catch {
            TemporaryFiles.shared.unregister(making)
            throw error
        }
        let lockFD = open((making as NSString).appendingPathComponent(Self.workLock), O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if lockFD >= 0 { _ = flock(lockFD, LOCK_EX | LOCK_NB) }
        TemporaryFiles.shared.registerFolder(work)
        let renamed = rename(making, work) == 0
        if !renamed {
            let reason = String(cString: strerror(errno))
            TemporaryFiles.shared.removeFolder(making)
            TemporaryFiles.shared.unregister(work)
            if lockFD >= 0 { close(lockFD) }
            throw RestoreError.writeFailed(path: work, reason: reason)
        }
        TemporaryFiles.shared.unregister(making)
        // Through TemporaryFiles, so this removal and an interrupt's never run at once.
        defer {
            TemporaryFiles.shared.removeFolder(work)
            if lockFD >= 0 { close(lockFD) }
        }
        let source = try AudioFileReader(path: input).info
        var current = input
        var done: [String] = []
        for (i, step) in preset.steps.enumerated() {
            if let when = step.when {
                let (report, silence) = try AudioReport.measureStream(path: current)
                if !when.holds(report: report, dropouts: { silence.dropouts(minimum: 0.020, rate: report.sampleRate).count }) {
                    done.append("skip \(step.name) (\(when) is false)")
                    continue
                }
            }
            let next = (work as NSString).appendingPathComponent("step\(i + 1).wav")
            let context = TaskContext(sampling: preset.sampling, outputPath: next, writeOptions: AudioWriteOptions(encoding: .float32),
                                      progress: { p in progress?((Double(i) + p) / Double(preset.steps.count)) }, loadModel: loadModel)
            _ = try step.task.run(input: TaskInput(path: current), context: context)
            done.append(step.name)
            current = next
        }
        try fm.createDirectory(atPath: (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        // The result in the input's own encoding (float WAV steps are converted back).
        let reader = try AudioFileReader(path: current)
        let writer = try AudioStreamWriter(path: output, sampleRate: reader.info.sampleRate, channelCount: reader.info.channelCount,
                                           options: AudioWriteOptions(overwrite: overwrite, protectedPaths: [input], sourceFormat: source.format))
        while let block = try reader.read(maxFrames: 65536) { try writer.write(block) }
        publishing?()
        try writer.finish()
        return Outcome(steps: done)
    }
}
