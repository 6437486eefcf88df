import Foundation
import XCTest
@testable import RestoreCore

/// The fusion of the engine's band with band replication (`BandFusion`).
final class BandFusionTests: XCTestCase {
    let rate = 22050.0

    func noise(_ n: Int, seed: UInt64) -> [Float] {
        var g = SplitMix64(seed: seed)
        return (0..<n).map { _ in Float(g.uniform() * 2 - 1) }
    }

    /// Power of `x` between lo and hi Hz in dB, per frame of a 2048-point STFT.
    func bandDB(_ x: [Float], _ lo: Double, _ hi: Double) -> [Double] {
        let stft = STFT(nFFT: 2048, hop: 512)
        let m = stft.magnitude(x), bins = stft.bins
        let a = Int(lo / rate * 2048), b = Int(hi / rate * 2048)
        var levels: [Double] = []
        for t in 0..<(m.count / bins) {
            var power = 0.0
            for k in a..<b { power += Double(m[t * bins + k] * m[t * bins + k]) }
            levels.append(10 * log10(power + 1e-30))
        }
        return levels
    }

    func testOutsideTheBandThePrimaryIsKept() {
        let a = noise(22050, seed: 1), b = noise(22050, seed: 2).map { $0 * 0.1 }
        let y = BandFusion.fuse(a, with: b, rate: rate, band: 4000...11025)
        let la = bandDB(a, 100, 3500), ly = bandDB(y, 100, 3500)
        for (p, q) in zip(la, ly).dropFirst().dropLast() { XCTAssertEqual(p, q, accuracy: 0.2) }
    }

    func testFusingASignalWithItselfChangesNothing() {
        let a = noise(22050, seed: 3)
        let y = BandFusion.fuse(a, with: a, rate: rate, band: 4000...11025)
        XCTAssertLessThan(relativeL2(y, a), 1e-4)
    }

    /// Two bands 20 dB apart: the fused band lies halfway in dB, frame by frame, with the
    /// default weight, and a quarter of the way from the primary with weight 0.75.
    func testTheBandLevelIsTheGeometricMeanOfTheTwo() {
        let a = noise(44100, seed: 4), b = noise(44100, seed: 5).map { $0 * 0.1 }
        let half = BandFusion.fuse(a, with: b, rate: rate, band: 4000...11025)
        let quarter = BandFusion.fuse(a, with: b, rate: rate, band: 4000...11025, weight: 0.75)
        let la = bandDB(a, 5000, 9000), lb = bandDB(b, 5000, 9000)
        let lh = bandDB(half, 5000, 9000), lq = bandDB(quarter, 5000, 9000)
        for t in 2..<(la.count - 2) {
            XCTAssertEqual(lh[t], (la[t] + lb[t]) / 2, accuracy: 1.0, "frame \(t)")
            XCTAssertEqual(lq[t], 0.75 * la[t] + 0.25 * lb[t], accuracy: 1.0, "frame \(t)")
        }
    }

    func testTooShortOrEmptyBandsReturnThePrimary() {
        let a = noise(500, seed: 6), b = noise(500, seed: 7)
        XCTAssertEqual(BandFusion.fuse(a, with: b, rate: rate, band: 4000...11025), a)
        let c = noise(8000, seed: 8), d = noise(8000, seed: 9)
        XCTAssertEqual(BandFusion.fuse(c, with: d, rate: rate, band: 11000...11000), c)
    }
}

/// `BandLevel`: Parseval-calibrated band levels from the long-term spectrum.
final class BandLevelTests: XCTestCase {
    func testASineReadsItsMeanSquareInItsBandAndNothingOutside() throws {
        let rate = 22050.0, amplitude: Float = 0.5
        let x = TestSignals.sine(frequency: 5000, sampleRate: rate, seconds: 2, amplitude: amplitude)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("band-level-\(UUID().uuidString).wav").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = AudioWriteOptions()
        options.encoding = .float32
        try AudioWriter.write(AudioBuffer(sampleRate: rate, channels: [x, x]), to: path, options: options)
        let levels = try BandLevel.dBFS(path: path, bands: [4000...8000, 1000...2000])
        // A sine of amplitude A has mean square A²/2: 20·log10(0.5) − 3.01 = −9.03 dB.
        XCTAssertEqual(levels[0], -9.03, accuracy: 0.1)
        XCTAssertLessThan(levels[1], -80)
        XCTAssertEqual(BandLevel.level(spectrumDB: [-300, -300], window: [1, 1], rate: 2, band: 0...1), -.infinity)
    }
}
