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

    public func run(input: String, output: String, outputFolder: String, overwrite: Bool,
                    progress: ((Double) -> Void)? = nil) throws -> Outcome {
        let fm = FileManager.default
        let work = (outputFolder as NSString).appendingPathComponent(".restore-work-\(UUID().uuidString.prefix(8))")
        try fm.createDirectory(atPath: work, withIntermediateDirectories: true)
        TemporaryFiles.shared.registerFolder(work)
        defer { try? fm.removeItem(atPath: work); TemporaryFiles.shared.unregister(work) }
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
        try writer.finish()
        return Outcome(steps: done)
    }
}
