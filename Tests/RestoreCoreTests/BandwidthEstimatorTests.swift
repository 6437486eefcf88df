import XCTest
@testable import RestoreCore

final class BandwidthEstimatorTests: XCTestCase {
    /// Noise low-passed at 3, 4, 5.5 and 8 kHz: each estimate within ±5%.
    func testLowPassedNoiseWithinFivePercent() {
        for rate in [44100.0, 22050, 48000] {
            let noise = TestSignals.whiteNoise(sampleRate: rate, seconds: 3, amplitude: 0.2, seed: UInt64(rate))
            for cutoff in [3000.0, 4000, 5500, 8000] where cutoff < rate / 2 * 0.9 {
                let y = FIRFilter.lowPass(cutoff: cutoff, sampleRate: rate).apply(noise)
                let est = BandwidthEstimator.estimate(AudioBuffer(sampleRate: rate, mono: y))
                print("bandwidth estimate: rate \(rate) cutoff \(cutoff) -> \(est.cutoff)")
                XCTAssertFalse(est.isFullBand)
                XCTAssertEqual(est.cutoff, cutoff, accuracy: 0.05 * cutoff, "rate \(rate), cutoff \(cutoff): got \(est.cutoff)")
            }
        }
    }

    /// Fed block by block, with the length known or not (a stream without a frame count),
    /// the long-term spectrum finds the same edge.
    func testStreamedSpectrumFindsTheSameEdge() {
        let rate = 44100.0
        let y = FIRFilter.lowPass(cutoff: 5500, sampleRate: rate).apply(TestSignals.whiteNoise(sampleRate: rate, seconds: 3, amplitude: 0.2, seed: 5))
        let whole = BandwidthEstimator.estimate(AudioBuffer(sampleRate: rate, mono: y))
        for total in [y.count, 0] {
            var acc = LongTermSpectrum(rate: rate, channels: 1, totalFrames: total)
            var i = 0
            while i < y.count { let e = min(y.count, i + 7777); acc.add(AudioBuffer(sampleRate: rate, mono: Array(y[i..<e]))); i = e }
            let est = BandwidthEstimator.estimate(spectrum: acc.finish(), rate: rate)
            XCTAssertEqual(est.cutoff, whole.cutoff, accuracy: total > 0 ? 1e-9 : 0.02 * whole.cutoff, "declared frames \(total)")
        }
        // Once its frames are taken it holds no more audio, length known or not.
        for total in [y.count, 0] {
            var acc = LongTermSpectrum(nFFT: 4096, channels: 1, totalFrames: total, maxFrames: 5)
            for k in 0..<10 { acc.add(AudioBuffer(sampleRate: rate, mono: Array(y[(k * y.count / 10)..<((k + 1) * y.count / 10)]))) }
            XCTAssertEqual(acc.count, 5, "declared frames \(total)")
            XCTAssertEqual(acc.buffer[0].count, 0, "declared frames \(total)")
        }
    }

    func testQuantisedSixteenBitInputStillFindsTheEdge() {
        let noise = TestSignals.whiteNoise(sampleRate: 44100, seconds: 2, amplitude: 0.2, seed: 9)
        let y = FIRFilter.lowPass(cutoff: 4000, sampleRate: 44100).apply(noise).map { ($0 * 32767).rounded() / 32767 }
        let est = BandwidthEstimator.estimate(AudioBuffer(sampleRate: 44100, mono: y))
        XCTAssertEqual(est.cutoff, 4000, accuracy: 200)
    }

    func testFullBandNoiseIsFullBand() {
        let noise = TestSignals.whiteNoise(sampleRate: 16000, seconds: 2, seed: 4)
        let est = BandwidthEstimator.estimate(AudioBuffer(sampleRate: 16000, mono: noise))
        XCTAssertTrue(est.isFullBand)
        XCTAssertEqual(est.cutoff, 8000)
    }

    func testTelephoneRateInput() {
        let noise = TestSignals.whiteNoise(sampleRate: 8000, seconds: 2, seed: 5)
        let y = FIRFilter.lowPass(cutoff: 3000, sampleRate: 8000).apply(noise)
        let est = BandwidthEstimator.estimate(AudioBuffer(sampleRate: 8000, mono: y))
        XCTAssertEqual(est.cutoff, 3000, accuracy: 150)
    }

    func testSilenceDoesNotCrash() {
        let est = BandwidthEstimator.estimate(AudioBuffer(sampleRate: 44100, mono: [Float](repeating: 0, count: 1000)))
        XCTAssertEqual(est.nyquist, 22050)
    }
}
