import CSndFile
import XCTest
@testable import RestoreCore

/// MP3 and Opus output through libsndfile: written where the linked library has them, at a
/// rate the codec holds (resampled, with a note, where it does not), with a quality knob.
final class LossyOutputTests: XCTestCase {
    var folder = ""
    override func setUpWithError() throws {
        folder = try makeTempFolder()
        try XCTSkipUnless(LibSndFile.writes(major: Int(SF_FORMAT_MPEG), subtype: Int(SF_FORMAT_MPEG_LAYER_III))
                          && LibSndFile.writes(major: Int(SF_FORMAT_OGG), subtype: Int(SF_FORMAT_OPUS)),
                          "libsndfile \(LibSndFile.version) writes no MP3 or Opus")
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    /// Two seconds of a chord, loud enough to need bits.
    func chord(rate: Double, channels: Int = 2) -> AudioBuffer {
        AudioBuffer(sampleRate: rate, channels: (0..<channels).map { k in
            zip(TestSignals.sine(frequency: 440 * Double(k + 1), sampleRate: rate, seconds: 2, amplitude: 0.3),
                TestSignals.sine(frequency: 3100 + 700 * Double(k), sampleRate: rate, seconds: 2, amplitude: 0.2)).map { $0 + $1 }
        })
    }

    func testMP3AndOpusRoundTrip() throws {
        for (ext, container, subtype, fileRate) in [("mp3", "MP3", "MP3", 44100.0), ("opus", "OGG", "OPUS", 48000)] {
            let path = "\(folder)/chord.\(ext)"
            try AudioWriter.write(chord(rate: 44100), to: path)
            let (back, info) = try AudioFile.read(path)
            XCTAssertEqual(info.format.container, container)
            XCTAssertEqual(info.format.subtype, subtype)
            XCTAssertEqual(info.sampleRate, fileRate, ext)
            XCTAssertEqual(back.channelCount, 2)
            // Encoder delay and padding: the length is kept to within a few frames of 1152.
            XCTAssertEqual(back.duration, 2, accuracy: 0.06, ext)
            let rms = (back.channels[0].map { Double($0 * $0) }.reduce(0, +) / Double(back.frameCount)).squareRoot()
            XCTAssertEqual(rms, (0.3 * 0.3 / 2 + 0.2 * 0.2 / 2).squareRoot(), accuracy: 0.05, "\(ext): the tone survives")
        }
    }

    func testOpusResamplesRatesItDoesNotHoldAndSaysSo() throws {
        let notes = NoteBox()
        let path = "\(folder)/g.opus"
        try AudioWriter.write(chord(rate: 22050, channels: 1), to: path, options: .init(note: { notes.add($0) }))
        let (back, info) = try AudioFile.read(path)
        XCTAssertEqual(info.sampleRate, 48000)
        XCTAssertEqual(back.duration, 2, accuracy: 0.03)
        XCTAssertEqual(notes.lines, ["\(path): Opus holds 8, 12, 16, 24, 48 kHz; written at 48000 Hz (resampled from 22050 Hz)"])
        // A rate Opus holds is written as it is, without a note.
        let kept = NoteBox()
        try AudioWriter.write(chord(rate: 16000, channels: 1), to: "\(folder)/k.opus", options: .init(note: { kept.add($0) }))
        XCTAssertEqual(try AudioFileReader(path: "\(folder)/k.opus").info.sampleRate, 16000)
        XCTAssertEqual(kept.lines, [])
    }

    func testFileRatesPerCodec() {
        let opus = Int32(SF_FORMAT_OGG | SF_FORMAT_OPUS), mp3 = Int32(SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III)
        XCTAssertEqual(AudioWriter.fileSampleRate(for: 44100, format: opus), 48000)
        XCTAssertEqual(AudioWriter.fileSampleRate(for: 24000, format: opus), 24000)
        XCTAssertEqual(AudioWriter.fileSampleRate(for: 22050, format: mp3), 22050)
        XCTAssertEqual(AudioWriter.fileSampleRate(for: 96000, format: mp3), 48000)
        XCTAssertEqual(AudioWriter.fileSampleRate(for: 30000, format: mp3), 32000)
        XCTAssertEqual(AudioWriter.fileSampleRate(for: 96000, format: Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)), 96000)
    }

    func testQualityTradesSizeForFidelity() throws {
        for ext in ["mp3", "opus", "ogg"] {
            var sizes: [Int] = []
            for q in [0.0, 0.5, 1.0] {
                let path = "\(folder)/q\(q).\(ext)"
                try AudioWriter.write(chord(rate: 44100), to: path, options: .init(quality: q))
                sizes.append(try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int)
            }
            XCTAssertLessThan(sizes[0], sizes[1], ext)
            XCTAssertLessThan(sizes[1], sizes[2], ext)
        }
    }

    func testRefusesWhatTheCodecCannotDo() {
        let chord = chord(rate: 44100)
        XCTAssertThrowsError(try AudioWriter.write(chord, to: "\(folder)/x.wav", options: .init(quality: 0.5))) { e in
            XCTAssertEqual("\(e)", "\(folder)/x.wav: unsupported output format (a quality applies to lossy .ogg, .mp3 and .opus; .wav is lossless)")
        }
        XCTAssertThrowsError(try AudioWriter.write(chord, to: "\(folder)/x.mp3", options: .init(encoding: .pcm24))) { e in
            XCTAssertEqual("\(e)", "\(folder)/x.mp3: unsupported output format (MP3 is a lossy codec; --encoding does not apply)")
        }
        XCTAssertThrowsError(try AudioWriter.write(self.chord(rate: 44100, channels: 3), to: "\(folder)/x.mp3")) { e in
            XCTAssertEqual("\(e)", "\(folder)/x.mp3: unsupported output format (MP3 holds 1 or 2 channels, this audio has 3; use .opus, .flac or .wav)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(folder)/x.mp3"))
    }
}

final class NoteBox: @unchecked Sendable {
    private(set) var lines: [String] = []
    private let lock = NSLock()
    func add(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
}
