import CZlib
import Foundation
import XCTest
@testable import RestoreCore

/// `--plot` images are part of the interface: titled panels, kHz and seconds axes, a dB
/// colour bar and the task's marks with a legend. Rendered from synthetic mels (no model)
/// and compared with the PNGs in Fixtures/plots, which show what a user sees.
/// Regenerate after an intended change with
/// `UPDATE_GOLDEN=1 swift test --filter SpectrogramPlotGoldenTests`.
final class SpectrogramPlotGoldenTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/plots")
    /// One mel row per pixel keeps the goldens small (about 220 × 210).
    static let layout = SpectrogramImage.Layout(rowScale: 1)
    static let frames = 172   // 2 s at 22 050 / 256 frames per second

    /// A chord struck every 0.5 s: harmonics of 220 Hz decaying over time and towards the
    /// top, on a −75 dB floor. dB → the front end's normalised [−1, 1].
    static func chords(_ level: (_ hertz: Double, _ seconds: Double, _ db: Double) -> Double = { $2 }) -> MelSpectrogram {
        let config = MelConfig.standard
        var mel = MelSpectrogram(melCount: config.melCount, frames: frames, values: [Float](repeating: 0, count: config.melCount * frames))
        for b in 0..<config.melCount {
            let edges = MelScale.binEdges(b, config: config)
            let hertz = (edges.low + edges.high) / 2
            let harmonic = hertz / 220
            let offHarmonic: Double = (harmonic - harmonic.rounded()) * 4
            let nearHarmonic: Double = exp(-offHarmonic * offHarmonic)
            for f in 0..<frames {
                let seconds = Double(f) * Double(config.hop) / config.sampleRate
                let sinceOnset = seconds.truncatingRemainder(dividingBy: 0.5)
                let decay: Double = exp(-sinceOnset * 3)
                let chord: Double = -75 + 70 * nearHarmonic * decay - 20 * hertz / 8000
                let db: Double = min(max(level(hertz, seconds, max(chord, -80)), -80), 20)
                mel[b, f] = Float((db + 80) / 50 - 1)
            }
        }
        return mel
    }

    func check(_ image: RGBImage, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = Self.folder.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: Self.folder, withIntermediateDirectories: true)
            try image.pngData().write(to: path)
        }
        let expected = try PNGReader.decode(Data(contentsOf: path))
        XCTAssertEqual(image.width, expected.width, "\(name): width", file: file, line: line)
        XCTAssertEqual(image.height, expected.height, "\(name): height", file: file, line: line)
        guard image.width == expected.width, image.height == expected.height else { return }
        // A colour step of 1 from another libm's last bit is tolerated; anything else is a change.
        let differing = zip(image.pixels, expected.pixels).filter { abs(Int($0) - Int($1)) > 1 }.count
        XCTAssertEqual(differing, 0, "\(name) changed; see \(path.path) (UPDATE_GOLDEN=1 to accept)", file: file, line: line)
    }

    func testBandwidthExtensionPlot() throws {
        let input = Self.chords { hz, _, db in hz > 4000 ? -80 : db }
        let image = SpectrogramImage.render(panels: [.init(title: "low-pass input", mel: input), .init(title: "after bwe", mel: Self.chords())],
                                            regions: [.above(hertz: 4000)], layout: Self.layout)
        try check(image, "bwe.png")
    }

    func testFillGapPlot() throws {
        let input = Self.chords { _, s, db in (0.8..<0.95).contains(s) ? -80 : db }
        let image = SpectrogramImage.render(panels: [.init(title: "input", mel: input), .init(title: "after fill-gap", mel: Self.chords())],
                                            regions: [.time(start: 0.8, end: 0.95)], layout: Self.layout)
        try check(image, "fill-gap.png")
    }

    func testRepairPlot() throws {
        // A burst of broadband noise in 1.2–1.4 s between 1 and 3 kHz.
        let input = Self.chords { hz, s, db in (1.2..<1.4).contains(s) && (1000...3000).contains(hz) ? -10 : db }
        let image = SpectrogramImage.render(panels: [.init(title: "input", mel: input), .init(title: "after repair", mel: Self.chords())],
                                            regions: [.box(start: 1.2, end: 1.4, lowHertz: 1000, highHertz: 3000)], layout: Self.layout)
        try check(image, "repair.png")
    }

    func testGeneratePlotHasOnePanel() throws {
        let image = SpectrogramImage.render(panels: [.init(title: "generated", mel: Self.chords())], regions: [], layout: Self.layout)
        try check(image, "generate.png")
    }

    /// Frequency ticks sit at their mel positions: 1 kHz is the 25.8th band of 80 (0…8 kHz),
    /// so its tick is that far up the panel, and a cutoff there is drawn on the same row.
    func testFrequencyTicksFollowTheMelScale() throws {
        let config = MelConfig.standard
        let band = (MelScale.hzToMel(1000) - MelScale.hzToMel(config.fMin)) / (MelScale.hzToMel(config.fMax) - MelScale.hzToMel(config.fMin)) * 81 - 1
        XCTAssertEqual(band, 25.8, accuracy: 0.1)
        let blank = MelSpectrogram(melCount: 80, frames: 10, values: [Float](repeating: -1, count: 800))
        let image = SpectrogramImage.render(panels: [.init(title: "x", mel: blank)], regions: [.above(hertz: 1000)], layout: Self.layout)
        let top = SpectrogramImage.titleHeight, expectedRow = top + Int((80 - 0.5 - band).rounded(.down))
        // The dashed cutoff starts at the plot's left edge, in the cutoff colour.
        let plotLeft = (0..<image.width).first { image[$0, top + 40] != (255, 255, 255) && image[$0, top + 40] != SpectrogramImage.ink }!
        XCTAssertTrue(image[plotLeft, expectedRow] == SpectrogramImage.cutoffColor)
        // The 1 kHz tick is on that row, left of the plot.
        XCTAssertTrue(image[plotLeft - 1, expectedRow] == SpectrogramImage.ink)
    }

    /// A resampled output can be a few frames longer than its input; a cutoff can lie above
    /// the front end's 8 kHz. Neither may crash or draw a false mark.
    func testPanelsOfDifferentLengthsAndACutoffAboveThePlot() {
        let short = MelSpectrogram(melCount: 80, frames: 5, values: [Float](repeating: 0, count: 400))
        let long = MelSpectrogram(melCount: 80, frames: 300, values: [Float](repeating: 0, count: 24000))
        let image = SpectrogramImage.render(panels: [.init(title: "input", mel: short), .init(title: "output", mel: long)],
                                            regions: [.above(hertz: 11000)], layout: Self.layout)
        XCTAssertFalse(image.pixels.indices.contains { i in
            i % 3 == 0 && (image.pixels[i], image.pixels[i + 1], image.pixels[i + 2]) == SpectrogramImage.cutoffColor
                && i / 3 / image.width < image.height - SpectrogramImage.legendLineHeight
        }, "no cutoff line outside the legend")
        XCTAssertEqual(SpectrogramImage.legendEntries([.above(hertz: 11000)], config: .standard).map(\.text), ["cutoff 11.0 kHz (above the plot)"])
        XCTAssertGreaterThan(SpectrogramImage.render(panels: [], regions: []).height, 0, "no panels: axes only")
    }

    func testFontCoversTheLabelsAndMarksUnknownCharacters() {
        for c in "0123456789.-+()/:% abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" {
            XCTAssertNotNil(BitmapFont.glyphs[c], "no glyph for \(c)")
        }
        let malformed = BitmapFont.glyphs.filter { ![7, 7 + BitmapFont.descent].contains($0.value.count) || $0.value.contains { $0 >= 32 } }
        XCTAssertEqual(malformed.map(\.key), [], "every glyph is 7 rows (9 with a descender) of 5 bits")
        XCTAssertEqual(BitmapFont.glyph("é"), BitmapFont.glyphs["?"])
        XCTAssertEqual(BitmapFont.glyph("–"), BitmapFont.glyphs["-"])
        XCTAssertEqual(BitmapFont.width(of: "kHz"), 17)
    }
}

