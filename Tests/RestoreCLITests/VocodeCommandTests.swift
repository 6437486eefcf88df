import Foundation
import RestoreCore
import XCTest

final class VocodeCommandTests: XCTestCase {
    var folder = ""
    static let weights = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Models/pretrained/hifigan-universal.safetensors").path

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: VocodeCommandTests.weights) else {
            throw XCTSkip("SKIPPED: vocoder weights absent; run scripts/fetch-pretrained (make test does)")
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("restore-vocode-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    struct Report: Decodable { var melL1: Double }

    func testWritesTheInputsRateChannelsAndEncoding() throws {
        let input = "\(folder)/take.flac"
        let x = TestSignals.sine(frequency: 330, sampleRate: 48000, seconds: 0.4, amplitude: 0.3)
        try AudioWriter.write(AudioBuffer(sampleRate: 48000, channels: [x, x]), to: input, options: .init(encoding: .pcm24))
        let r = try CLI.run(["vocode", input, "--json", "--vocoder", VocodeCommandTests.weights])
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try XCTUnwrap(try r.reports(Report.self).first)
        let output = try XCTUnwrap((r.jsonLines.first?["outputs"] as? [String])?.first)
        XCTAssertEqual(output, "\(folder)/take.vocode.flac")
        let (out, info) = try AudioFile.read(output)
        XCTAssertEqual(out.sampleRate, 48000)
        XCTAssertEqual(out.channelCount, 2)
        XCTAssertEqual(out.frameCount, x.count)
        XCTAssertEqual(info.format.subtype, "PCM_24")
        XCTAssertTrue(report.melL1 > 0 && report.melL1 < 2, "\(report.melL1)")
        // A second run refuses to replace the output without --overwrite.
        let again = try CLI.run(["vocode", input, "--vocoder", VocodeCommandTests.weights])
        XCTAssertEqual(again.status, 1)
        XCTAssertEqual(again.stderr, "restore: error: \(folder)/take.vocode.flac: already exists (use --overwrite to replace it)\n")
    }

    func testNeverWritesOverItsInput() throws {
        let input = "\(folder)/in.wav"
        try AudioWriter.write(AudioBuffer(sampleRate: 22050, mono: TestSignals.sine(frequency: 200, sampleRate: 22050, seconds: 0.3)), to: input)
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        let r = try CLI.run(["vocode", input, "-o", input, "--overwrite", "--vocoder", VocodeCommandTests.weights])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "restore: error: \(input): is an input file and is never overwritten\n")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: input)), before)
    }

    func testMissingOrCorruptWeightsAreOneLineErrors() throws {
        let input = "\(folder)/in.wav"
        try AudioWriter.write(AudioBuffer(sampleRate: 22050, mono: [Float](repeating: 0.1, count: 5000)), to: input)
        let missing = try CLI.run(["vocode", input, "--vocoder", "\(folder)/none.safetensors"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "restore: error: \(folder)/none.safetensors: no such file\n")
        let bad = "\(folder)/bad.safetensors"
        _ = FileManager.default.createFile(atPath: bad, contents: Data([8, 0, 0, 0, 0, 0, 0, 0]) + Data("{\"x\":1} ".utf8))
        let corrupt = try CLI.run(["vocode", input, "--vocoder", bad])
        XCTAssertEqual(corrupt.status, 1)
        XCTAssertEqual(corrupt.stderr, "restore: error: \(bad): tensor 'x': entry is not an object\n")
    }
}
