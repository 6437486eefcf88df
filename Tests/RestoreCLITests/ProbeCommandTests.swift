import Foundation
import RestoreCore
import XCTest

/// `restore embed` then `restore probe train/eval/predict` on the shipped examples.
final class ProbeCommandTests: XCTestCase {
    func testEmbedThenProbeEndToEnd() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("restore-probe-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clips = ["chords.flac", "chords-lowpass-4k.flac", "chords-gap.flac"].map { root + "/Examples/" + $0 }
        var r = try CLI.run(["embed"] + clips + ["-o", dir + "/emb/", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try CLI.run(["embed", "--features", "mfcc"] + clips + ["-o", dir + "/mfcc/", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try NumpyArray.read(dir + "/mfcc/chords.npy").shape, [80])
        for feats in ["emb", "mfcc"] {
            r = try CLI.run(["probe", "train", "--embeddings", dir + "/" + feats, "--labels", root + "/Examples/labels.csv", "-o", dir + "/\(feats).safetensors", "--seed", "1"])
            XCTAssertEqual(r.status, 0, r.stderr)
            r = try CLI.run(["probe", "eval", dir + "/\(feats).safetensors", "--embeddings", dir + "/" + feats, "--labels", root + "/Examples/labels.csv", "--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("\"roc_auc\":"), r.stdout)
            r = try CLI.run(["probe", "predict", dir + "/\(feats).safetensors", "--embeddings", dir + "/" + feats, "--top", "2", "--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.jsonLines.map { $0["input"] as? String }, ["chords", "chords-gap", "chords-lowpass-4k"])
            XCTAssertEqual(r.jsonLines.map { (($0["report"] as? [String: Any])?["tags"] as? [Any])?.count }, [2, 2, 2])
        }
        // Same seed, same probe file.
        r = try CLI.run(["probe", "train", "--embeddings", dir + "/emb", "--labels", root + "/Examples/labels.csv", "-o", dir + "/again.safetensors", "--seed", "1"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/again.safetensors")), try Data(contentsOf: URL(fileURLWithPath: dir + "/emb.safetensors")))
        r = try CLI.run(["probe", "train", "--embeddings", dir + "/emb", "--labels", dir + "/none.csv", "-o", dir + "/x.safetensors"])
        XCTAssertEqual(r.stderr, "restore: error: \(dir)/none.csv: no such file\n")
    }
}
