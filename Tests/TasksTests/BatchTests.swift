import Foundation
import XCTest
import RestoreCore
@testable import Tasks

/// Sharding, the manifest's damage handling, claims and the stale-file sweep, without audio.
final class BatchTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("restore-batch-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    // MARK: shards

    func testShardsOf10_100_1000NamesDifferBySizeAtMostOne() {
        for count in [10, 100, 1000] {
            let inputs = (0..<count).map { BatchInput(path: "in/rec\($0).wav", relative: "box\($0 % 7)/rec\($0).wav") }
            for n in [1, 2, 3, 7, 8] {
                let shards = (1...n).map { BatchInputs.shard(inputs, $0, of: n) }
                let sizes = shards.map(\.count)
                XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, "\(count) names in \(n) shards: \(sizes)")
                let all = shards.flatMap { $0.map(\.relative) }
                XCTAssertEqual(all.count, count)
                XCTAssertEqual(Set(all), Set(inputs.map(\.relative)), "every input in exactly one shard")
            }
        }
        // The case: 10 files in 3 shards were 3/7/0.
        let ten = (1...10).map { BatchInput(path: "\($0).wav", relative: "\($0).wav") }
        XCTAssertEqual((1...3).map { BatchInputs.shard(ten, $0, of: 3).count }.sorted(), [3, 3, 4])
    }

    func testShardDoesNotDependOnListingOrder() {
        let inputs = (0..<50).map { BatchInput(path: "p\($0)", relative: "f\($0).flac") }
        for k in 1...4 {
            XCTAssertEqual(BatchInputs.shard(inputs, k, of: 4), BatchInputs.shard(inputs.reversed(), k, of: 4))
        }
    }

    func testParseShard() throws {
        XCTAssertEqual(try BatchInputs.parseShard("2/3").0, 2)
        for bad in ["0/3", "4/3", "1/0", "1/", "/3", "a/b", "1/2/3"] {
            XCTAssertThrowsError(try BatchInputs.parseShard(bad), bad)
        }
    }

    func testListingIsBytewiseSortedAndSkipsHiddenFoldersAndTheOutputFolder() throws {
        let fm = FileManager.default
        for f in ["in/b.wav", "in/B.wav", "in/a/é.wav", "in/a/z.wav", "in/.restore-work-12345678/step1.wav", "in/out/x.wav", "in/out/a/y.wav"] {
            try fm.createDirectory(atPath: folder + "/" + (f as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            fm.createFile(atPath: folder + "/" + f, contents: Data())
        }
        let list = try BatchInputs.collect([folder + "/in"], excluding: [folder + "/in/out/"])
        XCTAssertEqual(list.map(\.relative), ["B.wav", "a/z.wav", "a/é.wav", "b.wav"])
    }

    // MARK: manifest

    func record(_ input: String, _ status: String, at t: String, output: String? = nil, error: String? = nil) -> String {
        let r = BatchManifest.Record(input: input, status: status, inputSHA256: "s", presetSHA256: "p", output: output ?? (status == "done" ? input : nil),
                                     error: error, finished: t)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! enc.encode(r), as: UTF8.self)
    }

    func testBadLinesAreSkippedWithAWarningNamingFileAndLine() throws {
        let path = folder + "/" + BatchManifest.fileName
        var data = Data((record("a.wav", "failed", at: "2026-11-30T10:00:00Z") + "\n").utf8)
        data.append(contentsOf: [0x7B, 0xFF, 0xFE, 0x22, 0x0A])                       // line 2: not UTF-8
        data.append(Data((record("a.wav", "done", at: "2026-11-30T10:00:01Z") + "\n").utf8))
        data.append(Data("{\"input\": 3}\n\n".utf8))                                  // line 4: not a record; 5 blank
        data.append(Data((record("b.wav", "done", at: "2026-11-30T10:00:02Z") + "\n").utf8))
        data.append(Data(record("c.wav", "done", at: "2026-11-30T10:00:03Z").utf8.prefix(30)))   // line 7: torn
        try data.write(to: URL(fileURLWithPath: path))
        let m = try BatchManifest(folder: folder)
        XCTAssertEqual(m.latest["a.wav"]?.status, "done", "one bad line must not hide the others")
        XCTAssertEqual(m.latest["b.wav"]?.status, "done")
        XCTAssertNil(m.latest["c.wav"])
        XCTAssertEqual(m.warnings.count, 3, "\(m.warnings)")
        XCTAssertTrue(m.warnings[0].hasPrefix(path + ":2: "), m.warnings[0])
        XCTAssertTrue(m.warnings[1].hasPrefix(path + ":4: "), m.warnings[1])
        XCTAssertTrue(m.warnings[2].hasPrefix(path + ":7: "), m.warnings[2])
    }

    func testTornLastLineIsTerminatedBeforeTheNextRecord() throws {
        let path = folder + "/" + BatchManifest.fileName
        try (record("a.wav", "done", at: "2026-11-30T10:00:00Z") + "\n" + "{\"input\":\"b.w").write(toFile: path, atomically: true, encoding: .utf8)
        let m = try BatchManifest(folder: folder)
        try m.append(BatchManifest.Record(input: "c.wav", status: "done", inputSHA256: "s", presetSHA256: "p", output: "c.wav",
                                          finished: BatchManifest.timestamp()))
        let again = try BatchManifest(folder: folder)
        XCTAssertEqual(Set(again.latest.keys), ["a.wav", "c.wav"], "the torn line swallowed the next record")
        XCTAssertEqual(again.warnings.count, 1)
        XCTAssertTrue(again.warnings[0].hasPrefix(path + ":2: "), again.warnings[0])
        XCTAssertTrue(try String(contentsOfFile: path, encoding: .utf8).hasSuffix("\n"))
    }

    func testLatestRecordWinsAcrossShardManifestsByTime() throws {
        try (record("a.wav", "failed", at: "2026-11-30T10:00:05.250Z") + "\n" + record("b.wav", "done", at: "2026-11-30T10:00:00Z") + "\n")
            .write(toFile: folder + "/restore-manifest.1-of-2.jsonl", atomically: true, encoding: .utf8)
        try (record("a.wav", "done", at: "2026-11-30T10:00:05Z") + "\n" + record("b.wav", "failed", at: "2026-11-30T09:00:00Z") + "\n")
            .write(toFile: folder + "/restore-manifest.jsonl", atomically: true, encoding: .utf8)
        let m = try BatchManifest(folder: folder, shard: (2, 2))
        XCTAssertEqual(m.path, folder + "/restore-manifest.2-of-2.jsonl")
        XCTAssertEqual(m.latest["a.wav"]?.status, "failed")
        XCTAssertEqual(m.latestDone["a.wav"]?.finished, "2026-11-30T10:00:05Z")
        XCTAssertEqual(m.latest["b.wav"]?.status, "done")

        // Merge: one file, latest per input (a's done record kept before its failure).
        let r = try BatchStatus.merge(outputFolder: folder)
        XCTAssertEqual(r.records, 3)
        XCTAssertEqual(BatchManifest.manifests(in: folder), [folder + "/restore-manifest.jsonl"])
        let merged = try BatchManifest(folder: folder)
        XCTAssertEqual(merged.latest, m.latest)
        XCTAssertEqual(merged.latestDone, m.latestDone)
        XCTAssertEqual(merged.warnings, [])
    }

    func testStatusCountsDonePendingFailedAndHours() throws {
        var a = BatchManifest.Record(input: "a.wav", status: "done", inputSHA256: "s", presetSHA256: "p", output: "a.wav",
                                     seconds: 60, finished: "2026-11-30T10:01:00Z", audioSeconds: 1800)
        let m = try BatchManifest(folder: folder, shard: (1, 2))
        try m.append(a)
        a.input = "b.wav"; a.finished = "2026-11-30T10:02:00Z"
        try BatchManifest(folder: folder, shard: (2, 2)).append(a)
        try BatchManifest(folder: folder, shard: (2, 2)).append(.init(input: "c.wav", status: "failed", inputSHA256: "s", presetSHA256: "p",
                                                                      seconds: 1, error: "boom", finished: "2026-11-30T10:00:30Z"))
        let inputs = ["a.wav", "b.wav", "c.wav", "d.wav"].map { BatchInput(path: $0, relative: $0) }
        let s = try BatchStatus.report(outputFolder: folder, inputs: inputs)
        XCTAssertEqual(s.done, 2)
        XCTAssertEqual(s.failed, 1)
        XCTAssertEqual(s.pending, 1)
        XCTAssertEqual(s.audioHours, 1, accuracy: 1e-9)
        XCTAssertEqual(s.wallHours, 2.0 / 60, accuracy: 1e-9)     // 10:00:00 (a's start) to 10:02:00
        XCTAssertEqual(s.throughput, 30, accuracy: 1e-6)
        XCTAssertEqual(s.failures, ["c.wav: boom"])
    }

    // MARK: claims and the sweep

    func testTemporaryNamesOfThisProjectOnly() {
        XCTAssertEqual(BatchSweep.temporaryTarget(".restore-4242-1f2e-take-1.wav"), "take-1.wav")
        XCTAssertEqual(BatchSweep.temporaryTarget((OutputGuard.temporaryPath(for: "/x/y.flac") as NSString).lastPathComponent), "y.flac")
        XCTAssertEqual(BatchSweep.temporaryTarget(".restore-0A1B2C3D-take.wav"), "take.wav")
        for other in [".restore-work-12345678", ".restore-claims", ".restore-manifest-merge-1A2B3C4D", ".restore-notes", ".restore-12-xyz-a.wav", "restore-12-ab-a.wav"] {
            XCTAssertNil(BatchSweep.temporaryTarget(other), other)
        }
    }

    func testASecondClaimOnTheSameOutputIsBusyUntilReleased() throws {
        let a = BatchClaims(outputFolder: folder), b = BatchClaims(outputFolder: folder)
        XCTAssertEqual(try a.claim("x/1.wav", input: "x/1.wav"), .claimed(previousOwnerDied: false))
        guard case .busy(let owner) = try b.claim("x/1.wav", input: "x/1.wav") else { return XCTFail("both own x/1.wav") }
        XCTAssertTrue(owner.contains("pid \(getpid())"), owner)
        XCTAssertEqual(try b.claim("x/2.wav", input: "x/2.wav"), .claimed(previousOwnerDied: false))
        XCTAssertEqual(BatchClaims.live(outputFolder: folder), 2)
        a.release("x/1.wav")
        XCTAssertEqual(try b.claim("x/1.wav", input: "x/1.wav"), .claimed(previousOwnerDied: false))
        b.release("x/1.wav"); b.release("x/2.wav")
        b.finish()
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/" + BatchClaims.folderName))
    }

    func testAClaimLeftByADeadOwnerIsTakenOverAndSaysSo() throws {
        let a = BatchClaims(outputFolder: folder)
        try FileManager.default.createDirectory(atPath: a.folder, withIntermediateDirectories: true)
        // What a killed owner leaves: the claim file with its content, no lock (PID 1 is never us).
        try "{\"host\":\"\(BatchClaims.host)\",\"pid\":999999999,\"input\":\"1.wav\",\"output\":\"1.wav\"}\n"
            .write(toFile: a.file(for: "1.wav"), atomically: true, encoding: .utf8)
        XCTAssertFalse(BatchClaims.mayBeAlive(claimFile: a.file(for: "1.wav")))
        XCTAssertEqual(try a.claim("1.wav", input: "1.wav"), .claimed(previousOwnerDied: true))
        a.release("1.wav")
    }

    func testSweepRemovesDeadOwnersClaimsUnlessTheyProtectAnUnrecordedOutput() throws {
        let claims = BatchClaims(outputFolder: folder), live = BatchClaims(outputFolder: folder)
        try FileManager.default.createDirectory(atPath: claims.folder, withIntermediateDirectories: true)
        func dead(_ output: String) throws {
            try "{\"host\":\"\(BatchClaims.host)\",\"pid\":999999999,\"input\":\"\(output)\",\"output\":\"\(output)\"}\n"
                .write(toFile: claims.file(for: output), atomically: true, encoding: .utf8)
        }
        try dead("recorded.wav")        // killed after its record: removed
        try dead("nothing.wav")         // killed before writing anything: removed
        try dead("unrecorded.wav")      // killed between publishing and recording: kept
        for f in ["recorded.wav", "unrecorded.wav"] { FileManager.default.createFile(atPath: folder + "/" + f, contents: Data("x".utf8)) }
        try (record("recorded.wav", "done", at: "2026-11-30T10:00:00Z") + "\n").write(toFile: folder + "/" + BatchManifest.fileName, atomically: true, encoding: .utf8)
        XCTAssertEqual(try live.claim("held.wav", input: "held.wav"), .claimed(previousOwnerDied: false))   // alive: kept
        let m = try BatchManifest(folder: folder)
        BatchSweep.run(outputFolder: folder, claims: claims, manifest: m)
        for (output, kept) in [("recorded.wav", false), ("nothing.wav", false), ("unrecorded.wav", true), ("held.wav", true)] {
            XCTAssertEqual(FileManager.default.fileExists(atPath: claims.file(for: output)), kept, output)
        }
        XCTAssertEqual(try claims.claim("unrecorded.wav", input: "unrecorded.wav"), .claimed(previousOwnerDied: true))
        claims.release("unrecorded.wav")
        live.release("held.wav")
    }

    func testSweepRemovesOnlyLeftoversOfDeadRuns() throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: folder + "/a", withIntermediateDirectories: true)
        func make(_ rel: String, ageMinutes: Double) {
            fm.createFile(atPath: folder + "/" + rel, contents: Data("x".utf8))
            let t = Date().addingTimeInterval(-ageMinutes * 60)
            try? fm.setAttributes([.modificationDate: t], ofItemAtPath: folder + "/" + rel)
        }
        make("a/.restore-0A1B2C3D-1.wav", ageMinutes: 60)       // stale: removed
        make("a/.restore-0A1B2C3D-2.wav", ageMinutes: 0)        // recent: kept (another program may be writing it)
        make("a/.restore-0A1B2C3D-3.wav", ageMinutes: 60)       // old, but its output is claimed by a live run: kept
        make("a/.restore-notes", ageMinutes: 60)                // not ours: kept
        make("a/.restore-0A1B2C3X-4.wav", ageMinutes: 60)       // not our pattern: kept
        make("a/.restore-4242-1f2e-6.wav", ageMinutes: 60)     // today's naming (pid, tag): removed
        make("1.wav", ageMinutes: 60)
        // A killed run's work folder (lock free) and a live one (lock held).
        for w in ["12345678", "87654321"] {
            try fm.createDirectory(atPath: folder + "/.restore-work-\(w)", withIntermediateDirectories: true)
            fm.createFile(atPath: folder + "/.restore-work-\(w)/.lock", contents: nil)
            fm.createFile(atPath: folder + "/.restore-work-\(w)/step1.wav", contents: Data("x".utf8))
        }
        let held = open(folder + "/.restore-work-87654321/.lock", O_RDWR)
        XCTAssertEqual(flock(held, LOCK_EX | LOCK_NB), 0)
        defer { close(held) }
        let claims = BatchClaims(outputFolder: folder), live = BatchClaims(outputFolder: folder)
        XCTAssertEqual(try live.claim("a/3.wav", input: "a/3.wav"), .claimed(previousOwnerDied: false))
        defer { live.release("a/3.wav") }

        let removed = BatchSweep.run(outputFolder: folder, claims: claims).map { String($0.dropFirst(folder.count + 1)) }
        XCTAssertEqual(Set(removed), ["a/.restore-0A1B2C3D-1.wav", "a/.restore-4242-1f2e-6.wav", ".restore-work-12345678"])
        for kept in ["a/.restore-0A1B2C3D-2.wav", "a/.restore-0A1B2C3D-3.wav", "a/.restore-notes", "a/.restore-0A1B2C3X-4.wav", "1.wav",
                     ".restore-work-87654321/step1.wav"] {
            XCTAssertTrue(fm.fileExists(atPath: folder + "/" + kept), kept)
        }
        // Once claimed, an output's temporaries are a dead run's, whatever their age.
        XCTAssertEqual(BatchSweep.temporaries(of: folder + "/a/2.wav"), [folder + "/a/.restore-0A1B2C3D-2.wav"])
    }
}
