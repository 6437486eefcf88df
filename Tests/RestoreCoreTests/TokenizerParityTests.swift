import Foundation
import XCTest
@testable import RestoreCore

/// The Swift tokenizer against PyTorch (fixtures from training/make_tokenizer_fixtures.py):
/// identical token ids, decoded mel within 1e-3 relative error.
final class TokenizerParityTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let shipped = repository.appendingPathComponent("Models/default/tokenizer.safetensors").path
    /// The training campaign's tokenizer (−100 dB floor), committed beside its runs.
    static let campaign = repository.appendingPathComponent("training/campaign/tokenizer-v2.safetensors").path

    func load(_ name: String) throws -> SpectrogramTokenizer {
        switch name {
        case "tiny": return try SpectrogramTokenizer(path: Fixtures.root.appendingPathComponent("tokenizer/tiny.safetensors").path)
        case "campaign": return try SpectrogramTokenizer(path: TokenizerParityTests.campaign)
        default: return try SpectrogramTokenizer(path: TokenizerParityTests.shipped)
        }
    }

    func checkParity(_ model: String) throws {
        let tok = try load(model)
        for input in ["chirp", "noise"] {
            let x = try Fixtures.npy("tokenizer/\(input).input.npy")
            let mel = MelSpectrogram(melCount: 80, frames: x.shape[1], values: x.values)
            let refTokens = try Fixtures.npy("tokenizer/\(model).\(input).tokens.npy")
            let refDecoded = try Fixtures.npy("tokenizer/\(model).\(input).decoded.npy")
            let grid = tok.encode(mel)
            XCTAssertEqual([grid.rows, grid.columns], refTokens.shape)
            XCTAssertEqual(grid.ids.map(Float.init), refTokens.values, "\(model) \(input): token ids differ")
            let decoded = tok.decode(grid, frames: mel.frames)
            XCTAssertEqual(decoded.frames, mel.frames)
            let err = relativeL2(decoded.values, refDecoded.values)
            XCTAssertLessThan(err, 1e-3, "\(model) \(input): decoded relative error \(err)")
        }
    }

    /// The tiny fixture with its config's db_min set to `dbMin` (nil: removed).
    func tinyFile(dbMin: Float?) throws -> SafeTensorsFile {
        let path = Fixtures.root.appendingPathComponent("tokenizer/tiny.safetensors").path
        let original = try SafeTensorsFile(path: path)
        var config = try JSONSerialization.jsonObject(with: Data(original.metadata["config"]!.utf8)) as! [String: Any]
        config["db_min"] = dbMin
        let text = String(decoding: try JSONSerialization.data(withJSONObject: config, options: .sortedKeys), as: UTF8.self)
        return try SafeTensorsFile(data: Fixtures.safetensors(path, metadata: ["config": text, "format": "restore.tokenizer"]),
                                   name: "tiny-db.safetensors")
    }

    func testNormalisationFloorComesFromTheTokenizerConfig() throws {
        XCTAssertEqual(try SpectrogramTokenizer(file: tinyFile(dbMin: nil)).frontEnd.config.dbMin, -80)
        XCTAssertEqual(try SpectrogramTokenizer(file: tinyFile(dbMin: -100)).frontEnd.config.dbMin, -100)
        XCTAssertThrowsError(try SpectrogramTokenizer(file: tinyFile(dbMin: 30))) { e in
            XCTAssertTrue("\(e)".contains("tokenizer db_min 30.0 must be finite and below 20 dB"), "\(e)")
        }
    }

    func testTinyModelMatchesPyTorch() throws { try checkParity("tiny") }

    func testShippedModelMatchesPyTorch() throws {
        guard FileManager.default.fileExists(atPath: TokenizerParityTests.shipped) else {
            throw XCTSkip("SKIPPED: no shipped tokenizer yet at \(TokenizerParityTests.shipped)")
        }
        try checkParity("default")
    }

    func testCampaignModelMatchesPyTorch() throws {
        XCTAssertEqual(try load("campaign").frontEnd.config.dbMin, -100)
        try checkParity("campaign")
    }

    /// engine.md §2 contract: removing the band above a row boundary leaves the lower rows' tokens as they were.
    func testTokensOfRowsBelowALowPassAreUnchanged() throws {
        let tok = try load("tiny")
        let x = try Fixtures.npy("tokenizer/noise.input.npy")
        let mel = MelSpectrogram(melCount: 80, frames: x.shape[1], values: x.values)
        let clean = tok.encode(mel)
        for keptRows in 1...4 {
            var low = mel
            for b in (keptRows * 16)..<80 { for f in 0..<mel.frames { low[b, f] = -1 } }
            let lp = tok.encode(low)
            for r in 0..<keptRows { for c in 0..<clean.columns { XCTAssertEqual(lp[r, c], clean[r, c], "row \(r) col \(c), \(keptRows) rows kept") } }
        }
    }

    /// Zeroing a gap changes no token more than 3 columns away from it (short time context).
    func testTokensAwayFromAGapAreUnchanged() throws {
        let tok = try load("tiny")
        let x = try Fixtures.npy("tokenizer/noise.input.npy")
        let mel = MelSpectrogram(melCount: 80, frames: x.shape[1], values: x.values)
        let clean = tok.encode(mel)
        var gapped = mel
        for b in 0..<80 { for f in 112..<144 { gapped[b, f] = -1 } }    // columns 7 and 8
        let g = tok.encode(gapped)
        for r in 0..<5 { for c in 0..<clean.columns where c < 7 - 3 || c > 8 + 3 { XCTAssertEqual(g[r, c], clean[r, c], "row \(r) col \(c)") } }
    }

    func testBadTokenizerFilesAreNamedErrors() throws {
        let f = try SafeTensorsFile(path: Fixtures.root.appendingPathComponent("tokenizer/tiny.safetensors").path)
        var tensors: [String: Tensor] = [:]
        for n in f.names { tensors[n] = try f.tensor(n) }
        tensors["quantizer.codebook"] = Tensor(zeros: [15, 4])
        let data = try SafeTensorsWriter.encode(tensors, metadata: f.metadata)
        XCTAssertThrowsError(try SpectrogramTokenizer(file: SafeTensorsFile(data: data, name: "t.safetensors"))) { e in
            XCTAssertEqual("\(e)", "t.safetensors: tensor 'quantizer.codebook': shape [15, 4] does not match the expected [16, 4]")
        }
        let noConfig = try SafeTensorsWriter.encode(tensors)
        XCTAssertThrowsError(try SpectrogramTokenizer(file: SafeTensorsFile(data: noConfig, name: "t.safetensors"))) { e in
            XCTAssertEqual("\(e)", "t.safetensors: no tokenizer config in __metadata__")
        }
    }
}
