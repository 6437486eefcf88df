import XCTest
@testable import RestoreCore

/// The Swift mel front end against the float64 numpy reference and librosa's filterbank
/// (fixtures from training/make_frontend_fixtures.py).
final class FrontEndParityTests: XCTestCase {
    let frontEnd = MelFrontEnd()

    func testFilterbankMatchesLibrosaWithin1e6() throws {
        let ref = try Fixtures.npy("frontend/filterbank.npy")
        XCTAssertEqual(ref.shape, [80, 513])
        XCTAssertLessThan(relativeL2(frontEnd.filterbank, ref.values), 1e-6)
        let peak = ref.values.map(abs).max()!
        XCTAssertLessThanOrEqual(maxAbsDiff(frontEnd.filterbank, ref.values), 1e-6 * peak)
    }

    func testMagnitudeMelMatchesReferenceWithin1e4() throws {
        for name in ["chirp", "noise", "silence", "tone1k"] {
            let x = try Fixtures.npy("frontend/\(name).signal.npy").values
            let ref = try Fixtures.npy("frontend/\(name).mel.npy")
            let mel = frontEnd.magnitudeMel(x)
            XCTAssertEqual([mel.melCount, mel.frames], ref.shape, name)
            let err = relativeL2(mel.values, ref.values)
            XCTAssertLessThan(err, 1e-4, "\(name): relative error \(err)")
        }
    }

    func testLogAndNormalisedMelMatchReference() throws {
        for name in ["chirp", "noise"] {
            let x = try Fixtures.npy("frontend/\(name).signal.npy").values
            let ln = frontEnd.logMel(x).values
            let norm = frontEnd.normalizedMel(x).values
            let refLn = try Fixtures.npy("frontend/\(name).logmel.npy").values
            let refNorm = try Fixtures.npy("frontend/\(name).normalized.npy").values
            XCTAssertLessThan(relativeL2(ln, refLn), 1e-4, name)
            XCTAssertLessThan(relativeL2(norm, refNorm), 1e-4, name)
            XCTAssertLessThan(maxAbsDiff(norm, refNorm), 2e-3, name)
        }
    }

    func testNormalisationAtAnotherFloorMatchesReference() throws {
        // A tokenizer trained at −100 dB reads the mel normalised at its own floor.
        let fe = MelFrontEnd(config: MelConfig(dbMin: -100))
        for name in ["chirp", "noise"] {
            let x = try Fixtures.npy("frontend/\(name).signal.npy").values
            let norm = fe.normalizedMel(x)
            let ref = try Fixtures.npy("frontend/\(name).normalized-db100.npy").values
            XCTAssertLessThan(relativeL2(norm.values, ref), 1e-4, name)
            XCTAssertLessThan(maxAbsDiff(norm.values, ref), 2e-3, name)
            // Its inverse gives the same ln-mel as the −80 dB one above both floors.
            let ln = fe.logMel(fromNormalized: norm).values, std = frontEnd.logMel(fromNormalized: frontEnd.normalizedMel(x)).values
            for i in stride(from: 0, to: ln.count, by: 97) where std[i] > Float(-75 * M_LN10 / 20) {
                XCTAssertEqual(ln[i], std[i], accuracy: 1e-3)
            }
        }
    }

    func testDenormalisationInvertsNormalisationInsideTheClipRange() throws {
        let x = try Fixtures.npy("frontend/noise.signal.npy").values
        let norm = frontEnd.normalizedMel(x)
        let back = frontEnd.logMel(fromNormalized: norm)
        let ln = frontEnd.logMel(x)
        var checked = 0
        for i in 0..<norm.values.count where norm.values[i] > -1 && norm.values[i] < 1 {
            XCTAssertEqual(back.values[i], ln.values[i], accuracy: 1e-4)
            checked += 1
        }
        XCTAssertGreaterThan(checked, norm.values.count / 2)
    }

    func testSilenceMapsToTheFloor() {
        let norm = frontEnd.normalizedMel([Float](repeating: 0, count: 22050))
        XCTAssertTrue(norm.values.allSatisfy { $0 == -1 })
    }

    func testFrameCountFollowsReflectPaddingWithoutCentring() {
        // (n + 2·384 − 1024) / 256 + 1
        XCTAssertEqual(frontEnd.stft.frameCount(samples: 66150), 258)
        XCTAssertEqual(frontEnd.stft.frameCount(samples: 220500), 861)
        XCTAssertEqual(frontEnd.magnitudeMel([Float](repeating: 0.1, count: 100)).frames, 0)
    }
}

final class STFTTests: XCTestCase {
    func testReflectPadMatchesNumpy() {
        // np.pad([1,2,3], 2, mode="reflect") and np.pad([1,2,3], 5, mode="reflect")
        XCTAssertEqual(STFT.reflectPad([1, 2, 3], 2), [3, 2, 1, 2, 3, 2, 1])
        XCTAssertEqual(STFT.reflectPad([1, 2, 3], 5), [2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2])
    }

    func testInverseRecoversTheSignal() {
        let x = TestSignals.whiteNoise(sampleRate: 22050, seconds: 1, seed: 7)
        let stft = STFT(nFFT: 1024, hop: 256)
        let y = stft.inverse(stft.forward(x), length: x.count)
        XCTAssertLessThan(relativeL2(y, x), 1e-5)
    }

    func testInverseWorksForOtherSizes() {
        let x = TestSignals.sine(frequency: 440, sampleRate: 16000, seconds: 0.5)
        let stft = STFT(nFFT: 512, hop: 128)
        XCTAssertLessThan(relativeL2(stft.inverse(stft.forward(x), length: x.count), x), 1e-5)
    }

    func testToneLandsInItsBin() {
        let x = TestSignals.sine(frequency: 1000, sampleRate: 22050, seconds: 0.5)
        let stft = STFT(nFFT: 1024, hop: 256)
        let mag = stft.magnitude(x)
        let frame = Array(mag[(10 * 513)..<(11 * 513)])
        let peak = frame.indices.max { frame[$0] < frame[$1] }!
        XCTAssertEqual(Double(peak) * 22050 / 1024, 1000, accuracy: 22050 / 1024)
    }
}

final class NumpyArrayTests: XCTestCase {
    func testRoundTrip() throws {
        let a = NumpyArray(shape: [2, 3], values: [1, -2, 3.5, 0, 1e-7, -1e7])
        let b = try NumpyArray.parse(a.encoded(), path: "mem")
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.encoded().count % 64, 24)   // 64-byte preamble plus 6 floats
    }

    func testRejectsGarbage() {
        XCTAssertThrowsError(try NumpyArray.parse(Data("hello".utf8), path: "x.npy")) { e in
            XCTAssertEqual("\(e)", "x.npy: not a valid .npy file (bad magic)")
        }
    }
}
