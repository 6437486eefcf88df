import Foundation
import XCTest
@testable import RestoreCore

/// Prior-initialised decoding and the level guard (the bandwidth-extension guides).
final class BandGuideTests: XCTestCase {
    func randomModel() throws -> MaskedTransformer {
        let cfg = TransformerConfig(codebook_size: 64, rows: 5, columns: 6, width: 16, depth: 2, heads: 2, ffn: 32)
        var s: UInt64 = 11
        return try MaskedTransformer(config: cfg) { _, shape in s &+= 1; return Tensor.random(shape, seed: s, scale: 0.3) }
    }

    func testInitialMaskRatioBetweenPriorAndPlainMaskGIT() throws {
        let model = try randomModel()
        let n = model.config.positions
        let tokens = (0..<n).map { Int32($0 % 64) }
        let known = (0..<n).map { $0 % 5 < 3 }               // the top two rows of every column unknown
        let prior = (0..<n).map { Int32(63 - $0 % 64) }
        let unknown = known.filter { !$0 }.count
        func run(_ r0: Float, prior p: [Int32]?) -> ([Int32], [Int]) {
            var noise = SeededNoise(seed: 5)
            var counts: [Int] = []
            let out = MaskGITSampler(iterations: 4).run(model, tokens: tokens, known: known, condition: nil, noise: &noise,
                                                        prior: p, initialMaskRatio: r0) { counts.append($1) }
            return (out, counts)
        }
        // r0 = 0: the prior as it is; known tokens untouched.
        let (kept, _) = run(0, prior: prior)
        for j in 0..<n { XCTAssertEqual(kept[j], known[j] ? tokens[j] : prior[j]) }
        // r0 = 1: plain MaskGIT, whatever the prior.
        XCTAssertEqual(run(1, prior: prior).0, run(1, prior: nil).0)
        // r0 = 0.5: exactly half of the unknown tokens are decoded again; the rest keep the prior.
        let (half, counts) = run(0.5, prior: prior)
        let fromPrior = (0..<n).filter { !known[$0] && half[$0] == prior[$0] }.count
        XCTAssertGreaterThanOrEqual(fromPrior, unknown - unknown / 2)
        XCTAssertEqual(counts.last, 0)
        for j in 0..<n where known[j] { XCTAssertEqual(half[j], tokens[j]) }
    }

    /// Cells further than the tolerance from the expected level are moved to its edge;
    /// cells inside it and bins outside the generated part are untouched.
    /// Gap filling's expected levels: each row's level in the known columns, interpolated
    /// linearly across the generated ones; one side where only one exists; padding ignored.
    func testNeighbourLevelsInterpolateAcrossGeneratedColumns() {
        let rows = 2, cols = 6, fpt = 2, bpr = 2, bins = rows * bpr, frames = cols * fpt
        // Row 0 at −0.2 on the left and 0.4 on the right; row 1 at 0.5 everywhere known.
        var window = [Float](repeating: 0, count: bins * frames)
        for b in 0..<bins { for f in 0..<frames { window[b * frames + f] = b < bpr ? (f < 6 ? -0.2 : 0.4) : 0.5 } }
        // Columns 2 and 3 generated in both rows; column 5 past the audio (frames 10, 11).
        var known = [Bool](repeating: true, count: rows * cols)
        for r in 0..<rows { known[r * cols + 2] = false; known[r * cols + 3] = false }
        let e = LevelGuard.neighbourLevels(window: window, bins: bins, frames: frames, rows: rows, columns: cols, binsPerRow: bpr,
                                           framesPerToken: fpt, known: known, audio: 0..<10)
        // Row 0: column 1 at −0.2, column 4 at 0.4 → columns 2 and 3 at 0.0 and 0.2.
        XCTAssertEqual(e[0 * frames + 4], 0.0, accuracy: 1e-6)
        XCTAssertEqual(e[1 * frames + 7], 0.2, accuracy: 1e-6)
        XCTAssertEqual(e[3 * frames + 5], 0.5, accuracy: 1e-6)
        // Known cells are not expectations.
        XCTAssertEqual(e[0 * frames + 0], -1)
        // Only a left neighbour: its level.
        var leftOnly = known
        for r in 0..<rows { leftOnly[r * cols + 4] = false; leftOnly[r * cols + 5] = false }
        let l = LevelGuard.neighbourLevels(window: window, bins: bins, frames: frames, rows: rows, columns: cols, binsPerRow: bpr,
                                           framesPerToken: fpt, known: leftOnly, audio: 0..<12)
        XCTAssertEqual(l[0 * frames + 9], -0.2, accuracy: 1e-6)
    }

    func testLevelGuardClampsCellMeansToTheTolerance() {
        let bins = 32, frames = 8
        var generated = [Float](repeating: -0.5, count: bins * frames)     // −55 dB
        let expected = [Float](repeating: 0, count: bins * frames)        // −30 dB
        for f in 4..<8 { for b in 16..<32 { generated[b * frames + f] = 0.05 } }  // row 1, 2nd cell: +2.5 dB, inside
        let report = LevelGuard.apply(generated: &generated, expected: expected, bins: bins, frames: frames, rows: [1],
                                      binsPerRow: 16, framesPerCell: 4, toleranceDB: 6, weight: { b, _ in b >= 20 ? 1 : 0 })
        XCTAssertEqual(report.cells, 2)
        XCTAssertEqual(report.corrected, 1)
        XCTAssertEqual(report.signedDB, 19, accuracy: 1e-3)                // −25 dB → −6 dB
        XCTAssertEqual(generated[20 * frames + 0], -0.12, accuracy: 1e-6)  // moved to −6 dB under the expected level
        XCTAssertEqual(generated[16 * frames + 0], -0.5)                    // weight 0: not part of the generated band
        XCTAssertEqual(generated[20 * frames + 5], 0.05)                    // inside the tolerance
        XCTAssertEqual(generated[2 * frames + 0], -0.5)                     // row 0 not guarded
    }

    /// The tolerance is in dB of the front end's normalisation: a tokenizer with a −100 dB floor
    /// spreads 120 dB over [−1, 1], so the same −25 dB cell is 0.4167 units low, not 0.5.
    func testLevelGuardMeasuresDecibelsWithTheFrontEndsFloor() {
        let bins = 16, frames = 4, deep = MelConfig(dbMin: -100)
        XCTAssertEqual(LevelGuard.dBPerUnit(.standard), 50)
        XCTAssertEqual(LevelGuard.dBPerUnit(deep), 60)
        var generated = [Float](repeating: -25.0 / 60, count: bins * frames)
        let report = LevelGuard.apply(generated: &generated, expected: [Float](repeating: 0, count: bins * frames), bins: bins,
                                      frames: frames, rows: [0], binsPerRow: 16, framesPerCell: 4, toleranceDB: 6, mel: deep,
                                      weight: { _, _ in 1 })
        XCTAssertEqual(report.signedDB, 19, accuracy: 1e-3)
        XCTAssertEqual(generated[0], -0.1, accuracy: 1e-6)                  // −6 dB at 60 dB per unit
    }
}
