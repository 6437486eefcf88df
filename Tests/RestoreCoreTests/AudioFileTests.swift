import CSndFile
import XCTest
@testable import RestoreCore

final class AudioFileTests: XCTestCase {
    var folder = ""
    override func setUpWithError() throws { folder = try makeTempFolder() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    func stereoTone(rate: Double, seconds: Double = 0.5) -> AudioBuffer {
        AudioBuffer(sampleRate: rate, channels: [
            TestSignals.sine(frequency: 440, sampleRate: rate, seconds: seconds, amplitude: 0.5),
            TestSignals.sine(frequency: 660, sampleRate: rate, seconds: seconds, amplitude: 0.25),
        ])
    }

    func testRoundTripEveryWritableFormatRateAndLayout() throws {
        let cases: [(ext: String, enc: SampleEncoding, subtype: String, tol: Float)] = [
            ("wav", .pcm16, "PCM_16", 1.0 / 32768 + 1e-6), ("wav", .pcm24, "PCM_24", 1e-6),
            ("wav", .float32, "FLOAT", 0), ("flac", .pcm16, "PCM_16", 1.0 / 32768 + 1e-6),
            ("flac", .pcm24, "PCM_24", 1e-6), ("ogg", .keep, "VORBIS", 0.05),
        ]
        for rate in [8000.0, 22050, 44100, 48000] {
            for stereo in [false, true] {
                var buf = stereoTone(rate: rate)
                if !stereo { buf = AudioBuffer(sampleRate: rate, mono: buf.channels[0]) }
                for c in cases {
                    let path = "\(folder)/t-\(Int(rate))-\(stereo)-\(c.subtype).\(c.ext)"
                    try AudioWriter.write(buf, to: path, options: .init(encoding: c.enc))
                    let (back, info) = try AudioFile.read(path)
                    XCTAssertEqual(info.format.container, c.ext == "wav" ? "WAV" : c.ext.uppercased())
                    XCTAssertEqual(info.format.subtype, c.subtype)
                    XCTAssertEqual(back.sampleRate, rate)
                    XCTAssertEqual(back.channelCount, buf.channelCount)
                    XCTAssertEqual(back.frameCount, buf.frameCount, path)
                    if c.ext != "ogg" {
                        for k in 0..<buf.channelCount {
                            XCTAssertLessThanOrEqual(maxAbsDiff(back.channels[k], buf.channels[k]), c.tol, path)
                        }
                    } else {
                        XCTAssertLessThan(relativeL2(back.channels[0], buf.channels[0]), 0.1, path)
                    }
                }
            }
        }
    }

    func testKeepsTheInputSubtypeUnlessTold() throws {
        let src = "\(folder)/src.wav"
        try AudioWriter.write(stereoTone(rate: 44100), to: src, options: .init(encoding: .pcm24))
        let (buf, info) = try AudioFile.read(src)
        try AudioWriter.write(buf, to: "\(folder)/kept.wav", options: .init(sourceFormat: info.format))
        XCTAssertEqual(try AudioFileReader(path: "\(folder)/kept.wav").info.format.subtype, "PCM_24")
        // FLAC cannot hold float: a float source keeps its resolution as 24 bit.
        try AudioWriter.write(buf, to: "\(folder)/f.wav", options: .init(encoding: .float32))
        let (fb, finfo) = try AudioFile.read("\(folder)/f.wav")
        try AudioWriter.write(fb, to: "\(folder)/f.flac", options: .init(sourceFormat: finfo.format))
        XCTAssertEqual(try AudioFileReader(path: "\(folder)/f.flac").info.format.subtype, "PCM_24")
    }

    func testNeverOverwritesWithoutPermissionAndNeverTheInput() throws {
        let path = "\(folder)/a.wav"
        let buf = stereoTone(rate: 22050)
        try AudioWriter.write(buf, to: path)
        XCTAssertThrowsError(try AudioWriter.write(buf, to: path)) { e in
            XCTAssertEqual("\(e)", "\(path): already exists (use --overwrite to replace it)")
        }
        try AudioWriter.write(buf, to: path, options: .init(overwrite: true))
        XCTAssertThrowsError(try AudioWriter.write(buf, to: path, options: .init(overwrite: true, protectedPaths: [folder + "/./a.wav"]))) { e in
            XCTAssertEqual("\(e)", "\(path): is an input file and is never overwritten")
        }
        // No temporary files are left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), ["a.wav"])
    }

    func testRejectsUnknownExtensionsAndMissingFolders() {
        let buf = stereoTone(rate: 22050)
        XCTAssertThrowsError(try AudioWriter.write(buf, to: "\(folder)/x.mp4")) { e in
            XCTAssertEqual("\(e)", "\(folder)/x.mp4: unsupported output format (extension '.mp4'; use .wav, .flac, .ogg, .mp3 or .opus)")
        }
        XCTAssertThrowsError(try AudioWriter.write(buf, to: "\(folder)/nope/x.wav")) { e in
            XCTAssertEqual("\(e)", "\(folder)/nope/x.wav: cannot write (folder \(folder)/nope does not exist)")
        }
    }

    // MARK: the five bad inputs

    func testMissingFile() {
        XCTAssertThrowsError(try AudioFile.read("\(folder)/missing.wav")) { e in
            XCTAssertEqual(e as? RestoreError, .fileNotFound(path: "\(folder)/missing.wav"))
            XCTAssertEqual("\(e)", "\(folder)/missing.wav: no such file")
        }
    }

    func testDirectory() {
        XCTAssertThrowsError(try AudioFile.read(folder)) { e in
            XCTAssertEqual("\(e)", "\(folder): is a directory, expected an audio file")
        }
    }

    func testCorruptFile() throws {
        let path = "\(folder)/corrupt.wav"
        var rng = SplitMix64(seed: 3)
        let junk = Data((0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        _ = FileManager.default.createFile(atPath: path, contents: junk)
        XCTAssertThrowsError(try AudioFile.read(path)) { e in
            guard case .unreadable(let p, _) = e as? RestoreError else { return XCTFail("\(e)") }
            XCTAssertEqual(p, path)
            XCTAssertTrue("\(e)".hasPrefix("\(path): cannot read audio ("), "\(e)")
            XCTAssertFalse("\(e)".contains("\n"))
        }
    }

    func testTruncatedHeader() throws {
        let good = "\(folder)/good.wav"
        try AudioWriter.write(stereoTone(rate: 8000), to: good)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let path = "\(folder)/truncated.wav"
        _ = FileManager.default.createFile(atPath: path, contents: bytes.prefix(20))
        XCTAssertThrowsError(try AudioFile.read(path)) { e in
            XCTAssertTrue("\(e)".hasPrefix("\(path): "), "\(e)")
        }
    }

    func testZeroLengthAudio() throws {
        let path = "\(folder)/empty.wav"
        var info = SF_INFO()
        info.samplerate = 44100; info.channels = 1; info.format = Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)
        sf_close(sf_open(path, Int32(SFM_WRITE), &info))
        XCTAssertThrowsError(try AudioFile.read(path)) { e in
            XCTAssertEqual("\(e)", "\(path): contains no audio (0 frames)")
        }
        let zeroBytes = "\(folder)/zero.flac"
        _ = FileManager.default.createFile(atPath: zeroBytes, contents: Data())
        XCTAssertThrowsError(try AudioFile.read(zeroBytes)) { e in
            XCTAssertTrue("\(e)".hasPrefix("\(zeroBytes): cannot read audio ("), "\(e)")
        }
    }

    func testNonFiniteSamples() throws {
        let path = "\(folder)/nan.wav"
        var x = TestSignals.sine(frequency: 100, sampleRate: 8000, seconds: 0.1)
        x[123] = .nan
        var stereo = x
        stereo[50] = .infinity
        try TestSignals.writeRawFloatWAV(AudioBuffer(sampleRate: 8000, channels: [x, stereo]), to: path)
        XCTAssertThrowsError(try AudioFile.read(path)) { e in
            XCTAssertEqual("\(e)", "\(path): contains NaN or infinite samples (first at frame 50, channel 1)")
        }
    }
}

final class ResamplerTests: XCTestCase {
    func testLengthsAndToneSurvive() throws {
        for (from, to) in [(44100.0, 22050.0), (8000, 22050), (48000, 22050), (22050, 44100)] {
            for quality in Resampler.Quality.allCases {
                let x = TestSignals.sine(frequency: 1000, sampleRate: from, seconds: 1)
                let y = try Resampler.resample(AudioBuffer(sampleRate: from, mono: x), to: to, quality: quality)
                XCTAssertEqual(y.frameCount, Resampler.outputLength(frames: x.count, from: from, to: to))
                XCTAssertEqual(y.sampleRate, to)
                // Compare with the ideal tone away from the edges.
                let ideal = TestSignals.sine(frequency: 1000, sampleRate: to, seconds: 1)
                let a = Array(y.channels[0][Int(to * 0.1)..<Int(to * 0.9)])
                let b = Array(ideal[Int(to * 0.1)..<Int(to * 0.9)])
                XCTAssertLessThan(relativeL2(a, b), quality == .best ? 1e-3 : 1e-2, "\(from)→\(to) \(quality)")
            }
        }
    }

    func testKeepsChannelsApart() throws {
        let l = TestSignals.sine(frequency: 300, sampleRate: 44100, seconds: 0.5)
        let buf = AudioBuffer(sampleRate: 44100, channels: [l, [Float](repeating: 0, count: l.count)])
        let y = try Resampler.resample(buf, to: 22050)
        XCTAssertEqual(y.channelCount, 2)
        XCTAssertLessThan(y.channels[1].map(abs).max()!, 1e-6)
        XCTAssertGreaterThan(y.channels[0].map(abs).max()!, 0.4)
    }

    func testRejectsAbsurdRates() {
        let buf = AudioBuffer(sampleRate: 44100, mono: [0, 0, 0])
        XCTAssertThrowsError(try Resampler.resample(buf, to: 0))
        XCTAssertThrowsError(try Resampler.resample(buf, to: 44100 * 1000))
    }
}
