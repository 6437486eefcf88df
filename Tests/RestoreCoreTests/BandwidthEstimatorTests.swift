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
                XCTAssertEqual(est.kind, .cut)
                XCTAssertTrue(est.confident, "rate \(rate), cutoff \(cutoff)")
                XCTAssertGreaterThanOrEqual(est.edgeDepth, 25)
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
        XCTAssertEqual(est.kind, .none)
        XCTAssertFalse(est.confident)
    }

    /// Pink noise through a gentle 12 dB/octave low-pass (two one-pole sections at 1 kHz).
    static func pinkRollOff(rate: Double, seconds: Double) -> [Float] {
        var rng = SplitMix64(seed: 21)
        // Paul Kellet's pink filter, then two one-pole low-passes.
        var b0 = 0.0, b1 = 0.0, b2 = 0.0, b3 = 0.0, b4 = 0.0, b5 = 0.0, b6 = 0.0
        let a = exp(-2 * Double.pi * 1000 / rate)
        var l1 = 0.0, l2 = 0.0
        return (0..<Int(seconds * rate)).map { _ in
            let w = rng.gaussian()
            b0 = 0.99886 * b0 + w * 0.0555179; b1 = 0.99332 * b1 + w * 0.0750759; b2 = 0.96900 * b2 + w * 0.1538520
            b3 = 0.86650 * b3 + w * 0.3104856; b4 = 0.55000 * b4 + w * 0.5329522; b5 = -0.7616 * b5 - w * 0.0168980
            let pink = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362
            b6 = w * 0.115926
            l1 = (1 - a) * pink + a * l1
            l2 = (1 - a) * l1 + a * l2
            return Float(0.1 * l2)
        }
    }

    /// A harmonic tone whose partials fall as 1/k² (12 dB/octave) up to Nyquist.
    static func harmonicTone(rate: Double, seconds: Double, f0: Double = 220) -> [Float] {
        (0..<Int(seconds * rate)).map { i in
            let t = Double(i) / rate
            var v = 0.0
            var k = 1
            while Double(k) * f0 < rate / 2 { v += sin(2 * .pi * f0 * Double(k) * t + Double(k)) / Double(k * k); k += 1 }
            return Float(0.3 * v)
        }
    }

    /// Natural roll-off is not a cutoff, at 22.05 and at 44.1 kHz, in float and in 16 bits.
    func testNaturalRollOffIsFullBand() {
        for rate in [22050.0, 44100] {
            for (name, x) in [("pink 12 dB/oct", Self.pinkRollOff(rate: rate, seconds: 4)), ("1/k² harmonics", Self.harmonicTone(rate: rate, seconds: 3))] {
                for quantised in [false, true] {
                    let y = quantised ? x.map { ($0 * 32767).rounded() / 32768 } : x
                    let est = BandwidthEstimator.estimate(AudioBuffer(sampleRate: rate, mono: y))
                    XCTAssertEqual(est.kind, .fullBand, "\(name) at \(rate), 16-bit \(quantised): \(est.summary)")
                    XCTAssertFalse(est.confident, "\(name) at \(rate)")
                    XCTAssertGreaterThanOrEqual(est.cutoff, 0.93 * rate / 2, "\(name) at \(rate)")
                }
            }
        }
    }

    /// The same low-passed recording at 22.05 and 44.1 kHz: the same cutoff.
    func testTheSameCutoffAtEitherRate() throws {
        let x44 = TestSignals.whiteNoise(sampleRate: 44100, seconds: 3, amplitude: 0.2, seed: 31)
        let y44 = FIRFilter.lowPass(cutoff: 5500, sampleRate: 44100).apply(x44)
        let y22 = try Resampler.resample(AudioBuffer(sampleRate: 44100, mono: y44), to: 22050)
        let a = BandwidthEstimator.estimate(AudioBuffer(sampleRate: 44100, mono: y44))
        let b = BandwidthEstimator.estimate(y22)
        XCTAssertTrue(a.confident && b.confident)
        XCTAssertEqual(a.cutoff, b.cutoff, accuracy: 0.02 * 5500)
    }

    /// Content resampled to 8 kHz reaches about 3.9 kHz: its bandwidth is its Nyquist, not 0.6–3 kHz.
    func testResampledToEightKilohertzReachesNearFourKilohertz() throws {
        for (name, x) in [("pink", Self.pinkRollOff(rate: 22050, seconds: 4)), ("noise", TestSignals.whiteNoise(sampleRate: 22050, seconds: 3, seed: 3)),
                          ("harmonics", Self.harmonicTone(rate: 22050, seconds: 3, f0: 130))] {
            let y = try Resampler.resample(AudioBuffer(sampleRate: 22050, mono: x), to: 8000)
            let est = BandwidthEstimator.estimate(y)
            XCTAssertEqual(est.kind, .fullBand, "\(name): \(est.summary)")
            XCTAssertGreaterThanOrEqual(est.cutoff, 3700, name)
            XCTAssertLessThanOrEqual(est.cutoff, 4000, name)
        }
    }

    /// Silence, DC and a 16-bit sine have no measurable bandwidth (never a confident cutoff).
    func testSilenceDCAndASineHaveNoMeasurableBandwidth() {
        let rate = 22050.0, n = Int(2 * rate)
        let sine = TestSignals.sine(frequency: 1000, sampleRate: rate, seconds: 2).map { ($0 * 32767).rounded() / 32768 }
        for (name, x) in [("silence", [Float](repeating: 0, count: n)), ("DC", [Float](repeating: 0.3, count: n)), ("sine", sine),
                          ("noise under the 16-bit floor", TestSignals.whiteNoise(sampleRate: rate, seconds: 2, amplitude: 1.0 / 131072, seed: 2))] {
            let est = BandwidthEstimator.estimate(AudioBuffer(sampleRate: rate, mono: x))
            XCTAssertEqual(est.kind, .none, "\(name): \(est.summary)")
            XCTAssertFalse(est.confident, name)
            XCTAssertEqual(est.summary, "no measurable bandwidth")
        }
    }
}