/// Decodes the PNGs `RGBImage` writes (8-bit RGB, no interlace); every scanline filter is
/// undone, so a golden re-saved by another tool still reads.
enum PNGReader {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static func decode(_ data: Data) throws -> RGBImage {
        let bytes = [UInt8](data)
        guard bytes.count > 8, bytes.prefix(8).elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw Failure(description: "not a PNG") }
        func u32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        var width = 0, height = 0, packed: [UInt8] = []
        var i = 8
        while i + 8 <= bytes.count {
            let length = u32(i), type = String(decoding: bytes[(i + 4)..<(i + 8)], as: UTF8.self)
            let body = Array(bytes[(i + 8)..<(i + 8 + length)])
            switch type {
            case "IHDR":
                width = Int(body[0]) << 24 | Int(body[1]) << 16 | Int(body[2]) << 8 | Int(body[3])
                height = Int(body[4]) << 24 | Int(body[5]) << 16 | Int(body[6]) << 8 | Int(body[7])
                guard body[8] == 8, body[9] == 2, body[12] == 0 else { throw Failure(description: "not 8-bit RGB without interlace") }
            case "IDAT": packed += body
            default: break
            }
            i += 12 + length
        }
        let stride = 3 * width
        var raw = [UInt8](repeating: 0, count: height * (1 + stride))
        var size = uLong(raw.count)
        guard uncompress(&raw, &size, packed, uLong(packed.count)) == Z_OK, Int(size) == raw.count else { throw Failure(description: "bad image data") }
        var image = RGBImage(width: width, height: height)
        var previous = [UInt8](repeating: 0, count: stride)
        for y in 0..<height {
            let filter = raw[y * (1 + stride)]
            var line = Array(raw[(y * (1 + stride) + 1)..<((y + 1) * (1 + stride))])
            for x in 0..<stride {
                let a = x >= 3 ? Int(line[x - 3]) : 0, b = Int(previous[x]), c = x >= 3 ? Int(previous[x - 3]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                default: throw Failure(description: "unknown filter \(filter)")
                }
                line[x] = UInt8((Int(line[x]) + predictor) & 0xFF)
            }
            image.pixels.replaceSubrange((y * stride)..<((y + 1) * stride), with: line)
            previous = line
        }
        return image
    }
}
