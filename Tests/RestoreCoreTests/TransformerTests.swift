import Foundation
import XCTest
@testable import RestoreCore

/// The Swift transformer and sampler against PyTorch (training/make_transformer_fixtures.py),
/// and the sampler's own contract (engine.md §2).
final class TransformerTests: XCTestCase {
    func tiny() throws -> MaskedTransformer {
        try MaskedTransformer(path: Fixtures.root.appendingPathComponent("transformer/tiny.safetensors").path)
    }

    func fixture() throws -> (tokens: [Int32], masked: [Bool], cond: [Float]) {
        (try Fixtures.npy("transformer/tokens.npy").values.map { Int32($0) },
         try Fixtures.npy("transformer/masked.npy").values.map { $0 != 0 },
         try Fixtures.npy("transformer/cond.npy").values)
    }

    func testLogitsMatchPyTorchWithin1e3() throws {
        let model = try tiny()
        let (tokens, masked, cond) = try fixture()
        let ref = try Fixtures.npy("transformer/logits.npy")
        let out = model(tokens: [tokens, tokens], masked: [masked, masked], conditions: [cond, nil]).logits
        XCTAssertEqual(out.shape, ref.shape)
        let err = relativeL2(out.data, ref.values)
        print("transformer parity: logits relative L2 \(err)")
        XCTAssertLessThan(err, 1e-3)
    }

    func testSamplerWithReplayedNoiseGivesPyTorchsTokens() throws {
        let model = try tiny()
        let (tokens, masked, cond) = try fixture()
        let u = try Fixtures.npy("transformer/uniform.npy"), g = try Fixtures.npy("transformer/gumbel.npy")
        let n = tokens.count
        let rows = (0..<u.shape[0]).map { Array(u.values[($0 * n)..<(($0 + 1) * n)]) }
        let grows = (0..<g.shape[0]).map { Array(g.values[($0 * n)..<(($0 + 1) * n)]) }
        for (name, c) in [("cond", Optional(cond)), ("uncond", nil)] {
            var noise = ReplayedNoise(uniforms: rows, gumbels: grows)
            let out = MaskGITSampler(iterations: 6, guidance: 3, temperature: 1.5)
                .run(model, tokens: tokens, known: masked.map { !$0 }, condition: c, noise: &noise)
            let ref = try Fixtures.npy("transformer/sampled_\(name).npy").values.map { Int32($0) }
            XCTAssertEqual(out, ref, name)
        }
    }

    // MARK: hybrid conditioning (true mel patches at known positions)

    func testHybridLogitsAndSamplerMatchPyTorch() throws {
        let model = try MaskedTransformer(path: Fixtures.root.appendingPathComponent("transformer/hybrid.safetensors").path)
        XCTAssertEqual(model.config.patchValues, 8)
        let (tokens, masked, cond) = try fixture()
        let patches = try Fixtures.npy("transformer/hybrid_patches.npy").values
        let ref = try Fixtures.npy("transformer/hybrid_logits.npy")
        let out = model(tokens: [tokens, tokens], masked: [masked, masked], conditions: [cond, nil], patches: [patches, patches]).logits
        let err = relativeL2(out.data, ref.values)
        print("hybrid transformer parity: logits relative L2 \(err)")
        XCTAssertLessThan(err, 1e-3)
        // Without patches the logits differ: the projection is really used.
        let plain = model(tokens: [tokens, tokens], masked: [masked, masked], conditions: [cond, nil]).logits
        XCTAssertGreaterThan(relativeL2(plain.data, ref.values), 1e-2)

        let u = try Fixtures.npy("transformer/uniform.npy"), g = try Fixtures.npy("transformer/gumbel.npy")
        let n = tokens.count
        var noise = ReplayedNoise(uniforms: (0..<u.shape[0]).map { Array(u.values[($0 * n)..<(($0 + 1) * n)]) },
                                  gumbels: (0..<g.shape[0]).map { Array(g.values[($0 * n)..<(($0 + 1) * n)]) })
        let sampled = MaskGITSampler(iterations: 6, guidance: 3, temperature: 1.5)
            .run(model, tokens: tokens, known: masked.map { !$0 }, condition: cond, noise: &noise, patches: patches)
        XCTAssertEqual(sampled, try Fixtures.npy("transformer/hybrid_sampled_cond.npy").values.map { Int32($0) })
    }

    func testPatchesAreTokenCellsInSequenceOrder() {
        // 4 bins × 4 frames, 2 rows × 2 columns: cells of 2 bins × 2 frames, column-major, bin-major inside.
        let mel = MelSpectrogram(melCount: 4, frames: 4, values: (0..<16).map(Float.init))
        XCTAssertEqual(Engine.patches(mel, rows: 2, columns: 2),
                       [0, 1, 4, 5,  8, 9, 12, 13,  2, 3, 6, 7,  10, 11, 14, 15])
    }

