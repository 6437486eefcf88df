import Foundation
import RestoreCore
import XCTest

final class TokenizeCommandTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let vocoder = root.appendingPathComponent("Models/pretrained/hifigan-universal.safetensors").path
    static let tokenizer = root.appendingPathComponent("Models/default/tokenizer.safetensors").path
    var folder = ""

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: TokenizeCommandTests.vocoder) else {
            throw XCTSkip("SKIPPED: vocoder weights absent; run scripts/fetch-pretrained (make test does)")
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("restore-tok-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    struct Report: Decodable { var melL1: Double; var rows: Int; var columns: Int; var distinctTokens: Int }

    /// A 2 s stereo file at 44.1 kHz round-trips through tokens: same rate, channels and length,
    /// 5 rows × ceil(frames/16) columns, and the token .npy holds channels × rows × columns.
    func testRoundTripThroughTokens() throws {
        let input = "\(folder)/music.wav"
        let l = TestSignals.sine(frequency: 330, sampleRate: 44100, seconds: 2, amplitude: 0.3)
        let r = TestSignals.whiteNoise(sampleRate: 44100, seconds: 2, amplitude: 0.05, seed: 3)
        try AudioWriter.write(AudioBuffer(sampleRate: 44100, channels: [l, r]), to: input)
        let res = try CLI.run(["tokenize", input, "--json", "--tokens", "\(folder)/t.npy", "--vocoder", TokenizeCommandTests.vocoder,
                               "--tokenizer", TokenizeCommandTests.tokenizer])
        XCTAssertEqual(res.status, 0, res.stderr)
        let report = try XCTUnwrap(try res.reports(Report.self).first)
        let output = try XCTUnwrap((res.jsonLines.first?["outputs"] as? [String])?.first)
        XCTAssertEqual(output, "\(folder)/music.tokenize.wav")
        // 2 s at 22 050 Hz: 1 + (44100 + 768 − 1024)/256 = 172 frames → 11 columns.
        XCTAssertEqual(report.rows, 5)
        XCTAssertEqual(report.columns, 11)
        XCTAssertGreaterThan(report.distinctTokens, 3)
        XCTAssertLessThan(report.melL1, 0.5)
        let (out, _) = try AudioFile.read(output)
        XCTAssertEqual(out.sampleRate, 44100)
        XCTAssertEqual(out.channelCount, 2)
        XCTAssertEqual(out.frameCount, l.count)
        let tokens = try NumpyArray.read("\(folder)/t.npy")
        XCTAssertEqual(tokens.shape, [2, 5, 11])
    }
}
