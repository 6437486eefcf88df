import Foundation
import RestoreCore
import Tasks
import XCTest

/// The task commands as a user runs them: bad input gets one clear line and exit 1;
/// a good run writes where -o says and reports JSON.
final class TaskCommandTests: XCTestCase {
    var folder = ""
    var wav = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("restore-task-cli-\(UUID().uuidString)").path
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

    func testBadOptionsGiveClearErrors() throws {
        try expectError(["bwe", "--cutoff", "high", wav], "--cutoff 'high' is not auto or a frequency in Hz")
        try expectError(["bwe", "--cutoff", "20", wav], "bwe: cutoff 20 Hz is outside 100…24000 Hz")
        try expectError(["bwe", "--iterations", "0", wav], "--iterations must be between 1 and 256")
        try expectError(["bwe", folder + "/missing.wav"], "restore: error: \(folder)/missing.wav: no such file")
        try expectError(["fill-gap", wav], "fill-gap: say where the gaps are: --at TIME [--length TIME], --gaps START-END,… or --detect")
        try expectError(["fill-gap", "--at", "soon", wav], "--at 'soon' is not a time (e.g. 1.2s, 350ms, 1:02.5)")
        try expectError(["fill-gap", "--gaps", "2-1", wav], "gap '2-1': the end must come after the start, both ≥ 0")
        try expectError(["fill-gap", "--at", "5s", "--length", "0.1s", wav], "restore: error: \(wav): gap at 5.000 s starts after the end (1.000 s)")
        try expectError(["fill-gap", "--at", "0.5s", wav], "restore: error: \(wav): no dropout (digital silence) at 0.5s; give --length to fill a stretch that is not silent")
        try expectError(["generate", "--duration", "0"], "generate: --duration must be greater than 0 and at most 600 s")
        try expectError(["generate", "--prompt", ""], "generate: --prompt is empty; leave it out for unconditional generation")
        try expectError(["embed", "--text", "rain", wav], "--text embeds text; give no audio files with it")
        try expectError(["embed"], "give audio files to embed, or --text TEXT")
        try expectError(["embed", "--layer", "x", wav], "embed: --layer 'x' is not a block number, a comma list or 'all'")
        try expectError(["embed", "--pool", "median", wav], "The value 'median' is invalid for '--pool <pool>'")
        try expectError(["bwe", "--model", folder, wav], "restore: error: \(folder)/tokenizer.safetensors: no such file")
        try expectError(["bwe", "--plot", folder + "/p.png", wav, wav], "--plot needs exactly one input")
        try expectError(["bwe", "--rate", "4000", wav], "bwe: --rate 4000 Hz is outside 8000…192000 Hz")
    }

