import Foundation
import RestoreCore
import XCTest

final class InfoCommandTests: XCTestCase {
    var folder = ""
    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("restore-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    func makeFile(_ name: String, rate: Double, channels: Int, encoding: SampleEncoding = .keep) throws -> String {
        let x = TestSignals.whiteNoise(sampleRate: rate, seconds: 1, amplitude: 0.1, seed: 11)
        let y = FIRFilter.lowPass(cutoff: 3000, sampleRate: rate).apply(x)
        let path = "\(folder)/\(name)"
        try AudioWriter.write(AudioBuffer(sampleRate: rate, channels: Array(repeating: y, count: channels)), to: path,
                              options: .init(encoding: encoding))
        return path
    }

    struct Report: Decodable {
        var format: String, subtype: String, sampleRate: Double, channels: Int, duration: Double
        var peakDbfs: Double, rmsDbfs: Double, bandwidth: Double, clipped: Double
    }

    func testDescribesWavFlacAndOggAtEveryRateMonoAndStereo() throws {
        for rate in [8000.0, 22050, 44100, 48000] {
            for channels in [1, 2] {
                for (ext, enc, format, subtype) in [("wav", SampleEncoding.pcm16, "WAV", "PCM_16"), ("flac", .pcm24, "FLAC", "PCM_24"), ("ogg", .keep, "OGG", "VORBIS")] {
                    let path = try makeFile("f\(Int(rate))-\(channels).\(ext)", rate: rate, channels: channels, encoding: enc)
                    let text = try CLI.run(["info", path])
                    XCTAssertEqual(text.status, 0, text.stderr)
                    XCTAssertTrue(text.stdout.contains("sample rate: \(Int(rate)) Hz"), text.stdout)
                    XCTAssertTrue(text.stdout.contains("channels:    \(channels)"), text.stdout)
                    XCTAssertTrue(text.stdout.contains("format:      \(format) \(subtype)"), text.stdout)
                    let json = try CLI.run(["info", "--json", path])
                    XCTAssertEqual(json.status, 0, json.stderr)
                    let r = try XCTUnwrap(try json.reports(Report.self).first)
                    XCTAssertEqual(r.sampleRate, rate)
                    XCTAssertEqual(r.channels, channels)
                    XCTAssertEqual(r.format, format)
                    XCTAssertEqual(r.subtype, subtype)
                    XCTAssertEqual(r.duration, 1, accuracy: 0.01)
                    XCTAssertEqual(r.bandwidth, 3000, accuracy: 150, "\(path)")
                    XCTAssertLessThan(r.peakDbfs, 0)
                    XCTAssertEqual(r.clipped, 0)
                }
            }
        }
    }

    func testSeveralFilesGiveOneJSONLineEach() throws {
        let a = try makeFile("a.wav", rate: 22050, channels: 1)
        let b = try makeFile("b.flac", rate: 44100, channels: 2)
        let r = try CLI.run(["info", "--json", a, b])
        XCTAssertEqual(r.status, 0)
        let reports = try r.reports(Report.self)
        XCTAssertEqual(reports.map(\.channels), [1, 2])
    }

    /// Each bad input: one line on stderr naming the file, exit code 1, nothing on stdout.
    func assertOneLineError(_ path: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLI.run(["info", path])
        XCTAssertEqual(r.status, 1, file: file, line: line)
        XCTAssertEqual(r.stdout, "", file: file, line: line)
        XCTAssertEqual(r.stderr, "restore: error: \(expected)\n", file: file, line: line)
    }

    func testMissingFile() throws {
        try assertOneLineError("\(folder)/nope.wav", "\(folder)/nope.wav: no such file")
    }

    func testDirectory() throws {
        try assertOneLineError(folder, "\(folder): is a directory, expected an audio file")
    }

    func testCorruptFile() throws {
        let path = "\(folder)/corrupt.flac"
        _ = FileManager.default.createFile(atPath: path, contents: Data("fLaC this is not really flac".utf8) + Data(repeating: 7, count: 500))
        let r = try CLI.run(["info", path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("restore: error: \(path): cannot read audio ("), r.stderr)
        XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1)
    }

    func testZeroLengthAudio() throws {
        let path = try makeFile("short.wav", rate: 8000, channels: 1)
        // Keep the 44-byte header, drop the data, fix the data chunk size to 0.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path)).prefix(44)
        bytes.replaceSubrange(40..<44, with: [0, 0, 0, 0])
        bytes.replaceSubrange(4..<8, with: [36, 0, 0, 0])
        let empty = "\(folder)/empty.wav"
        _ = FileManager.default.createFile(atPath: empty, contents: bytes)
        try assertOneLineError(empty, "\(empty): contains no audio (0 frames)")
    }

    func testNaNSamples() throws {
        var x = [Float](repeating: 0.1, count: 1000)
        x[500] = .nan
        let path = "\(folder)/nan.wav"
        try TestSignals.writeRawFloatWAV(AudioBuffer(sampleRate: 8000, mono: x), to: path)
        try assertOneLineError(path, "\(path): contains NaN or infinite samples (first at frame 500, channel 0)")
    }

    func testOneBadFileDoesNotHideTheOthers() throws {
        let good = try makeFile("good.wav", rate: 22050, channels: 1)
        let r = try CLI.run(["info", "\(folder)/missing.wav", good])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains(good))
        XCTAssertEqual(r.stderr, "restore: error: \(folder)/missing.wav: no such file\n")
    }

    func testNoFilesIsAUsageError() throws {
        let r = try CLI.run(["info"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("give at least one audio file") || r.stderr.contains("Missing expected argument"), r.stderr)
    }
}
