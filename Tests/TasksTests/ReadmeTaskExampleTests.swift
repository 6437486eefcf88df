import Foundation
import XCTest
import RestoreCore
import Tasks

// The README's "Writing a task" example, character for character: this file compiles it,
// and `testTheREADMEShowsThisExample` fails when the two differ.
public struct Denoise: RestoreTask {
    public static let name = "denoise"
    public static let summary = "Remove steady background noise."
    public static let writesAudio = true

    public struct Options: TaskOptions {
        public var strength: Double = 0.5               // the one place the default is written
        public init() {}
        public static let keys = ["strength"]           // what a preset step may set
        public func validate() throws {
            guard (0...1).contains(strength) else { throw RestoreError.invalidArgument("denoise: strength must be 0…1") }
        }
    }

    public let options: Options
    public init(options: Options) throws { try options.validate(); self.options = options }

    public func run(input: TaskInput, context: TaskContext) throws -> TaskResult {
        let output = try context.requireOutput(Self.name)
        let (audio, _) = try AudioFile.read(input.path)
        // A real task builds a `RestorationJob` (which token cells to regenerate, how to splice
        // them back) and runs it with `Restorer(model: try context.model())`; see `Repair.swift`.
        try AudioWriter.write(audio, to: output, options: context.writeOptions)
        return TaskResult(task: Self.name, input: input.path, outputs: [output], report: ["strength": .of(options.strength)])
    }
}

/// The README's task example compiles, decodes from a preset step (over its defaults, with
/// no hand-written decoder) and runs as a step.
final class ReadmeTaskExampleTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testTheREADMEShowsThisExample() throws {
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8)
        guard let section = readme.range(of: "## Writing a task"),
              let open = readme.range(of: "```swift\n", range: section.upperBound..<readme.endIndex),
              let close = readme.range(of: "\n```", range: open.upperBound..<readme.endIndex) else {
            return XCTFail("README.md has no swift block under '## Writing a task'")
        }
        let example = String(readme[open.upperBound..<close.lowerBound])
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        XCTAssertTrue(source.contains("\n" + example + "\n"),
                      "README.md's task example and ReadmeTaskExampleTests.swift differ: copy the README's block over the one here")
    }

    func preset(_ options: String) throws -> Preset {
        try Preset.parse("name: example\nsteps:\n  - task: denoise\n" + options, path: "example.yaml",
                         tasks: TaskRegistry.all + [Denoise.self])
    }

    func testAPresetStepDecodesOverTheDefaults() throws {
        XCTAssertEqual((try preset("    strength: 0.3\n").steps[0].task as? Denoise)?.options.strength, 0.3)
        XCTAssertEqual((try preset("").steps[0].task as? Denoise)?.options.strength, Denoise.Options().strength)
    }

    func testAPresetStepIsCheckedBeforeAnyAudio() {
        for (options, message) in [("    strength: 2\n", "strength must be 0…1"),
                                   ("    strength: loud\n", "option 'strength' of task 'denoise': expected a number"),
                                   ("    strenght: 0.3\n", "did you mean 'strength'")] {
            XCTAssertThrowsError(try preset(options), options) { error in
                let text = String(describing: error)
                XCTAssertTrue(text.contains("example.yaml:") && text.contains(message), text)
            }
        }
    }

    func testItRunsAsAPresetStep() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("readme-task-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/in.wav", output = dir + "/out.wav"
        let audio = AudioBuffer(sampleRate: 16000, mono: TestSignals.sine(frequency: 440, sampleRate: 16000, seconds: 0.5))
        try AudioWriter.write(audio, to: input, options: AudioWriteOptions(encoding: .float32))
        let step = try preset("    strength: 0.25\n").steps[0]
        let context = TaskContext(outputPath: output, writeOptions: AudioWriteOptions(encoding: .float32),
                                  loadModel: { throw RestoreError.invalidArgument("the example loads no model") })
        let result = try step.task.run(input: TaskInput(path: input), context: context)
        XCTAssertEqual(result.task, "denoise")
        XCTAssertEqual(result.outputs, [output])
        XCTAssertEqual(result.report["strength"], .of(0.25))
        XCTAssertEqual(try AudioFile.read(output).0, audio)
    }
}
