import Foundation
import XCTest
import RestoreCore
@testable import Tasks

/// Dropouts are abrupt: digital silence entered and left from a signal well above the noise
/// floor. Pauses (a decay into silence, a noise gate closing) are not dropouts.
final class DropoutDetectionTests: XCTestCase {
    static let rate = 22050.0

    /// Syllable-like bursts of harmonic sound (150–400 ms, 40 ms attack, 15 ms exponential
    /// decay) 200–600 ms apart, over a noise floor (none when `floor` is 0).
    static func phrases(seconds: Double, floor: Float = 0.0003, seed: UInt64 = 3) -> [Float] {
        var rng = SplitMix64(seed: seed)
        let n = Int(seconds * rate)
        var x = (0..<n).map { _ in floor * Float(rng.gaussian()) }
        var t = 0.1
        while t < seconds - 0.5 {
            let len = 0.15 + 0.25 * rng.uniform(), f0 = 120 + 100 * rng.uniform()
            let a = Int(t * rate), b = min(n, Int((t + len + 0.3) * rate))
            for i in a..<b {
                let u = Double(i - a) / rate
                let env = min(1, u / 0.04) * (u < len ? 1 : exp(-(u - len) / 0.015))
                var v = 0.0
                for k in 1...12 { v += sin(2 * .pi * f0 * Double(k) * u) / Double(k) }
                x[i] += Float(0.25 * env * v)
            }
            t += len + 0.2 + 0.4 * rng.uniform()
        }
        return x
    }

    /// A noise gate: digital silence wherever the 5 ms peak stays under `threshold` for 20 ms.
    static func gate(_ x: [Float], threshold: Float) -> [Float] {
        let block = Int(0.005 * rate)
        var y = x, below = 0
        var i = 0
        while i < x.count {
            let e = min(x.count, i + block)
            let peak = x[i..<e].map(abs).max() ?? 0
            below = peak < threshold ? below + 1 : 0
            if below > 4 { for j in i..<e { y[j] = 0 } }
            i = e
        }
        return y
    }

    func testAbruptDropoutsInALoudSignalAreFound() {
        let x = RestorationFixtures.loud(seconds: 6, rate: Self.rate)
        var y = x
        let spans = [(1.0, 1.02), (2.5, 2.6), (4.0, 4.3)]
        for (s, e) in spans { for i in Int(s * Self.rate)..<Int(e * Self.rate) { y[i] = 0 } }
        let found = DropoutDetector.find(AudioBuffer(sampleRate: Self.rate, channels: [y, y]))
        XCTAssertEqual(found.count, 3, "\(found)")
        for ((s, e), g) in zip(spans, found) {
            XCTAssertEqual(g.start, s, accuracy: 0.001)
            XCTAssertEqual(g.end, e, accuracy: 0.001)
        }
        // Longer than --max-dropout: a pause, whatever its edges.
        var long = x
        for i in Int(2 * Self.rate)..<Int(2.8 * Self.rate) { long[i] = 0 }
        XCTAssertEqual(DropoutDetector.find(AudioBuffer(sampleRate: Self.rate, mono: long)).count, 0)
        XCTAssertEqual(DropoutDetector.find(AudioBuffer(sampleRate: Self.rate, mono: long), maximum: 1).count, 1)
    }

    func testADecayIntoSilenceIsAPause() {
        // Speech-like phrases with no noise floor: every gap between them is digital silence
        // reached by a decay.
        let x = Self.phrases(seconds: 8, floor: 0)
        let silences = DropoutScan.runsOfSilence(x, rate: Self.rate, minimum: 0.02)
        XCTAssertGreaterThan(silences, 5, "the fixture needs digital-silence pauses")
        XCTAssertEqual(DropoutDetector.find(AudioBuffer(sampleRate: Self.rate, mono: x)), [])
        // A decay edited into 50 ms of silence once it is 60 dB down is a pause too.
        var y = Self.phrases(seconds: 4, floor: 0.00003)
        let quiet = (Int(0.5 * Self.rate)..<y.count).first { i in
            y[(i - 40)...i].allSatisfy { abs($0) < 0.0003 } && abs(y[i - 1500]) > 0.01
        }!
        for i in quiet..<(quiet + Int(0.05 * Self.rate)) { y[i] = 0 }
        XCTAssertEqual(DropoutDetector.find(AudioBuffer(sampleRate: Self.rate, mono: y)), [])
    }

