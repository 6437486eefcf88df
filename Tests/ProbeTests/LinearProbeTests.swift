import Foundation
import XCTest
import RestoreCore
@testable import Probe

final class LinearProbeTests: XCTestCase {
    /// Two Gaussian blobs in 16 dimensions (class 1 shifted along the first 4), plus a tag
    /// that follows dimension 5's sign, for multi-label.
    func blobs(_ n: Int, seed: UInt64 = 1, multiLabel: Bool = false) -> ProbeDataset {
        var rng = SplitMix64(seed: seed)
        var f: [[Float]] = [], t: [[Bool]] = []
        for i in 0..<n {
            let c = i % 2
            var x = (0..<16).map { _ in Float(rng.gaussian()) }
            for j in 0..<4 { x[j] += c == 1 ? 2.5 : 0 }
            f.append(x.map { $0 * 3 + 7 })   // far from zero mean / unit variance: batch norm has work to do
            t.append(multiLabel ? [c == 1, x[5] > 0] : [c == 0, c == 1])
        }
        return ProbeDataset(names: (0..<n).map { "f\($0)" }, features: f, targets: t, classes: multiLabel ? ["shifted", "dim5"] : ["a", "b"],
                            kind: multiLabel ? .multiLabel : .multiClass, splits: [String](repeating: "", count: n))
    }

    func testLearnsSeparableClassesAndScoresThem() throws {
        let ds = blobs(300)
        let (tr, va) = LinearProbe.split(Array(0..<200), validationFraction: 0.2, seed: 0)
        let (p, log) = try LinearProbe.train(ds, train: tr, validation: va)
        XCTAssertLessThan(log.bestEpoch, log.epochs + 1)
        let e = try p.evaluate(ds, indices: Array(200..<300))
        XCTAssertGreaterThan(e.rocAUC, 0.97)
        XCTAssertGreaterThan(e.accuracy ?? 0, 0.9)
        XCTAssertEqual(e.skipped, [])
    }

    func testMultiLabelTagsAreLearnedIndependently() throws {
        let ds = blobs(400, multiLabel: true)
        let (tr, va) = LinearProbe.split(Array(0..<300), validationFraction: 0.2, seed: 0)
        let (p, _) = try LinearProbe.train(ds, train: tr, validation: va)
        let e = try p.evaluate(ds, indices: Array(300..<400))
        XCTAssertGreaterThan(e.rocAUC, 0.95)
        XCTAssertNil(e.accuracy)
        let probs = p.predict(ds.features[0])
        XCTAssertEqual(probs.count, 2)
        XCTAssertTrue(probs.allSatisfy { $0 > 0 && $0 < 1 })
    }

    func testTrainingIsDeterministicForASeed() throws {
        let ds = blobs(120)
        let (tr, va) = LinearProbe.split(Array(0..<120), validationFraction: 0.2, seed: 4)
        var s = LinearProbe.Settings()
        s.seed = 4
        let a = try LinearProbe.train(ds, train: tr, validation: va, settings: s).0
        let b = try LinearProbe.train(ds, train: tr, validation: va, settings: s).0
        XCTAssertEqual(a.weight, b.weight)
        XCTAssertEqual(a.mean, b.mean)
        s.seed = 5
        let c = try LinearProbe.train(ds, train: tr, validation: va, settings: s).0
        XCTAssertNotEqual(a.weight, c.weight)
    }

    func testSaveLoadRoundTrip() throws {
        let ds = blobs(60)
        let (p, _) = try LinearProbe.train(ds, train: Array(0..<40), validation: Array(40..<60))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try p.save(to: path)
        let q = try LinearProbe.load(path)
        XCTAssertEqual(q.classes, p.classes)
        XCTAssertEqual(q.kind, p.kind)
        XCTAssertEqual(q.predict(ds.features[3]), p.predict(ds.features[3]))
    }

    func testLabelFilesParse() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("labels-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "file,labels,split\nsub/a.wav,piano;strings,train\nb.flac,,test\n".write(toFile: dir + "/m.csv", atomically: true, encoding: .utf8)
        let (rows, kind) = try ProbeData.readLabels(dir + "/m.csv")
        XCTAssertEqual(kind, .multiLabel)
        XCTAssertEqual(rows, [LabelRow(name: "a", labels: ["piano", "strings"], split: "train"), LabelRow(name: "b", labels: [], split: "test")])
        try "{\"file\": \"x.embed.npy\", \"label\": \"speech\"}\n{\"file\": \"y.wav\", \"label\": \"music\"}\n".write(toFile: dir + "/c.jsonl", atomically: true, encoding: .utf8)
        let (r2, k2) = try ProbeData.readLabels(dir + "/c.jsonl")
        XCTAssertEqual(k2, .multiClass)
        XCTAssertEqual(r2.map(\.name), ["x", "y"])
        try "name,tag\na,b\n".write(toFile: dir + "/bad.csv", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ProbeData.readLabels(dir + "/bad.csv")) {
            XCTAssertEqual("\($0)", "\(dir)/bad.csv:1: the header needs a 'file' column and a 'label' (multi-class) or 'labels' (multi-label) column")
        }
    }

    func testMFCCOfAStationaryToneHasFlatDeltasAndEightyValues() {
        let x = TestSignals.sine(frequency: 440, sampleRate: 22050, seconds: 1, amplitude: 0.3)
        let (v, t) = MFCC.frames(x)
        XCTAssertEqual(v.count, t * 40)
        // Deltas of a steady tone are tiny next to the coefficients themselves.
        var maxC: Float = 0, maxD: Float = 0
        for f in 5..<(t - 5) { for k in 0..<20 { maxC = max(maxC, abs(v[f * 40 + k])); maxD = max(maxD, abs(v[f * 40 + 20 + k])) } }
        XCTAssertLessThan(maxD, 0.01 * maxC)
        let s = MFCC.summary(x)
        XCTAssertEqual(s.count, 80)
        // c0 is √80 × the mean ln-mel: all-floor (ln 1e-5) would give −102.97; the tone lifts it.
        XCTAssertGreaterThan(s[0], Float(80.0.squareRoot() * log(1e-5)) + 10)
    }
}
