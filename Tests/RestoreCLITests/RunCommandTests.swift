import Foundation
import RestoreCore
import XCTest

/// `restore run` over folders: mirrored layout, a corrupt file in the middle, skip and retry
/// on rerun, shards, and Ctrl-C leaving no partial files.
final class RunCommandTests: XCTestCase {
    var folder = ""
    var preset = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("restore-run-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder + "/in/a", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/in/b", withIntermediateDirectories: true)
        // Files without dropouts pass through this preset without the engine: quick.
        preset = folder + "/repair.yaml"
        try "name: repair\ndescription: test\nsteps:\n  - task: fill-gap\n    when: dropouts > 0\n    detect: true\n"
            .write(toFile: preset, atomically: true, encoding: .utf8)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    func tone(_ path: String, seconds: Double = 0.5, gap: Bool = false) throws {
        var x = TestSignals.sine(frequency: 330, sampleRate: 22050, seconds: seconds, amplitude: 0.3)
        if gap { for i in 8000..<9200 { x[i] = 0 } }
        try AudioWriter.write(AudioBuffer(sampleRate: 22050, mono: x), to: path, options: AudioWriteOptions(overwrite: true))
    }

    struct Summary: Decodable { var done: Int; var skipped: Int; var failed: Int; var inputs: Int }
    struct Record: Decodable { var input: String; var status: String; var error: String?; var output: String? }

    func run(_ args: [String]) throws -> (CLIResult, Summary?) {
        let r = try CLI.run(["run"] + args + ["--json", "--quiet"])
        return (r, try? JSONDecoder().decode(Summary.self, from: Data(r.stdout.utf8)))
    }

    func records(_ out: String) throws -> [Record] {
        try String(contentsOfFile: out + "/restore-manifest.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(Record.self, from: Data($0.utf8)) }
    }

    func testCorruptFileInTheMiddleThenSkipAndRetry() throws {
        try tone(folder + "/in/a/1.wav")
        try Data("this is not audio".utf8).write(to: URL(fileURLWithPath: folder + "/in/a/15.wav"))
        try tone(folder + "/in/a/2.wav")
        try tone(folder + "/in/b/3.flac")
        let out = folder + "/out"
        var (r, s) = try run([preset, folder + "/in", "-o", out])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(s?.done, 3)
        XCTAssertEqual(s?.failed, 1)
        for f in ["a/1.wav", "a/2.wav", "b/3.flac"] { XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), f) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/a/15.wav"))
        let failed = try records(out).filter { $0.status == "failed" }
        XCTAssertEqual(failed.map(\.input), ["a/15.wav"])
        XCTAssertTrue(failed[0].error?.contains("cannot read audio") == true, failed[0].error ?? "")

        // Rerun: the three done files are skipped, the failed one is retried (and fails again).
        (r, s) = try run([preset, folder + "/in", "-o", out])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(s?.skipped, 3)
        XCTAssertEqual(s?.failed, 1)
        // Fixed input: retried and done; a changed input is redone.
        try tone(folder + "/in/a/15.wav")
        try tone(folder + "/in/a/1.wav", seconds: 0.7)
        (r, s) = try run([preset, folder + "/in", "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(s?.done, 2)
        XCTAssertEqual(s?.skipped, 2)
        XCTAssertEqual(s?.failed, 0)
        let (b, _) = try AudioFile.read(out + "/a/1.wav")
        XCTAssertEqual(b.frameCount, Int(0.7 * 22050))
    }

    func testShardsCoverEveryInputExactlyOnce() throws {
        for i in 0..<7 { try tone(folder + "/in/a/\(i).wav", seconds: 0.2) }
        var seen: [String] = []
        for k in 1...3 {
            let out = folder + "/shard\(k)"
            let (r, s) = try run([preset, folder + "/in", "-o", out, "--shard", "\(k)/3"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(s?.failed, 0)
            seen += try records(out).map(\.input)
        }
        XCTAssertEqual(seen.sorted(), (0..<7).map { "a/\($0).wav" })
    }

    func testInterruptLeavesNoPartialFiles() throws {
        // Files with a dropout each: every one runs the engine, long enough to interrupt.
        for i in 0..<6 { try tone(folder + "/in/a/\(i).wav", seconds: 1, gap: true) }
        try "name: slow\ndescription: test\ndefaults: {iterations: 2}\nsteps:\n  - task: fill-gap\n    detect: true\n"
            .write(toFile: preset, atomically: true, encoding: .utf8)
        let out = folder + "/out"
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = ["run", preset, folder + "/in", "-o", out, "--quiet"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Interrupt while a file is in progress: after the first record, or after 20 s.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !FileManager.default.fileExists(atPath: out + "/restore-manifest.jsonl") { usleep(50_000) }
        usleep(300_000)
        p.interrupt()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130)
        let all = try FileManager.default.subpathsOfDirectory(atPath: out)
        XCTAssertEqual(all.filter { ($0 as NSString).lastPathComponent.hasPrefix(".") }, [], "temporary files left: \(all)")
        let recs = try records(out)
        XCTAssertFalse(recs.isEmpty)
        XCTAssertLessThan(recs.count, 6, "the run finished before the interrupt: \(recs.map { $0.error ?? "ok" })")
        for r in recs where r.status == "done" {
            let (b, _) = try AudioFile.read(out + "/" + r.output!)
            XCTAssertEqual(b.frameCount, 22050)
        }
        // Every audio file present is complete and recorded.
        let wavs = all.filter { $0.hasSuffix(".wav") }
        XCTAssertEqual(Set(wavs), Set(recs.compactMap(\.output)))
    }
}
