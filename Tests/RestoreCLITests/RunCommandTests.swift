import Foundation
import RestoreCore
import XCTest

/// `restore run` over folders: mirrored layout, a corrupt file in the middle, skip and retry
/// on rerun, shards, Ctrl-C and SIGTERM leaving no partial files, and a manifest and output
/// folder that survive damage (issue 14), kills and concurrent runs (issue 22).
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

    struct Summary: Decodable { var done: Int; var skipped: Int; var failed: Int; var inputs: Int; var busy: Int }
    struct Record: Decodable { var input: String; var status: String; var error: String?; var output: String?; var finished: String }

    func run(_ args: [String]) throws -> (CLIResult, Summary?) {
        let r = try CLI.run(["run"] + args + ["--json", "--quiet"])
        return (r, try? r.reports(Summary.self).first)
    }

    /// Every record of every manifest in `out` (restore-manifest.jsonl and the per-shard ones).
    func records(_ out: String) throws -> [Record] {
        let names = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix("restore-manifest") }.sorted()
        return try names.flatMap { name in
            try String(contentsOfFile: out + "/" + name, encoding: .utf8).split(separator: "\n")
                .map { try JSONDecoder().decode(Record.self, from: Data($0.utf8)) }
        }
    }

    /// Hidden files and folders left anywhere in `out`.
    func hidden(_ out: String) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: out).filter { ($0 as NSString).lastPathComponent.hasPrefix(".") }
    }

    /// The outputs named by claim files left in `out` (an interrupted run's published outputs).
    func claimedOutputs(_ out: String) throws -> [String] {
        let folder = out + "/.restore-claims"
        guard FileManager.default.fileExists(atPath: folder) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: folder).map { name in
            let o = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))) as? [String: Any]
            return try XCTUnwrap(o?["output"] as? String, "claim \(name) names no output")
        }
    }

    /// A preset that runs the engine on every file (seconds each), and `count` files with a dropout.
    func slowInputs(_ count: Int) throws {
        for i in 0..<count { try tone(folder + "/in/a/\(i).wav", seconds: 1, gap: true) }
        try "name: slow\ndescription: test\ndefaults: {iterations: 2}\nsteps:\n  - task: fill-gap\n    detect: true\n"
            .write(toFile: preset, atomically: true, encoding: .utf8)
    }

    /// Starts `restore run`.
    func startRun(_ out: String, extra: [String] = []) throws -> Process {
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = ["run", preset, folder + "/in", "-o", out, "--quiet"] + extra
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Returns once a manifest in `out` has a first record (or after 90 s).
    func waitForFirstRecord(_ out: String) {
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            if let names = try? FileManager.default.contentsOfDirectory(atPath: out),
               names.contains(where: { $0.hasPrefix("restore-manifest") && ((try? Data(contentsOf: URL(fileURLWithPath: out + "/" + $0)))?.count ?? 0) > 0 }) { return }
            usleep(50_000)
        }
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
            XCTAssertTrue([2, 3].contains(s?.inputs ?? 0), "7 files in 3 shards: \(s?.inputs ?? 0)")
            seen += try records(out).map(\.input)
        }
        XCTAssertEqual(seen.sorted(), (0..<7).map { "a/\($0).wav" })
    }

    func testShardsShareOneOutputFolderWithAManifestEachThenStatusAndMerge() throws {
        for i in 0..<10 { try tone(folder + "/in/a/\(i).wav", seconds: 0.2) }
        let out = folder + "/out"
        for k in 1...3 {
            let (r, s) = try run([preset, folder + "/in", "-o", out, "--shard", "\(k)/3"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(s?.done, k == 1 ? 4 : 3, "10 files in 3 shards: ranks 0, 3, 6, 9 go to shard 1")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix("restore-manifest") }.sorted()
        XCTAssertEqual(names, ["restore-manifest.1-of-3.jsonl", "restore-manifest.2-of-3.jsonl", "restore-manifest.3-of-3.jsonl"])
        // An unsharded rerun reads them all: nothing to do.
        var (r, s) = try run([preset, folder + "/in", "-o", out])
        XCTAssertEqual(s?.skipped, 10, r.stderr)
        try tone(folder + "/in/a/new.wav", seconds: 0.2)
        let st = try CLI.run(["manifest", "status", out, "--inputs", folder + "/in", "--json"])
        XCTAssertEqual(st.status, 1, "a pending file: exit 1")
        struct Status: Decodable { var done: Int; var failed: Int; var pending: Int?; var inProgress: Int; var audioHours: Double; var manifests: [String] }
        let status = try XCTUnwrap(try st.reports(Status.self).first)
        XCTAssertEqual(status.done, 10)
        XCTAssertEqual(status.failed, 0)
        XCTAssertEqual(status.pending, 1)
        XCTAssertEqual(status.inProgress, 0)
        XCTAssertEqual(status.audioHours, 10 * 0.2 / 3600, accuracy: 1e-6)
        let m = try CLI.run(["manifest", "merge", out])
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix("restore-manifest") }, ["restore-manifest.jsonl"])
        XCTAssertEqual(try records(out).map(\.input), (0..<10).map { "a/\($0).wav" })
        (r, s) = try run([preset, folder + "/in", "-o", out, "--shard", "2/2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual((s?.done ?? 0) + (s?.skipped ?? 0), 5)
        XCTAssertEqual(try hidden(out), [])
    }

    func testTwoInputsWithOneOutputAreRefusedEvenInDifferentShards() throws {
        try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/in/x.aiff"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/in/x.au"))
        for k in 1...2 {
            let r = try CLI.run(["run", preset, folder + "/in", "-o", folder + "/out", "--shard", "\(k)/2", "--quiet"])
            XCTAssertEqual(r.status, 1)
            XCTAssertTrue(r.stderr.contains("x.aiff and x.au would both be written as x.wav"), r.stderr)
        }
    }

    // MARK: issue 14: damage

    func testAStuckAlreadyExistsRecordDoesNotFailReruns() throws {
        try tone(folder + "/in/a/1.wav")
        try tone(folder + "/in/a/2.wav")
        let out = folder + "/out"
        var (r, s) = try run([preset, folder + "/in", "-o", out])
        XCTAssertEqual(s?.done, 2, r.stderr)
        // What a second, concurrent run of an older version appended: a later failure.
        let good = try records(out).first { $0.input == "a/1.wav" }!
        let line = "{\"error\":\"\(out)/a/1.wav: already exists (use --overwrite to replace it)\",\"finished\":\"2099-01-01T00:00:00Z\",\"input\":\"a/1.wav\",\"inputSHA256\":\"\",\"presetSHA256\":\"\",\"seconds\":0,\"status\":\"failed\",\"steps\":[]}\n"
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: out + "/restore-manifest.jsonl"))
        try h.seekToEnd(); try h.write(contentsOf: Data(line.utf8)); try h.close()
        for _ in 0..<2 {
            (r, s) = try run([preset, folder + "/in", "-o", out])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(s?.skipped, 2)
            XCTAssertEqual(s?.failed, 0)
        }
        // The rerun recorded the valid result again, so the latest record says done.
        let last = try records(out).filter { $0.input == "a/1.wav" }.last!
        XCTAssertEqual(last.status, "done")
        XCTAssertEqual(last.output, good.output)
        // …and a changed input is redone over its own earlier output despite the failure record.
        try tone(folder + "/in/a/1.wav", seconds: 0.7)
        (r, s) = try run([preset, folder + "/in", "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(s?.done, 1)
    }

    func testDamagedManifestLinesAreSkippedWithAWarningAndRepaired() throws {
        for i in 1...4 { try tone(folder + "/in/a/\(i).wav") }
        let out = folder + "/out"
        var (r, s) = try run([preset, folder + "/in", "-o", out])
        XCTAssertEqual(s?.done, 4, r.stderr)
        let path = out + "/restore-manifest.jsonl"
        var lines = try Data(contentsOf: URL(fileURLWithPath: path)).split(separator: 0x0A).map { Data($0) }
        XCTAssertEqual(lines.count, 4)
        lines.insert(Data([0x7B, 0xC3, 0x28, 0x7D]), at: 1)            // line 2: invalid UTF-8
        var damaged = lines.map { $0 + Data([0x0A]) }.reduce(Data(), +)
        damaged.removeLast(20)                                          // line 5 (4.wav's record) torn
        try damaged.write(to: URL(fileURLWithPath: path))
        (r, s) = try run([preset, folder + "/in", "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(s?.skipped, 3, "one bad line must not make the whole manifest ignored")
        XCTAssertEqual(s?.done, 1, "the file whose record was torn is redone")
        let warnings = r.stderr.split(separator: "\n").filter { $0.contains("warning") }
        XCTAssertEqual(warnings.count, 2, r.stderr)
        XCTAssertTrue(warnings[0].hasPrefix("restore: warning: \(path):2: "), String(warnings[0]))
        XCTAssertTrue(warnings[1].hasPrefix("restore: warning: \(path):5: "), String(warnings[1]))
        // The new record was not swallowed by the torn line: a third run skips all four.
        (r, s) = try run([preset, folder + "/in", "-o", out])
        XCTAssertEqual(s?.skipped, 4, r.stderr)
    }

    func testAnOutputReplacedByTextIsRedoneNotSkipped() throws {
        try tone(folder + "/in/a/1.wav")
        try tone(folder + "/in/b/2.flac")
        let out = folder + "/out"
        var (r, s) = try run([preset, folder + "/in", "-o", out])
        XCTAssertEqual(s?.done, 2, r.stderr)
        try Data("garbage!".utf8).write(to: URL(fileURLWithPath: out + "/b/2.flac"))
        (r, s) = try run([preset, folder + "/in", "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(s?.done, 1)
        XCTAssertEqual(s?.skipped, 1)
        XCTAssertEqual(try AudioFileReader(path: out + "/b/2.flac").info.declaredFrames, 11025)
    }

    func testAnOutputFolderInsideTheInputFolderIsNotReprocessed() throws {
        try tone(folder + "/in/a/1.wav")
        try tone(folder + "/in/2.wav")
        let out = folder + "/in/restored"
        for _ in 0..<3 {
            let (r, s) = try run([preset, folder + "/in", "-o", out + "/"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(s?.inputs, 2)
        }
        XCTAssertEqual(try FileManager.default.subpathsOfDirectory(atPath: out).filter { $0.hasSuffix(".wav") }.sorted(), ["2.wav", "a/1.wav"])
    }

    // MARK: issue 14/22: signals, kills, concurrent runs

    func testSigtermExits143AndLeavesNoPartialFiles() throws {
        try slowInputs(6)
        let out = folder + "/out"
        let p = try startRun(out)
        waitForFirstRecord(out)
        usleep(300_000)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 143)
        XCTAssertEqual(p.terminationReason, .exit)
        let claimed = try claimedOutputs(out)
        XCTAssertLessThanOrEqual(claimed.count, 1)
        XCTAssertEqual(try hidden(out).filter { claimed.isEmpty || !$0.hasPrefix(".restore-claims") }, [])
    }

    func testARunKilledWithSIGKILLIsFinishedByARerunThatRedoesOnlyWhatIsMissing() throws {
        try slowInputs(5)
        let out = folder + "/out"
        let p = try startRun(out)
        waitForFirstRecord(out)
        usleep(500_000)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let before = Set(try records(out).filter { $0.status == "done" }.map(\.input))
        XCTAssertFalse(before.isEmpty)
        XCTAssertLessThan(before.count, 5, "the run finished before the kill")
        let (r, s) = try run([preset, folder + "/in", "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(s?.skipped, before.count)
        XCTAssertEqual(s?.done, 5 - before.count, "only the missing files are redone")
        let done = try records(out).filter { $0.status == "done" }.map(\.input)
        XCTAssertEqual(done.count, 5, "a file done twice: \(done)")
        XCTAssertEqual(Set(done).count, 5)
        XCTAssertEqual(try hidden(out), [], "leftovers of the killed run")
    }

    func testTwoRunsOnOneOutputFolderNeverProcessTheSameFile() throws {
        try slowInputs(4)
        let out = folder + "/out"
        let a = try startRun(out, extra: ["--json"]), b = try startRun(out, extra: ["--json"])
        a.waitUntilExit(); b.waitUntilExit()
        XCTAssertEqual(a.terminationStatus, 0)
        XCTAssertEqual(b.terminationStatus, 0)
        let recs = try records(out)
        XCTAssertEqual(recs.filter { $0.status == "failed" }.map { $0.error ?? "" }, [])
        XCTAssertEqual(recs.map(\.input).sorted(), (0..<4).map { "a/\($0).wav" }, "each file processed once")
        XCTAssertEqual(try hidden(out), [])
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
        // Interrupt while a file is in progress: after the first record, or after 90 s (a
        // loaded machine can take a minute for the model and the first file).
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline && !FileManager.default.fileExists(atPath: out + "/restore-manifest.jsonl") { usleep(50_000) }
        usleep(300_000)
        p.interrupt()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130)
        XCTAssertEqual(p.terminationReason, .exit)
        let all = try FileManager.default.subpathsOfDirectory(atPath: out)
        // Interrupted between the rename of an output and its record, the run leaves that
        // output's claim (documented): it names a complete file the next run may replace.
        let claimed = try claimedOutputs(out)
        XCTAssertLessThanOrEqual(claimed.count, 1, "one job holds at most one output being published")
        for o in claimed { XCTAssertEqual(try AudioFile.read(out + "/" + o).0.frameCount, 22050) }
        XCTAssertEqual(all.filter { ($0 as NSString).lastPathComponent.hasPrefix(".") && !$0.hasPrefix(".restore-claims") }, [],
                       "temporary files left: \(all)")
        if claimed.isEmpty { XCTAssertFalse(all.contains(".restore-claims"), "an empty claims folder left") }
        let recs = try records(out)
        XCTAssertFalse(recs.isEmpty)
        XCTAssertLessThan(recs.count, 6, "the run finished before the interrupt: \(recs.map { $0.error ?? "ok" })")
        for r in recs where r.status == "done" {
            let (b, _) = try AudioFile.read(out + "/" + r.output!)
            XCTAssertEqual(b.frameCount, 22050)
        }
        // Every audio file present is complete and recorded.
        let wavs = all.filter { $0.hasSuffix(".wav") }
        XCTAssertEqual(Set(wavs), Set(recs.compactMap(\.output)).union(claimed))
    }

    /// Two jobs at once (the test `swift test --sanitize=thread` runs for data races): every
    /// file once, each output complete, one done record per file.
    func testTwoJobsProcessEveryFileOnce() throws {
        try slowInputs(4)
        let out = folder + "/out"
        let (r, summary) = try run([preset, folder + "/in", "-o", out, "--jobs", "2", "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(summary?.done, 4, r.stdout)
        let done = try records(out).filter { $0.status == "done" }
        XCTAssertEqual(done.count, 4)
        XCTAssertEqual(Set(done.map(\.input)).count, 4)
        for i in 0..<4 { XCTAssertEqual(try AudioFile.read(out + "/a/\(i).wav").0.frameCount, 22050) }
        XCTAssertEqual(try hidden(out).filter { !$0.hasPrefix(".restore-claims") }, [])
    }
}