    func testANoiseGateClosingIsAPause() {
        for seed in [3, 4, 5] as [UInt64] {
            let x = Self.phrases(seconds: 8, floor: 0.003, seed: seed)
            for threshold: Float in [0.01, 0.02, 0.04] {
                let y = Self.gate(x, threshold: threshold)
                XCTAssertGreaterThan(DropoutScan.runsOfSilence(y, rate: Self.rate, minimum: 0.02), 3)
                XCTAssertEqual(DropoutDetector.find(AudioBuffer(sampleRate: Self.rate, channels: [y, y])), [],
                               "seed \(seed), threshold \(threshold)")
            }
        }
    }

    /// Streamed in blocks of any size, the scan finds what the whole buffer gives.
    func testStreamedScanMatchesTheWholeBuffer() {
        var x = RestorationFixtures.loud(seconds: 5, rate: Self.rate)
        for i in 30000..<31000 { x[i] = 0 }
        for i in 70000..<73000 { x[i] = 0 }
        let whole = DropoutDetector.find(AudioBuffer(sampleRate: Self.rate, mono: x))
        XCTAssertEqual(whole.count, 2)
        for size in [1000, 4410, 65536] {
            var scan = DropoutScan(minimumFrames: 22, sampleRate: Self.rate)
            var i = 0
            while i < x.count { let e = min(x.count, i + size); scan.add(AudioBuffer(sampleRate: Self.rate, mono: Array(x[i..<e]))); i = e }
            scan.finish()
            XCTAssertEqual(scan.dropouts(rate: Self.rate), whole, "block \(size)")
        }
    }

    func testInfoCountsDropoutsWithTheSameDetector() throws {
        var x = RestorationFixtures.loud(seconds: 4, rate: Self.rate)
        for i in 20000..<21000 { x[i] = 0 }
        let gated = Self.gate(Self.phrases(seconds: 4, floor: 0.003), threshold: 0.02)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dropouts-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (name, signal, count) in [("hit.wav", x, 1), ("gated.wav", gated, 0)] {
            let path = dir + "/" + name
            try AudioWriter.write(AudioBuffer(sampleRate: Self.rate, mono: signal), to: path, options: AudioWriteOptions(encoding: .pcm16))
            let (report, scan) = try AudioReport.measureStream(path: path)
            XCTAssertEqual(report.dropouts, count, name)
            XCTAssertEqual(scan.dropouts(minimum: 0.020, rate: Self.rate).count, count, name)
            XCTAssertTrue(report.text.contains("dropouts:    \(count)"), report.text)
            let condition = try PresetCondition(parsing: "dropouts > 0")
            XCTAssertEqual(condition.holds(report: report, dropouts: { scan.dropouts(rate: Self.rate).count }), count > 0, name)
        }
    }
}

/// Signals shared by the dropout and task tests.
enum RestorationFixtures {
    /// Loud, steady music-like sound: harmonics of 196 Hz with a slow tremolo and a little noise.
    static func loud(seconds: Double, rate: Double) -> [Float] {
        var rng = SplitMix64(seed: 11)
        return (0..<Int(seconds * rate)).map { i in
            let t = Double(i) / rate
            var v = 0.0
            for k in 1...20 { v += sin(2 * .pi * 196 * Double(k) * t + Double(k)) / Double(k) }
            return Float(0.2 * v * (0.8 + 0.2 * sin(2 * .pi * 0.7 * t)) + 0.005 * rng.gaussian())
        }
    }
}

extension DropoutScan {
    /// Interior runs of digital silence of at least `minimum` seconds, whatever their edges.
    static func runsOfSilence(_ x: [Float], rate: Double, minimum: Double) -> Int {
        var scan = DropoutScan(minimumFrames: Int(minimum * rate), sampleRate: rate)
        scan.add(AudioBuffer(sampleRate: rate, mono: x))
        scan.finish()
        return scan.runs.filter { $0.lowerBound > 0 && $0.upperBound < x.count }.count
    }
}
