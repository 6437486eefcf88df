import Foundation
import XCTest
@testable import RestoreCore

/// The output guard: inputs are never written, clashes are found before work, and the last
/// step never replaces a file that appeared meanwhile unless asked to.
final class OutputGuardTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("restore-guard-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    func testAnInputIsNeverAnOutputEvenWithOverwrite() throws {
        let input = folder + "/in.wav"
        try AudioWriter.write(AudioBuffer(sampleRate: 8000, mono: [0.1, 0.2]), to: input)
        XCTAssertThrowsError(try OutputGuard.check(folder + "/./in.wav", inputs: [input], overwrite: true)) {
            XCTAssertEqual($0 as? RestoreError, .wouldOverwriteInput(path: folder + "/./in.wav"))
        }
        XCTAssertThrowsError(try OutputGuard.write(Data("x".utf8), to: input, inputs: [input], overwrite: true))
        XCTAssertEqual(try AudioFile.read(input).0.frameCount, 2)
    }

    func testClashesWithinACallAreFoundBeforeWork() throws {
        try FileManager.default.createDirectory(atPath: folder + "/out", withIntermediateDirectories: true)
        XCTAssertThrowsError(try OutputGuard.checkAll([folder + "/out/x.wav", folder + "/out/../out/x.wav"], inputs: [], overwrite: true)) {
            XCTAssertEqual($0 as? RestoreError, .outputClash(path: folder + "/out/../out/x.wav", other: folder + "/out/x.wav"))
            XCTAssertEqual(($0 as? RestoreError)?.description,
                           "\(folder)/out/../out/x.wav: the same file as output \(folder)/out/x.wav of this call; give the outputs different names or folders")
        }
        XCTAssertNoThrow(try OutputGuard.checkAll([folder + "/out/x.wav", folder + "/out/y.wav"], inputs: [], overwrite: false))
    }

    /// A file created after the checks (another process, the user) survives the final step.
    func testAFileThatAppearedMeanwhileIsNotReplaced() throws {
        let target = folder + "/out.wav"
        let writer = try AudioStreamWriter(path: target, sampleRate: 8000, channelCount: 1, options: AudioWriteOptions())
        try writer.write(AudioBuffer(sampleRate: 8000, mono: [0.5, 0.5]))
        try Data("someone else's".utf8).write(to: URL(fileURLWithPath: target))
        XCTAssertThrowsError(try writer.finish()) { XCTAssertEqual($0 as? RestoreError, .outputExists(path: target)) }
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "someone else's")
        XCTAssertEqual(try leftovers(), [], "the temporary file is removed")
        // With overwrite, the same sequence replaces it.
        let again = try AudioStreamWriter(path: target, sampleRate: 8000, channelCount: 1, options: AudioWriteOptions(overwrite: true))
        try again.write(AudioBuffer(sampleRate: 8000, mono: [0.5, 0.5]))
        try again.finish()
        XCTAssertEqual(try AudioFile.read(target).0.frameCount, 2)
    }

    func testDataWritesGoThroughTheSameGuard() throws {
        let p = folder + "/a.npy"
        try OutputGuard.write(Data("one".utf8), to: p, overwrite: false)
        XCTAssertThrowsError(try OutputGuard.write(Data("two".utf8), to: p, overwrite: false)) {
            XCTAssertEqual($0 as? RestoreError, .outputExists(path: p))
        }
        try OutputGuard.write(Data("two".utf8), to: p, overwrite: true)
        XCTAssertEqual(try String(contentsOfFile: p, encoding: .utf8), "two")
        XCTAssertEqual(try leftovers(), [])
    }

    func testNonFiniteSamplesMeanAnErrorAndNoFile() throws {
        let target = folder + "/nan.wav"
        let writer = try AudioStreamWriter(path: target, sampleRate: 8000, channelCount: 2, options: AudioWriteOptions())
        try writer.write(AudioBuffer(sampleRate: 8000, channels: [[0, 0], [0, 0]]))
        XCTAssertThrowsError(try writer.write(AudioBuffer(sampleRate: 8000, channels: [[0, 0, 0], [0, 0, .nan]]))) {
            XCTAssertEqual($0 as? RestoreError, .nonFiniteOutput(path: target, frame: 4, channel: 1))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        XCTAssertEqual(try leftovers(), [])
    }

    /// Temporaries of a killed process (dead pid, old) go; a live writer's, fresh ones and
    /// other people's files stay.
    func testStaleTemporariesOfDeadProcessesAreRemoved() throws {
        let dead = folder + "/.restore-\(Int32.max - 7)-abc-x.wav"      // no such process
        let live = folder + "/.restore-\(getpid())-abc-y.wav"
        let fresh = folder + "/.restore-\(Int32.max - 8)-abc-z.wav"
        let other = folder + "/.restored-notes.txt"
        for p in [dead, live, fresh, other] { FileManager.default.createFile(atPath: p, contents: Data("x".utf8)) }
        let old = Date(timeIntervalSinceNow: -3600)
        for p in [dead, live, other] { try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: p) }
        let removed = OutputGuard.removeStaleTemporaries(in: folder)
        XCTAssertEqual(removed, [dead])
        for p in [live, fresh, other] { XCTAssertTrue(FileManager.default.fileExists(atPath: p), p) }
    }

    /// Weights with a NaN or infinity are refused at load, naming the tensor.
    func testNonFiniteWeightsAreRefused() throws {
        let data = try SafeTensorsWriter.encode(["w": Tensor(shape: [3], data: [1, .infinity, 2])], dtype: .f16)
        let f = try SafeTensorsFile(data: data, name: "bad.safetensors")
        XCTAssertThrowsError(try f.tensor("w")) {
            XCTAssertEqual(($0 as? SafeTensorsError)?.description, "bad.safetensors: tensor 'w': holds a NaN or infinite value (element 1)")
        }
    }

    func testSHA256OfAFile() throws {
        let p = folder + "/abc.txt"
        try Data("abc".utf8).write(to: URL(fileURLWithPath: p))
        XCTAssertEqual(try ModelVerification.sha256(file: p), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    /// A work folder is removed whole; a symbolic link inside it is removed, not followed.
    func testRemoveFolderRemovesATreeButNotWhatALinkPointsTo() throws {
        let work = folder + "/.restore-work-test", outside = folder + "/keep.txt"
        try FileManager.default.createDirectory(atPath: work + "/a/b", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: work + "/a/b/step1.wav"))
        try Data("y".utf8).write(to: URL(fileURLWithPath: work + "/.lock"))
        try Data("keep".utf8).write(to: URL(fileURLWithPath: outside))
        try FileManager.default.createSymbolicLink(atPath: work + "/a/link", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: work + "/dirlink", withDestinationPath: folder)
        TemporaryFiles.shared.registerFolder(work)
        TemporaryFiles.shared.removeFolder(work)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work))
        XCTAssertEqual(try String(contentsOfFile: outside, encoding: .utf8), "keep")
        TemporaryFiles.shared.removeFolder(work)   // already gone: nothing to do, no error
    }

    func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix(OutputGuard.temporaryPrefix) }
    }
}