    /// Telephone audio (8 kHz, full band at its rate) is extended from the foot of its
    /// resampler's transition band, 0.95 of Nyquist, and written at the engine's rate.
    func testTelephoneSpeechIsExtendedFromBelowItsNyquist() throws {
        var g = SplitMix64(seed: 11)
        let x = (0..<16000).map { _ in Float(0.2 * (g.uniform() * 2 - 1)) }
        let phone = folder + "/phone.wav"
        try AudioWriter.write(AudioBuffer(sampleRate: 8000, mono: x), to: phone)
        let r = try CLI.run(["bwe", phone, "-o", folder + "/wide.wav", "--iterations", "1", "--quiet", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let report = try XCTUnwrap(line["report"] as? [String: Any])
        XCTAssertEqual(report["cutoff_hz"] as? Double, 3800)
        XCTAssertEqual(report["output_rate"] as? Double, 22050)
        XCTAssertEqual(report["fuse"] as? String, "sbr")
        XCTAssertEqual(try AudioFileReader(path: folder + "/wide.wav").info.sampleRate, 22050)
    }

    /// `--rate` writes at the asked rate and the new band reaches its Nyquist; the report gives
    /// the new band's level beside the octave under the cutoff, measured on the output.
    func testRateSetsTheOutputRateAndTheReportGivesTheNewBandsLevel() throws {
        var g = SplitMix64(seed: 12)
        let x = (0..<16000).map { _ in Float(0.2 * (g.uniform() * 2 - 1)) }
        let phone = folder + "/phone.wav"
        try AudioWriter.write(AudioBuffer(sampleRate: 8000, mono: x), to: phone)
        let r = try CLI.run(["bwe", phone, "-o", folder + "/wideband.wav", "--rate", "16000", "--iterations", "1", "--quiet", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let report = try XCTUnwrap(line["report"] as? [String: Any])
        XCTAssertEqual(report["output_rate"] as? Double, 16000)
        XCTAssertEqual((line["settings"] as? [String: Any])?["rate"] as? Double, 16000)
        let out = try AudioFileReader(path: folder + "/wideband.wav")
        XCTAssertEqual(out.info.sampleRate, 16000)
        XCTAssertEqual(out.info.declaredFrames, 32000)
        // Both levels come from the written file: uniform noise of peak 0.2 has mean square
        // 0.04/3 (−18.75 dBFS) spread over 0–4 kHz, so the octave 1.9–3.8 kHz holds 0.475 of it,
        // −22.0 dBFS; the new band is made, neither silent nor louder than the input.
        let band = try XCTUnwrap(report["new_band_db"] as? Double), below = try XCTUnwrap(report["below_cutoff_db"] as? Double)
        XCTAssertEqual(below, -22.0, accuracy: 0.5)
        XCTAssertGreaterThan(band, -60)
        XCTAssertLessThan(band, below + 6)
        let levels = try BandLevel.dBFS(path: folder + "/wideband.wav", bands: [3800...8000])
        XCTAssertEqual(band, levels[0], accuracy: 1e-9)
        // Without --json the result line says it too.
        let human = try CLI.run(["bwe", phone, "-o", folder + "/wideband2.wav", "--rate", "16000", "--iterations", "1", "--quiet"])
        XCTAssertEqual(human.status, 0, human.stderr)
        XCTAssertTrue((human.stdout + human.stderr).contains("from 3800 Hz; new band "), human.stdout + human.stderr)
    }

    /// `--level-guard off` turns the guard off (it once kept the default).
    func testLevelGuardOffTurnsTheGuardOff() throws {
        for (command, extra) in [("bwe", ["--cutoff", "4000"]), ("fill-gap", ["--at", "0.4s", "--length", "0.1s"])] {
            let r = try CLI.run([command, wav, "-o", folder + "/\(command).wav", "--iterations", "1", "--quiet", "--json", "--level-guard", "off"] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            let line = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            let settings = try XCTUnwrap(line["settings"] as? [String: Any])
            XCTAssertNil(settings["level_guard"], command)
            XCTAssertNil((line["report"] as? [String: Any])?["level_guard"], command)
            let on = try CLI.run([command, wav, "-o", folder + "/\(command)-on.wav", "--iterations", "1", "--quiet", "--json", "--level-guard", "3"] + extra)
            let onLine = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(on.stdout.utf8)) as? [String: Any])
            XCTAssertEqual((onLine["settings"] as? [String: Any])?["level_guard"] as? Double, 3, command)
            XCTAssertNotNil((onLine["report"] as? [String: Any])?["level_guard"], command)
        }
    }

    /// `--fill-floor` (fill-gap): on by default and reported; `off` turns it off; bad values
    /// are refused with the flag's name.
    func testFillFloorIsReportedAndCanBeTurnedOff() throws {
        let args = ["fill-gap", wav, "--at", "0.4s", "--length", "0.1s", "--iterations", "1", "--quiet", "--json"]
        let on = try CLI.run(args + ["-o", folder + "/floor-on.wav"])
        XCTAssertEqual(on.status, 0, on.stderr)
        let onLine = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(on.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((onLine["settings"] as? [String: Any])?["fill_floor"] as? Double, FillGap.defaultFillFloor)
        let floor = try XCTUnwrap((onLine["report"] as? [String: Any])?["fill_floor"] as? [String: Any])
        XCTAssertGreaterThan(floor["cells"] as? Int ?? 0, 0)
        let off = try CLI.run(args + ["-o", folder + "/floor-off.wav", "--fill-floor", "off"])
        XCTAssertEqual(off.status, 0, off.stderr)
        let offLine = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(off.stdout.utf8)) as? [String: Any])
        XCTAssertNil((offLine["settings"] as? [String: Any])?["fill_floor"])
        XCTAssertNil((offLine["report"] as? [String: Any])?["fill_floor"])
        try expectError(args + ["--fill-floor", "loud"], "--fill-floor 'loud' is not a number of dB or off")
        try expectError(args + ["--fill-floor", "61"], "fill-gap: --fill-floor must be between 0 and 60 dB")
    }

    func testDecodingDefaultsToExpectedCodesForRestorationAndCanBeChosen() throws {
        let args = ["fill-gap", wav, "--at", "0.4s", "--length", "0.1s", "--iterations", "2", "--quiet", "--json", "--encoding", "float"]
        func run(_ extra: [String], _ name: String) throws -> (settings: [String: Any], audio: [Float]) {
            let r = try CLI.run(args + extra + ["-o", folder + "/" + name])
            XCTAssertEqual(r.status, 0, r.stderr)
            let line = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            return (try XCTUnwrap(line["settings"] as? [String: Any]), try AudioFile.read(folder + "/" + name).0.channels[0])
        }
        let plain = try run([], "dec-default.wav")
        XCTAssertEqual(plain.settings["decoding"] as? String, "expected")
        let expected = try run(["--decoding", "expected"], "dec-expected.wav")
        XCTAssertEqual(expected.audio, plain.audio)
        let sampled = try run(["--decoding", "sampled"], "dec-sampled.wav")
        XCTAssertEqual(sampled.settings["decoding"] as? String, "sampled")
        XCTAssertNotEqual(sampled.audio, plain.audio, "the same tokens decoded two ways give different fills")
        try expectError(args + ["--decoding", "mean"], "The value 'mean' is invalid for '--decoding <decoding>'. Please provide one of 'sampled' and 'expected'.")
    }

    /// embed samples nothing and writes no audio: it takes --model but none of the sampler's options, nor an encoding.
    func testEmbedTakesNoSamplingEncodingOrVocoderOptions() throws {
        for option in ["--seed", "--iterations", "--temperature", "--guidance", "--decoding", "--encoding", "--vocoder"] {
            let r = try CLI.run(["embed", option, "1", wav])
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains("Unknown option '\(option)'"), r.stderr)
        }
        let r = try CLI.run(["embed", "--model", folder + "/no-such-model", wav])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertFalse(r.stderr.contains("Unknown option"), r.stderr)
    }

    func testPlotIsRefusedWhereThereIsNoAudioToDraw() throws {
        for args in [["embed", "--plot", folder + "/p.png", wav], ["embed", "--text", "rain", "--plot", folder + "/p.png"]] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertEqual(r.stderr, "restore: error: --plot draws the audio a task read and wrote; embed writes no audio (plots are for bwe, fill-gap, repair and generate)\n")
            XCTAssertEqual(r.stdout, "")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/p.png"))
        // Commands without a before and after do not take the option at all.
        for command in ["vocode", "tokenize", "info"] {
            let r = try CLI.run([command, "--plot", folder + "/p.png", wav])
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains("Unknown option '--plot'"), r.stderr)
        }
    }

