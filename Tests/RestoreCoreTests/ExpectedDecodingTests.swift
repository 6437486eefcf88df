import Foundation
import XCTest
@testable import RestoreCore

/// Expected-code decoding against PyTorch (fixtures from training/make_decoding_fixtures.py):
/// the distributions the sampler commits each position from, and the tokenizer's decode of
/// Σ p(c)·e(c) for the cells that carry one.
final class ExpectedDecodingTests: XCTestCase {
    func testSamplerReportsTheDistributionEachPositionWasDrawnFrom() throws {
        let model = try MaskedTransformer(path: Fixtures.root.appendingPathComponent("transformer/hybrid.safetensors").path)
        let tokens = try Fixtures.npy("transformer/tokens.npy").values.map { Int32($0) }
        let masked = try Fixtures.npy("transformer/masked.npy").values.map { $0 != 0 }
        let cond = try Fixtures.npy("transformer/cond.npy").values
        let patches = try Fixtures.npy("transformer/hybrid_patches.npy").values
        let u = try Fixtures.npy("transformer/uniform.npy"), g = try Fixtures.npy("transformer/gumbel.npy")
        let n = tokens.count, k = model.config.codebook_size
        var noise = ReplayedNoise(uniforms: (0..<u.shape[0]).map { Array(u.values[($0 * n)..<(($0 + 1) * n)]) },
                                  gumbels: (0..<g.shape[0]).map { Array(g.values[($0 * n)..<(($0 + 1) * n)]) })
        var committed = [Float](repeating: 0, count: n * k)
        var reports = [Int](repeating: 0, count: n)
        let sampled = MaskGITSampler(iterations: 6, guidance: 3, temperature: 1.5)
            .run(model, tokens: tokens, known: masked.map { !$0 }, condition: cond, noise: &noise, patches: patches,
                 onCommit: { j, p in
                     reports[j] += 1
                     for c in 0..<k { committed[j * k + c] = p[c] }
                 })
        // The report does not change what is sampled.
        XCTAssertEqual(sampled, try Fixtures.npy("transformer/hybrid_sampled_cond.npy").values.map { Int32($0) })
        // Every masked position is reported once, no known one.
        XCTAssertEqual(reports, masked.map { $0 ? 1 : 0 })
        let ref = try Fixtures.npy("decoding/hybrid_committed.npy")
        XCTAssertEqual(ref.shape, [n, k])
        let err = relativeL2(committed, ref.values)
        print("committed distributions: relative L2 \(err)")
        XCTAssertLessThan(err, 1e-4)
        for j in 0..<n where masked[j] {
            XCTAssertEqual(committed[(j * k)..<((j + 1) * k)].reduce(0, +), 1, accuracy: 1e-4)
        }
    }

    func testExpectedCodeDecodeMatchesTheReference() throws {
        let tok = try SpectrogramTokenizer(path: Fixtures.root.appendingPathComponent("tokenizer/tiny.safetensors").path)
        let codes = try Fixtures.npy("tokenizer/tiny.noise.tokens.npy")
        let (rows, cols) = (codes.shape[0], codes.shape[1])
        let grid = TokenGrid(rows: rows, columns: cols, ids: codes.values.map { Int32($0) })
        let probs = try Fixtures.npy("decoding/tiny_expected_probs.npy")
        let k = probs.shape[2]
        var expected: [Int: [Float]] = [:]
        for p in 0..<(rows * cols) {
            let row = Array(probs.values[(p * k)..<((p + 1) * k)])
            if row.contains(where: { $0 > 0 }) { expected[p] = row }
        }
        XCTAssertGreaterThan(expected.count, 10)
        let decoded = tok.decode(grid, expected: expected)
        let ref = try Fixtures.npy("decoding/tiny_expected_decoded.npy")
        let err = relativeL2(decoded.values, ref.values)
        print("expected-code decode: relative L2 \(err)")
        XCTAssertLessThan(err, 1e-3)
        // It is not the plain decode: the distributions are really read.
        XCTAssertGreaterThan(relativeL2(tok.decode(grid).values, ref.values), 1e-2)
    }

    func testAOneHotDistributionDecodesAsItsToken() throws {
        let tok = try SpectrogramTokenizer(path: Fixtures.root.appendingPathComponent("tokenizer/tiny.safetensors").path)
        let codes = try Fixtures.npy("tokenizer/tiny.noise.tokens.npy")
        let grid = TokenGrid(rows: codes.shape[0], columns: codes.shape[1], ids: codes.values.map { Int32($0) })
        let k = tok.config.codebook_size
        var expected: [Int: [Float]] = [:]
        for p in stride(from: 0, to: grid.ids.count, by: 3) {
            var one = [Float](repeating: 0, count: k)
            one[Int(grid.ids[p])] = 1
            expected[p] = one
        }
        XCTAssertLessThan(relativeL2(tok.decode(grid, expected: expected).values, tok.decode(grid).values), 1e-6)
    }
}
