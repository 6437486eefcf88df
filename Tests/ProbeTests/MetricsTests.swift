import XCTest
@testable import Probe

/// Hand-computed cases (checked against the definitions, ties included).
final class MetricsTests: XCTestCase {
    func testPerfectAndInvertedRanking() {
        XCTAssertEqual(TaggingMetrics.rocAUC(scores: [0.1, 0.2, 0.8, 0.9], labels: [false, false, true, true]), 1)
        XCTAssertEqual(TaggingMetrics.rocAUC(scores: [0.9, 0.8, 0.2, 0.1], labels: [false, false, true, true]), 0)
        XCTAssertEqual(TaggingMetrics.averagePrecision(scores: [0.1, 0.2, 0.8, 0.9], labels: [false, false, true, true]), 1)
    }

    func testAUCWithTies() {
        // Pairs (pos, neg): (0.5,0.5) tie → ½, (0.5,0.1) → 1, (0.9,0.5) → 1, (0.9,0.1) → 1: 3.5 / 4.
        let auc = TaggingMetrics.rocAUC(scores: [0.1, 0.5, 0.5, 0.9], labels: [false, false, true, true])
        XCTAssertEqual(auc!, 0.875, accuracy: 1e-12)
        // All scores equal: every pair is a tie.
        XCTAssertEqual(TaggingMetrics.rocAUC(scores: [1, 1, 1], labels: [true, false, false])!, 0.5, accuracy: 1e-12)
    }

    func testAveragePrecisionByHand() {
        // Ranked: + (P=1, R=.5), − , + (P=2/3, R=1): AP = .5·1 + .5·2/3 = 0.8333…
        let ap = TaggingMetrics.averagePrecision(scores: [0.9, 0.8, 0.7], labels: [true, false, true])
        XCTAssertEqual(ap!, 0.5 + 0.5 * 2.0 / 3, accuracy: 1e-12)
        // A tie between the top positive and a negative enters as one threshold: P = 1/2 at R = 1/2.
        let tied = TaggingMetrics.averagePrecision(scores: [0.9, 0.9, 0.1], labels: [true, false, true])
        XCTAssertEqual(tied!, 0.5 * 0.5 + 0.5 * 2.0 / 3, accuracy: 1e-12)
    }

    func testTagsWithoutPositivesAreSkippedAndReported() {
        let scores: [[Double]] = [[0.9, 0.1, 0.3], [0.2, 0.8, 0.4], [0.7, 0.3, 0.5]]
        let labels: [[Bool]] = [[true, false, false], [false, true, false], [true, false, false]]
        let s = TaggingMetrics.macro(scores: scores, labels: labels)
        XCTAssertEqual(s.skippedTags, [2])
        XCTAssertEqual(s.rocAUC, 1, accuracy: 1e-12)
        XCTAssertEqual(s.meanAveragePrecision, 1, accuracy: 1e-12)
        XCTAssertNil(TaggingMetrics.rocAUC(scores: [1, 2], labels: [true, true]))
    }
}
