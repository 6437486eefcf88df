import Foundation
import XCTest
@testable import RestoreCore

/// The Swift MiniLM against sentence-transformers on 50 varied sentences (unicode, CJK,
/// punctuation, numbers, special tokens in the text, control characters, over-long and
/// empty input). Fixtures: training/export_minilm.py --fixtures. Empty text encodes as
/// [CLS] [SEP], as in sentence-transformers.
final class MiniLMParityTests: XCTestCase {
    struct Fixture: Decodable { var sentences: [String]; var ids: [[Int32]] }
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func model() throws -> MiniLM {
        let path = Self.root.appendingPathComponent("Models/pretrained/minilm.safetensors").path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("SKIPPED: run scripts/fetch-pretrained (make test does)") }
        return try MiniLM(file: SafeTensorsFile(path: path), vocabulary: Self.root.appendingPathComponent("Models/pretrained/minilm-vocab.txt").path)
    }

    func fixture() throws -> (Fixture, NumpyArray) {
        let f = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: Fixtures.root.appendingPathComponent("minilm/sentences.json")))
        return (f, try Fixtures.npy("minilm/embeddings.npy"))
    }

    func testTokenIdsMatchTheReferenceTokenizer() throws {
        let m = try model()
        let (f, _) = try fixture()
        XCTAssertEqual(f.sentences.count, 50)
        for (s, ids) in zip(f.sentences, f.ids) {
            XCTAssertEqual(m.tokenizer.encode(s), ids, "sentence: \(s.debugDescription)")
        }
    }

    func testEmbeddingsMatchSentenceTransformers() throws {
        let m = try model()
        let (f, e) = try fixture()
        var worst = 1.0
        for (i, s) in f.sentences.enumerated() {
            let v = m.embed(s)
            let ref = Array(e.values[(i * 384)..<((i + 1) * 384)])
            let cos = zip(v, ref).map { Double($0) * Double($1) }.reduce(0, +)
            worst = min(worst, cos)
            XCTAssertGreaterThanOrEqual(cos, 0.9999, "sentence: \(s.debugDescription)")
        }
        print("minilm parity: worst cosine \(worst)")
    }
}
