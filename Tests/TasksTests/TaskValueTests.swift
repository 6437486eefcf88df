import Foundation
import XCTest
import RestoreCore
@testable import Tasks

final class TaskValueTests: XCTestCase {
    func testTimesParseInEveryWrittenForm() {
        XCTAssertEqual(TimeValue(parsing: "1.2s")?.seconds, 1.2)
        XCTAssertEqual(TimeValue(parsing: "1.2")?.seconds, 1.2)
        XCTAssertEqual(TimeValue(parsing: "350ms")?.seconds ?? 0, 0.35, accuracy: 1e-12)
        XCTAssertEqual(TimeValue(parsing: "1:02.5")?.seconds, 62.5)
        XCTAssertNil(TimeValue(parsing: "soon"))
        // `typed` (the defaults --help shows) reads back to the same time.
        for (t, text) in [(0.02, "20ms"), (0.35, "350ms"), (0.5, "500ms"), (5, "5s"), (1.25, "1.25s"), (0.0005, "0.0005s"), (90, "90s")] {
            XCTAssertEqual(TimeValue(seconds: t).typed, text)
            XCTAssertEqual(TimeValue(parsing: text)!.seconds, t, accuracy: 1e-12)
        }
        XCTAssertNil(TimeValue(parsing: "1:75"))
        XCTAssertEqual(try TimeSpan.parseList("1.2-1.6,3s-3.1s"), [TimeSpan(start: 1.2, end: 1.6), TimeSpan(start: 3, end: 3.1)])
        XCTAssertThrowsError(try TimeSpan.parseList("1.6-1.2")) { XCTAssertEqual("\($0)", "gap '1.6-1.2': the end must come after the start, both ≥ 0") }
        XCTAssertThrowsError(try TimeSpan.parseList("1.2")) { XCTAssertEqual("\($0)", "gap '1.2' is not START-END (e.g. 1.2-1.6 or 1.2s-1.6s)") }
    }

    func testCutoffParses() {
        XCTAssertEqual(Cutoff(parsing: "auto"), .auto)
        XCTAssertEqual(Cutoff(parsing: "4000"), .hertz(4000))
        XCTAssertEqual(Cutoff(parsing: "3.4kHz"), .hertz(3400))
        XCTAssertNil(Cutoff(parsing: "high"))
    }

    func testDropoutsAreInteriorSilentRunsOfTheMinimumLength() {
        var x = [Float](repeating: 0.3, count: 10000)
        for i in 0..<500 { x[i] = 0 }          // leading silence: not a dropout
        for i in 2000..<2300 { x[i] = 0 }      // 30 ms at 10 kHz: a dropout
        for i in 5000..<5100 { x[i] = 0 }      // 10 ms: too short
        for i in 9500..<10000 { x[i] = 0 }     // trailing: not a dropout
        let b = AudioBuffer(sampleRate: 10000, channels: [x, x])
        XCTAssertEqual(DropoutDetector.find(b, minimum: 0.020), [TimeSpan(start: 0.2, end: 0.23)])
        // `fill-gap --at` looks up the silent run at a time the way `FillGapPlan` does.
        var scan = DropoutScan(minimumFrames: 1, sampleRate: b.sampleRate)
        scan.add(b)
        scan.finish()
        XCTAssertEqual(scan.run(containing: 0.2, rate: b.sampleRate), TimeSpan(start: 0.2, end: 0.23))
        XCTAssertNil(scan.run(containing: 0.4, rate: b.sampleRate))
        // Silent in one channel only: not a dropout.
        var y = x
        for i in 2000..<2300 { y[i] = 0.3 }
        XCTAssertEqual(DropoutDetector.find(AudioBuffer(sampleRate: 10000, channels: [x, y]), minimum: 0.020), [])
    }

    func testOptionValidationNamesTheProblem() {
        XCTAssertThrowsError(try FillGap(options: .init())) {
            XCTAssertEqual("\($0)", "fill-gap: say where the gaps are: --at TIME [--length TIME], --gaps START-END,… or --detect")
        }
        var g = Generate.Options()
        g.prompt = "  "
        XCTAssertThrowsError(try Generate(options: g)) { XCTAssertEqual("\($0)", "generate: --prompt is empty; leave it out for unconditional generation") }
        var b = BandwidthExtension.Options()
        b.cutoff = .hertz(50)
        XCTAssertThrowsError(try BandwidthExtension(options: b)) { XCTAssertEqual("\($0)", "bwe: cutoff 50 Hz is outside 100…24000 Hz") }
    }

    func testRegistryKnowsEveryTaskOnce() {
        XCTAssertEqual(TaskRegistry.names, ["bwe", "fill-gap", "generate", "embed", "repair"])
        XCTAssertEqual(Set(TaskRegistry.names).count, TaskRegistry.all.count)
    }

    func testMidSideRoundTrips() {
        let l: [Float] = [0.5, -0.25, 1], r: [Float] = [0.1, 0.2, -0.3]
        let back = ChannelMode.midSide.merge(ChannelMode.midSide.split([l, r]))
        for i in 0..<3 {
            XCTAssertEqual(back[0][i], l[i], accuracy: 1e-6)
            XCTAssertEqual(back[1][i], r[i], accuracy: 1e-6)
        }
    }
}
