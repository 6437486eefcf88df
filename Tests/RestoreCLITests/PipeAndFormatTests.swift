import Foundation
import RestoreCore
import XCTest

/// `-` for stdin and stdout, and lossy output, as a user runs them: `cat in.wav | restore bwe
/// - -o - > out.wav` gives audio on stdout and every message on stderr; `.mp3` and `.opus`
/// outputs are written with a quality; what cannot work is refused in one line before any work.
final class PipeAndFormatTests: XCTestCase {
    var folder = ""
    var wav = ""
    var wavBytes = Data()
    /// The commands' $TMPDIR, to see that nothing is left behind.
    var tmp = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("restore-pipes-\(UUID().uuidString)").path
        tmp = folder + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        wav = folder + "/tone.wav"
        try AudioWriter.write(AudioBuffer(sampleRate: 22050, mono: TestSignals.sine(frequency: 440, sampleRate: 22050, seconds: 1)), to: wav)
        wavBytes = try Data(contentsOf: URL(fileURLWithPath: wav))
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    func run(_ args: [String], stdin: Data? = nil) throws -> CLIResult {
        try CLI.run(args, environment: ["TMPDIR": tmp], stdin: stdin)
    }

    /// The audio a command wrote on stdout, read back through a file.
    func audio(_ r: CLIResult, _ name: String) throws -> (AudioBuffer, AudioFileInfo) {
        let path = folder + "/" + name
        try r.stdoutData.write(to: URL(fileURLWithPath: path))
        return try AudioFile.read(path)
    }