    // MARK: sampler contract

    func randomModel(rows: Int = 5, columns: Int = 6, width: Int = 16, depth: Int = 2, heads: Int = 2, k: Int = 64, seed: UInt64 = 1) throws -> MaskedTransformer {
        let cfg = TransformerConfig(codebook_size: k, rows: rows, columns: columns, width: width, depth: depth, heads: heads, ffn: 2 * width)
        var s = seed
        return try MaskedTransformer(config: cfg) { _, shape in
            s &+= 1
            return Tensor.random(shape, seed: s, scale: 0.3)
        }
    }

    func testMaskedCountFollowsTheCosineSchedule() throws {
        let model = try randomModel()
        let n = model.config.positions
        for iterations in [1, 2, 5, 16] {
            var noise = SeededNoise(seed: 3)
            var counts: [Int] = []
            _ = MaskGITSampler(iterations: iterations).run(model, tokens: [Int32](repeating: 0, count: n), known: [Bool](repeating: false, count: n),
                                                          condition: nil, noise: &noise) { _, m in counts.append(m) }
            let expected = (0..<iterations).map { i in
                i == iterations - 1 ? 0 : Int((Double(n) * cos(Double.pi / 2 * Double(i + 1) / Double(iterations))).rounded(.down))
            }
            // Clamped to [0, unknown − 1]: never more than were unknown before the step.
            var unknown = n
            let clamped = expected.map { m -> Int in let v = max(0, min(m, unknown - 1)); unknown = v; return v }
            XCTAssertEqual(counts, clamped, "\(iterations) iterations")
        }
    }

    func testKnownTokensNeverChange() throws {
        let model = try randomModel()
        var grid = TokenGrid(rows: 5, columns: 6, ids: (0..<30).map { Int32($0 % 64) })
        let known = (0..<30).map { $0 % 3 != 0 }
        for c in 0..<6 { grid[2, c] = 63 }
        let out = Engine(transformer: model).complete(grid: grid, known: known, condition: [Float](repeating: 0.1, count: 384), seed: 9)
        for i in 0..<30 where known[i] { XCTAssertEqual(out.ids[i], grid.ids[i]) }
    }

    func testSameSeedSameOutputDifferentSeedsDiffer() throws {
        let engine = Engine(transformer: try randomModel())
        let grid = TokenGrid(rows: 5, columns: 6, ids: [Int32](repeating: 0, count: 30))
        let none = [Bool](repeating: false, count: 30)
        let a = engine.complete(grid: grid, known: none, condition: nil, seed: 42)
        let b = engine.complete(grid: grid, known: none, condition: nil, seed: 42)
        let c = engine.complete(grid: grid, known: none, condition: nil, seed: 43)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testIterationCountsFrom1To32() throws {
        let engine = Engine(transformer: try randomModel())
        let grid = TokenGrid(rows: 5, columns: 6, ids: [Int32](repeating: 0, count: 30))
        for n in 1...32 {
            let out = engine.complete(grid: grid, known: [Bool](repeating: false, count: 30), condition: [Float](repeating: 0, count: 384),
                                      iterations: n, seed: UInt64(n))
            XCTAssertTrue(out.ids.allSatisfy { $0 >= 0 && $0 < 64 }, "\(n) iterations")
        }
    }

    /// The paper's size (24 blocks × 768, 8 heads, FFN 3072, 265 tokens) runs one decoding step.
    func testPaperSizeRunsOneDecodingStep() throws {
        let cfg = TransformerConfig(codebook_size: 1024, rows: 5, columns: 53, width: 768, depth: 24, heads: 8, ffn: 3072)
        var s: UInt64 = 0
        let model = try MaskedTransformer(config: cfg) { _, shape in
            s &+= 1
            return Tensor.uniformRandom(shape, seed: s, scale: 0.02)
        }
        let engine = Engine(transformer: model)
        let grid = TokenGrid(rows: 5, columns: 53, ids: [Int32](repeating: 0, count: 265))
        var known = [Bool](repeating: true, count: 265)
        for c in 20..<30 { for r in 0..<5 { known[r * 53 + c] = false } }
        let out = engine.complete(grid: grid, known: known, condition: [Float](repeating: 0.05, count: 384), iterations: 1, seed: 1)
        for i in 0..<265 where known[i] { XCTAssertEqual(out.ids[i], 0) }
        XCTAssertEqual(out.ids.count, 265)
    }
}
