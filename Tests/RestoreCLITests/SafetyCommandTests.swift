import Foundation
import RestoreCore
import XCTest

/// Regression tests for the safety review: no data loss, clear range errors instead of
/// crashes, no file with non-finite samples, checked weights.
final class SafetyCommandTests: XCTestCase {
    var folder = ""
    var wav = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("restore-safety-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        wav = folder + "/tone.wav"
        try AudioWriter.write(AudioBuffer(sampleRate: 22050, mono: TestSignals.sine(frequency: 440, sampleRate: 22050, seconds: 1)), to: wav)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    func expectError(_ args: [String], _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLI.run(args)
        XCTAssertNotEqual(r.status, 0, file: file, line: line)
        XCTAssertTrue(r.stderr.contains(message), "stderr was: \(r.stderr)", file: file, line: line)
    }

    func sha(_ p: String) throws -> String { try ModelVerification.sha256(file: p) }

    // MARK: data loss

    func testTokenizeNeverWritesTokensOverItsInput() throws {
        let before = try sha(wav)
        try expectError(["tokenize", wav, "--tokens", wav, "--overwrite", "-o", folder + "/t.wav"], "\(wav): is an input file and is never overwritten")
        XCTAssertEqual(try sha(wav), before)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/t.wav"), "checked before any work")
    }

    func testEmbedSideFilesNeverReplaceALaterInput() throws {
        let second = folder + "/tone.embed.columns.npy"
        try Data("precious".utf8).write(to: URL(fileURLWithPath: second))
        try expectError(["embed", wav, second, "--overwrite"], "\(second): is an input file and is never overwritten")
        XCTAssertEqual(try String(contentsOfFile: second, encoding: .utf8), "precious")
    }

    func testProbeNeverWritesOverItsEmbeddings() throws {
        let emb = folder + "/emb"
        try FileManager.default.createDirectory(atPath: emb, withIntermediateDirectories: true)
        let e = emb + "/a.npy"
        try NumpyArray(shape: [2], values: [1, 2]).encoded().write(to: URL(fileURLWithPath: e))
        let labels = folder + "/labels.csv"
        try "file,label\na,x\n".write(toFile: labels, atomically: true, encoding: .utf8)
        try expectError(["probe", "train", "--embeddings", emb, "--labels", labels, "-o", e, "--overwrite"], "\(e): is an input file and is never overwritten")
        try expectError(["probe", "train", "--embeddings", emb, "--labels", labels, "-o", labels, "--overwrite"], "\(labels): is an input file")
        try expectError(["probe", "train", "--embeddings", emb, "--labels", labels, "-o", folder + "/p.safetensors", "--epochs", "0"],
                        "--epochs must be between 1 and 100000")
    }

    /// Two inputs named alike into one folder: refused before any work, even with --overwrite.
    func testSameNamedInputsClashBeforeAnyWork() throws {
        for sub in ["a", "b"] {
            try FileManager.default.createDirectory(atPath: folder + "/\(sub)", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: wav, toPath: folder + "/\(sub)/x.wav")
        }
        try expectError(["bwe", "--cutoff", "4000", folder + "/a/x.wav", folder + "/b/x.wav", "-o", folder + "/out/", "--overwrite"],
                        "\(folder)/out/x.wav: two outputs of this call would be written to the same file")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder + "/out"), [])
    }

    func testGenerateOverwritesItsOwnEarlierOutput() throws {
        let out = folder + "/g.wav"
        for _ in 0..<2 {
            let r = try CLI.run(["generate", "--duration", "0.5", "--iterations", "1", "-o", out, "--overwrite", "--quiet"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let r = try CLI.run(["generate", "--duration", "0.5", "--iterations", "1", "-o", out, "--quiet"])
        XCTAssertTrue(r.stderr.contains("\(out): already exists (use --overwrite to replace it)"), r.stderr)
    }

    // MARK: wrong results with exit 0

    func testEmptyFileIsAnErrorNotAnEmptyOutput() throws {
        let empty = folder + "/empty.wav"
        try AudioWriter.write(AudioBuffer(sampleRate: 22050, mono: []), to: empty)
        try expectError(["bwe", "--cutoff", "4000", empty, "-o", folder + "/e.wav"], "\(empty): contains no audio (0 frames)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/e.wav"))
    }

    func testVeryShortInputStillHasAnEmbedding() throws {
        let short = folder + "/click.wav"
        try AudioWriter.write(AudioBuffer(sampleRate: 22050, mono: [Float](repeating: 0.3, count: 100)), to: short)
        let r = try CLI.run(["embed", short, "-o", folder + "/click.json", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/click.json"))) as? [String: Any]
        XCTAssertEqual((doc?["columns"] as? [[Double]])?.count, 1)
        XCTAssertEqual((doc?["clip"] as? [Double])?.count, 2560)
    }

    /// A float file with samples near 1e18: whatever the engine makes of it, no file with a
    /// NaN or infinity is written.
    func testHugeInputNeverGivesANonFiniteFile() throws {
        let loud = folder + "/loud.wav"
        let x = TestSignals.sine(frequency: 440, sampleRate: 22050, seconds: 1).map { $0 * 1e18 }
        try AudioWriter.write(AudioBuffer(sampleRate: 22050, mono: x), to: loud, options: AudioWriteOptions(encoding: .float32))
        let out = folder + "/loud.out.wav"
        let r = try CLI.run(["bwe", "--cutoff", "4000", "--iterations", "1", loud, "-o", out, "--encoding", "float"])
        if FileManager.default.fileExists(atPath: out) {
            XCTAssertEqual(r.status, 0)
            XCTAssertNil(try AudioFile.read(out).0.firstNonFinite())   // read() itself refuses NaN; this is belt and braces
        } else {
            XCTAssertTrue(r.stderr.contains("not written: the result has NaN or infinite samples"), r.stderr)
        }
    }

    // MARK: weights

    func testTamperedWeightsAreRefused() throws {
        let models = folder + "/Models"
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        let shipped = CLI.repository.appendingPathComponent("Models/default").path
        try FileManager.default.copyItem(atPath: shipped, toPath: models + "/default")
        // One byte of the transformer changed (inside its data, not its header).
        let t = models + "/default/transformer.safetensors"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: t))
        bytes[bytes.count - 10] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: t))
        try expectError(["bwe", "--cutoff", "4000", "--model", models + "/default", wav, "-o", folder + "/x.wav"],
                        "\(models)/default/transformer.safetensors: sha256 ")
        try expectError(["bwe", "--cutoff", "4000", "--model", models + "/default", wav, "-o", folder + "/x.wav"],
                        "differs from the transformer checksum in \(models)/default/model.json")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/x.wav"))
    }

    // MARK: messages

    func testNegativeAndHugeNumbersGetRangeErrors() throws {
        try expectError(["bwe", "--seed", "-1", wav], "--seed must be a whole number between 0 and 18446744073709551615 (got '-1')")
        try expectError(["bwe", "--iterations", "-3", wav], "--iterations must be between 1 and 256")
        try expectError(["bwe", "--threads", "-2", wav], "--threads must be between 1 and 256")
        try expectError(["bwe", "--cutoff", "1e300", wav], "bwe: cutoff 1e+300 Hz is outside 100…24000 Hz")
        try expectError(["bwe", "--cutoff", "-4000", wav], "bwe: cutoff -4000 Hz is outside 100…24000 Hz")
        try expectError(["generate", "--count", "-1"], "generate: --count must be between 1 and 1000")
        try expectError(["generate", "--duration", "-1s"], "generate: --duration must be greater than 0 and at most 600 s")
        try expectError(["probe", "train", "--embeddings", folder, "--labels", "l.csv", "-o", "p.safetensors", "--seed", "-1"],
                        "--seed must be a whole number between 0 and 18446744073709551615 (got '-1')")
    }

    /// fill-gap: negative and huge times get range errors; gaps past the end are errors, not clamps.
    func testFillGapTimesAreRangeChecked() throws {
        try expectError(["fill-gap", "--at", "-1s", "--length", "0.1s", wav], "fill-gap: --at -1s is before the start")
        try expectError(["fill-gap", "--at", "1e15", "--length", "0.1s", wav], "fill-gap: --at 1e+15s is beyond 10000000 s")
        try expectError(["fill-gap", "--detect", "--min-dropout", "1e300", wav], "fill-gap: --max-dropout must not be shorter than --min-dropout")
        try expectError(["fill-gap", "--detect", "--max-dropout", "1e300", wav], "fill-gap: --min-dropout and --max-dropout must be between 0 and 60 s")
        try expectError(["fill-gap", "--at", "0.5s", "--length", "100s", wav], "fill-gap: --length must be at most 60 s")
        try expectError(["fill-gap", "--at", "0.5s", "--length", "10s", wav], "\(wav): gap 0.500–10.500 s ends after the end (1.000 s)")
        try expectError(["fill-gap", "--gaps", "0-4", wav], "\(wav): gap 0.000–4.000 s ends after the end (1.000 s)")
    }

    /// A fill never peaks above the audio beside the gap (a quiet file is not clipped).
    func testAFillStaysUnderThePeakBesideTheGap() throws {
        var x = TestSignals.sine(frequency: 440, sampleRate: 22050, seconds: 3, amplitude: 0.5)
        for i in 30000..<36000 { x[i] = 0 }
        let input = folder + "/quiet.wav"
        try AudioWriter.write(AudioBuffer(sampleRate: 22050, mono: x), to: input, options: AudioWriteOptions(encoding: .float32))
        let r = try CLI.run(["fill-gap", "--detect", input, "-o", folder + "/quiet.out.wav", "--iterations", "2", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let (y, _) = try AudioFile.read(folder + "/quiet.out.wav")
        XCTAssertLessThanOrEqual(y.channels[0].map(abs).max() ?? 0, 0.5 + 1e-3)
        XCTAssertGreaterThan(y.channels[0][30000..<36000].map { $0 * $0 }.reduce(0, +), 1e-3, "the gap was filled")
    }
}