    func assertNothingLeftInTMPDIR(file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), [], "temporary files left", file: file, line: line)
    }

    func testBweFromStdinToStdout() throws {
        let r = try run(["bwe", "-", "-o", "-", "--iterations", "2"], stdin: wavBytes)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(Array(r.stdoutData.prefix(4)), Array("RIFF".utf8), "stdout holds only the WAV")
        let (out, info) = try audio(r, "out.wav")
        XCTAssertEqual(info.sampleRate, 22050)
        XCTAssertEqual(out.frameCount, 22050)
        XCTAssertTrue(r.stderr.contains("stdin → stdout"), "the result line goes to stderr: \(r.stderr)")
        XCTAssertFalse(r.stderr.contains(tmp), "messages name stdin and stdout, not temporary files: \(r.stderr)")
        try assertNothingLeftInTMPDIR()
    }

    func testEveryAudioCommandPipes() throws {
        let cases: [(name: String, args: [String], input: Bool)] = [
            ("fill-gap", ["fill-gap", "--at", "0.4s", "--length", "0.1s", "--iterations", "2", "-", "-o", "-"], true),
            ("repair", ["repair", "--at", "0.4s", "--length", "0.1s", "--iterations", "2", "-", "-o", "-"], true),
            ("vocode", ["vocode", "-", "-o", "-"], true),
            ("tokenize", ["tokenize", "-", "-o", "-"], true),
            ("generate", ["generate", "--duration", "0.5s", "--iterations", "2", "-o", "-"], false),
        ]
        for c in cases {
            let r = try run(c.args, stdin: c.input ? wavBytes : nil)
            XCTAssertEqual(r.status, 0, "\(c.name): \(r.stderr)")
            let (out, info) = try audio(r, "\(c.name).wav")
            XCTAssertEqual(info.format.container, "WAV", c.name)
            XCTAssertEqual(out.duration, c.input ? 1 : 0.5, accuracy: 0.01, c.name)
            XCTAssertTrue(r.stderr.contains("stdout"), "\(c.name): the result line is on stderr: \(r.stderr)")
        }
        try assertNothingLeftInTMPDIR()
    }

    func testStdoutFormatAndStdinToAFile() throws {
        let flac = try run(["vocode", "-", "-o", "-", "--format", "flac"], stdin: wavBytes)
        XCTAssertEqual(flac.status, 0, flac.stderr)
        XCTAssertEqual(Array(flac.stdoutData.prefix(4)), Array("fLaC".utf8))
        let opus = try run(["vocode", "-", "-o", "-", "--format", "opus", "--quality", "0.3"], stdin: wavBytes)
        XCTAssertEqual(opus.status, 0, opus.stderr)
        XCTAssertEqual(try audio(opus, "o.opus").1.sampleRate, 48000)
        XCTAssertTrue(opus.stderr.contains("restore: note: stdout: Opus holds 8, 12, 16, 24, 48 kHz; written at 48000 Hz (resampled from 22050 Hz)"), opus.stderr)

        let toFile = try run(["vocode", "-", "-o", folder + "/v.wav", "--json"], stdin: wavBytes)
        XCTAssertEqual(toFile.status, 0, toFile.stderr)
        let line = toFile.jsonLines.first
        XCTAssertEqual(line?["input"] as? String, "-")
        XCTAssertEqual(line?["outputs"] as? [String], [folder + "/v.wav"])
        // The output guards hold for files written from stdin.
        let again = try run(["vocode", "-", "-o", folder + "/v.wav"], stdin: wavBytes)
        XCTAssertEqual(again.status, 1)
        XCTAssertEqual(again.stderr, "restore: error: \(folder)/v.wav: already exists (use --overwrite to replace it)\n")
        try assertNothingLeftInTMPDIR()
    }

    func testRefusalsAreOneLineBeforeAnyWork() throws {
        let cases: [([String], Data?, String)] = [
            (["bwe", "-", "-o", "-", "--json"], wavBytes, "--json and -o - both write to stdout; write the audio to a file or leave out --json"),
            (["bwe", "-", "-", "-o", folder + "/out/"], wavBytes, "stdin (-) can be read once; give it as one input"),
            (["bwe", "-"], wavBytes, "stdin (-) has no name to write beside; give -o FILE, -o FOLDER/ or -o - (stdout)"),
            (["bwe", wav, wav, "-o", "-"], nil, "-o - (stdout) holds one output; give a folder (-o out/) for several"),
            (["generate", "--count", "2", "-o", "-"], nil, "-o - (stdout) holds one output; give a folder (-o out/) for several"),
            (["embed", wav, "-o", "-"], nil, "-o - (stdout) carries audio only; write .npy files to a file or folder"),
            (["vocode", wav, "-o", folder + "/v.flac", "--format", "mp3"], nil, "--format mp3 does not match the output \(folder)/v.flac; name it .mp3 or leave out --format"),
            (["vocode", wav, "-o", folder + "/v.wav", "--quality", "0.5"], nil, "--quality applies to lossy output (ogg, mp3, opus); \(folder)/v.wav is wav, which is lossless"),
            (["vocode", "-", "-o", "-", "--quality", "0.5"], wavBytes, "--quality applies to lossy output (ogg, mp3, opus); stdout is wav, which is lossless"),
            (["vocode", "-", "-o", folder + "/e.wav"], Data(), "restore: error: stdin: cannot read audio"),
        ]
        for (args, stdin, message) in cases {
            let r = try run(args, stdin: stdin)
            XCTAssertEqual(r.status, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("restore: error: ") && r.stderr.contains(message), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "\(args): one line: \(r.stderr)")
            XCTAssertTrue(r.stdoutData.isEmpty, "\(args): nothing on stdout")
        }
        try assertNothingLeftInTMPDIR()
    }

    func testBweWritesMP3AndOpus() throws {
        let flac = folder + "/in.flac"
        try AudioWriter.write(AudioBuffer(sampleRate: 44100, channels: [
            TestSignals.sine(frequency: 440, sampleRate: 44100, seconds: 1), TestSignals.sine(frequency: 660, sampleRate: 44100, seconds: 1),
        ]), to: flac)
        for (ext, rate) in [("mp3", 44100.0), ("opus", 48000)] {
            let r = try run(["bwe", flac, "-o", "\(folder)/out.\(ext)", "--quality", "0.6", "--iterations", "2"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("→ \(folder)/out.\(ext)"), r.stdout)
            let (out, info) = try AudioFile.read("\(folder)/out.\(ext)")
            XCTAssertEqual(info.format.subtype, ext.uppercased())
            XCTAssertEqual(info.sampleRate, rate)
            XCTAssertEqual(out.channelCount, 2)
            XCTAssertEqual(out.duration, 1, accuracy: 0.06)
            XCTAssertEqual(r.stderr.contains("Opus holds"), ext == "opus", r.stderr)
        }
        // --format names outputs restore names itself.
        let r = try run(["bwe", flac, "-o", folder + "/named/", "--format", "mp3", "--iterations", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/named/in.mp3"))
    }
}
