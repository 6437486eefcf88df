import Foundation
import XCTest
@testable import RestoreCore

/// The one-sided fill floor of gap filling.
final class FillFloorTests: XCTestCase {
    /// 2 rows × 6 columns of 2 bins × 2 frames; columns 2 and 3 generated.
    let rows = 2, cols = 6, fpt = 2, bpr = 2
    var bins: Int { rows * bpr }
    var frames: Int { cols * fpt }
    var known: [Bool] {
        var k = [Bool](repeating: true, count: rows * cols)
        for r in 0..<rows { k[r * cols + 2] = false; k[r * cols + 3] = false }
        return k
    }

    func testTheReferenceIsTheLouderSideAsAPowerMean() {
        // Row 0: left −0.5 (−55 dB at 50 dB per unit), right: one frame of each of its columns
        // at 0 (−30 dB) and one at −1 (−80 dB). Row 1: left only (right past the audio).
        var window = [Float](repeating: -1, count: bins * frames)
        for b in 0..<bpr { for f in 0..<4 { window[b * frames + f] = -0.5 } }
        for b in 0..<bpr { for f in stride(from: 8, to: 12, by: 2) { window[b * frames + f] = 0 } }
        for b in bpr..<bins { for f in 0..<4 { window[b * frames + f] = 0.2 } }
        let levels = FillFloor.louderNeighbourLevels(window: window, bins: bins, frames: frames, rows: rows, columns: cols, binsPerRow: bpr,
                                                     framesPerToken: fpt, known: known, audio: 0..<12, mel: .standard)
        // The right side's power mean: 10·log10((10^−3 + 10^−8) / 2) ≈ −33.01 dB, not its log mean (−55 dB).
        let right = Float(10 * log10((pow(10, -3.0) + pow(10, -8.0)) / 2) + 30) / 50
        XCTAssertEqual(levels[0 * cols + 2]!, right, accuracy: 1e-5)
        XCTAssertEqual(levels[0 * cols + 3]!, right, accuracy: 1e-5)
        XCTAssertEqual(levels[1 * cols + 2]!, 0.2, accuracy: 1e-5)
        XCTAssertNil(levels[0 * cols + 0], "known cells have no floor")
        // Row 1's right columns are silent (−1): the left side is the louder.
        XCTAssertEqual(levels[1 * cols + 3]!, 0.2, accuracy: 1e-5)
        // With the right side outside the audio, row 0 takes the left side.
        let clipped = FillFloor.louderNeighbourLevels(window: window, bins: bins, frames: frames, rows: rows, columns: cols, binsPerRow: bpr,
                                                      framesPerToken: fpt, known: known, audio: 0..<8, mel: .standard)
        XCTAssertEqual(clipped[0 * cols + 2]!, -0.5, accuracy: 1e-5)
    }

    func testQuietCellsAreRaisedAndNothingIsLowered() {
        var louder = [Float?](repeating: nil, count: rows * cols)
        for r in 0..<rows { louder[r * cols + 2] = 0; louder[r * cols + 3] = 0 }   // −30 dB beside
        var generated = [Float](repeating: 0.5, count: bins * frames)               // loud everywhere…
        for b in 0..<bpr { for f in 4..<6 { generated[b * frames + f] = -0.8 } }    // …but row 0, column 2 at −70 dB
        let report = FillFloor.apply(generated: &generated, louder: louder, floorDB: 16, bins: bins, frames: frames, rows: rows, columns: cols,
                                     binsPerRow: bpr, framesPerToken: fpt, mel: .standard, weight: { _, _ in 1 })
        XCTAssertEqual(report.cells, 4)
        XCTAssertEqual(report.corrected, 1)
        XCTAssertEqual(report.signedDB, 24, accuracy: 1e-3)                // −70 dB → −46 dB
        XCTAssertEqual(generated[0 * frames + 4], -0.32, accuracy: 1e-6)
        XCTAssertEqual(generated[bpr * frames + 4], 0.5, "a fill louder than its sides is not lowered")
        XCTAssertEqual(generated[0 * frames + 0], 0.5, "known columns are not touched")
    }

    func testOnlyTheGeneratedPartIsMeasuredAndMoved() {
        var louder = [Float?](repeating: nil, count: rows * cols)
        louder[0 * cols + 2] = 0
        var generated = [Float](repeating: -0.8, count: bins * frames)
        generated[1 * frames + 4] = 0.9                                      // bin 1 is not generated (weight 0)
        let report = FillFloor.apply(generated: &generated, louder: louder, floorDB: 10, bins: bins, frames: frames, rows: rows, columns: cols,
                                     binsPerRow: bpr, framesPerToken: fpt, mel: .standard, weight: { b, _ in b == 0 ? 1 : 0 })
        XCTAssertEqual(report.corrected, 1)
        XCTAssertEqual(generated[0 * frames + 4], -0.2, accuracy: 1e-6)     // −70 → −40 dB
        XCTAssertEqual(generated[1 * frames + 4], 0.9)
        XCTAssertEqual(generated[0 * frames + 6], -0.8, "no louder level for column 3: no floor")
    }

    /// Long runs of generated columns get no floor: at 22 050 Hz, hop 256 and 16 frames a
    /// column, a 0.5 s gap masks up to 4 columns, 1 s up to 7 and 1.5 s up to 10.
    func testOnlyShortRunsGetAFloor() {
        XCTAssertEqual(FillFloor.longestRun(seconds: 0.5, sampleRate: 22050, hop: 256, nFFT: 1024, framesPerToken: 16), 4)
        XCTAssertEqual(FillFloor.longestRun(seconds: 1.0, sampleRate: 22050, hop: 256, nFFT: 1024, framesPerToken: 16), 7)
        XCTAssertEqual(FillFloor.longestRun(seconds: 1.5, sampleRate: 22050, hop: 256, nFFT: 1024, framesPerToken: 16), 10)
        let window = [Float](repeating: 0, count: bins * frames)
        let two = FillFloor.louderNeighbourLevels(window: window, bins: bins, frames: frames, rows: rows, columns: cols, binsPerRow: bpr,
                                                  framesPerToken: fpt, known: known, audio: 0..<12, mel: .standard, longestRun: 2)
        XCTAssertEqual(two.compactMap { $0 }.count, 4, "a run of 2 columns in both rows")
        let one = FillFloor.louderNeighbourLevels(window: window, bins: bins, frames: frames, rows: rows, columns: cols, binsPerRow: bpr,
                                                  framesPerToken: fpt, known: known, audio: 0..<12, mel: .standard, longestRun: 1)
        XCTAssertTrue(one.allSatisfy { $0 == nil })
    }
}