    /// The height of the PNG at `path` (IHDR), to count its panels.
    func pngHeight(_ path: String) throws -> Int {
        let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        return png[20..<24].reduce(0) { $0 << 8 | Int($1) }
    }

    func testPromptedGenerationAndTextEmbedding() throws {
        let r = try CLI.run(["generate", "--prompt", "a dog barking", "--duration", "1", "--iterations", "2", "-o", folder + "/dog.wav", "--json",
                             "--plot", folder + "/dog.png"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\"prompt\":\"a dog barking\""), r.stdout)
        let (dog, info) = try AudioFile.read(folder + "/dog.wav")
        XCTAssertEqual(info.sampleRate, 22050)
        XCTAssertEqual(dog.frameCount, 22050)
        // The whole 10 s window is generated (no known silence past the second asked for,
        // which made the engine write near-silence), then cut to the duration.
        let generated = try XCTUnwrap((r.jsonLines.first?["report"] as? [String: Any])?["generated"] as? [[String: Any]])
        XCTAssertEqual(generated.first?["generated_tokens"] as? Double, 5 * 53)
        // Nothing was read, so the plot is one panel: the generated sound.
        let onePanel = SpectrogramImage.render(panels: [.init(title: "generated", mel: MelFrontEnd().normalizedMel(dog.channels[0]))], regions: [])
        XCTAssertEqual(try pngHeight(folder + "/dog.png"), onePanel.height)
        let t = try CLI.run(["embed", "--text", "a dog barking"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let report = t.jsonLines.first?["report"] as? [String: Any]
        let v = try XCTUnwrap(report?["embedding"] as? [Double])
        XCTAssertEqual(v.count, 384)
        XCTAssertEqual(v.map { $0 * $0 }.reduce(0, +), 1, accuracy: 1e-4)
    }

    func testFillGapWritesTheOutputAndAPlot() throws {
        // 1 s tone with 100 ms of digital silence at 0.5 s.
        var x = TestSignals.sine(frequency: 440, sampleRate: 22050, seconds: 1)
        for i in 11025..<13230 { x[i] = 0 }
        let input = folder + "/gap.wav"
        try AudioWriter.write(AudioBuffer(sampleRate: 22050, mono: x), to: input, options: AudioWriteOptions(encoding: .float32))
        let r = try CLI.run(["fill-gap", "--detect", input, "-o", folder + "/out/", "--iterations", "2", "--json", "--plot", folder + "/p.png"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.jsonLines.first?["outputs"] as? [String], [folder + "/out/gap.wav"], r.stdout)
        let (out, _) = try AudioFile.read(folder + "/out/gap.wav")
        XCTAssertEqual(out.frameCount, x.count)
        // Input and output panels, and a legend line naming the gap.
        let mel = MelFrontEnd().normalizedMel(x)
        let twoPanels = SpectrogramImage.render(panels: [.init(title: "input", mel: mel), .init(title: "after fill-gap", mel: mel)],
                                                regions: [.time(start: 0.5, end: 0.6)])
        XCTAssertEqual(try pngHeight(folder + "/p.png"), twoPanels.height)
    }
}
