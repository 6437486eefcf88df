import Foundation
import XCTest
@testable import RestoreCore

/// Spectral band replication against the PyTorch-side reference (training/restore_train/sbr.py,
/// fixtures from training/make_sbr_fixtures.py).
final class BandReplicationTests: XCTestCase {
    func testMatchesTheReferenceImplementation() throws {
        for rate in [22050, 16000] {
            let x = try Fixtures.npy("sbr/input\(rate).npy").values
            let ref = try Fixtures.npy("sbr/output\(rate).npy").values
            let y = BandReplication.extend(x, rate: Double(rate), cutoff: 4000)
            XCTAssertEqual(y.count, ref.count)
            let rel = Self.relativeError(y, ref)
            print("sbr parity \(rate) Hz: relative L2 error \(rel)")
            XCTAssertLessThan(rel, 1e-4, "\(rate) Hz")
        }
    }

    /// The engine's band estimate: half a slope per frame over 4 frames, half the file's
    /// (`sbr.ENGINE_SLOPE` in the reference). Its output differs from the per-file slope's,
    /// so the parity is not the baseline's passing twice.
    func testEngineSlopeMatchesTheReferenceImplementation() throws {
        for rate in [22050, 16000] {
            let x = try Fixtures.npy("sbr/input\(rate).npy").values
            let ref = try Fixtures.npy("sbr/output\(rate)-engine.npy").values
            let y = BandReplication.extend(x, rate: Double(rate), cutoff: 4000, slope: .engine)
            XCTAssertEqual(y.count, ref.count)
            let rel = Self.relativeError(y, ref)
            print("sbr engine-slope parity \(rate) Hz: relative L2 error \(rel)")
            XCTAssertLessThan(rel, 1e-4, "\(rate) Hz")
            let perFile = try Fixtures.npy("sbr/output\(rate).npy").values
            XCTAssertGreaterThan(Self.relativeError(perFile, ref), 1e-3, "\(rate) Hz: the fixtures do not tell the slopes apart")
        }
    }

    static func relativeError(_ y: [Float], _ ref: [Float]) -> Double {
        var err = 0.0, norm = 0.0
        for (a, b) in zip(y, ref) { err += Double((a - b) * (a - b)); norm += Double(b * b) }
        return (err / norm).squareRoot()
    }

    /// Below the cutoff the input is untouched; above it a band appears at a sensible level.
    func testKeepsTheLowBandAndFillsTheHighBand() throws {
        let rate = 22050.0
        let x = try Fixtures.npy("sbr/input22050.npy").values
        let y = BandReplication.extend(x, rate: rate, cutoff: 4000)
        let stft = STFT(nFFT: 2048, hop: 512)
        let mx = stft.magnitude(x), my = stft.magnitude(y)
        let bins = stft.bins
        func bandDB(_ m: [Float], _ lo: Double, _ hi: Double) -> Double {
            let a = Int(lo / rate * 2048), b = Int(hi / rate * 2048)
            var s = 0.0
            for t in 0..<(m.count / bins) { for k in a..<b { s += Double(m[t * bins + k] * m[t * bins + k]) } }
            return 10 * log10(s + 1e-30)
        }
        XCTAssertEqual(bandDB(my, 200, 3500), bandDB(mx, 200, 3500), accuracy: 0.05)
        XCTAssertGreaterThan(bandDB(my, 4500, 8000) - bandDB(mx, 4500, 8000), 30)
        // The copy continues the (falling) slope: per hertz, the octave above sits below its
        // source octave (the octave above is twice as wide: −3 dB).
        XCTAssertLessThan(bandDB(my, 4000, 7800) - 10 * log10(2.0), bandDB(my, 2000, 3900))
    }

    func testDegenerateInputsGiveNoBand() {
        XCTAssertEqual(BandReplication.highBand([], rate: 22050, cutoff: 4000), [])
        XCTAssertEqual(BandReplication.highBand([0.5], rate: 22050, cutoff: 4000), [0])
        XCTAssertEqual(BandReplication.highBand([Float](repeating: 0, count: 1000), rate: 22050, cutoff: 50), [Float](repeating: 0, count: 1000))
        XCTAssertEqual(BandReplication.highBand([Float](repeating: 0, count: 1000), rate: 22050, cutoff: 4000, slope: .engine), [Float](repeating: 0, count: 1000))
    }
}
