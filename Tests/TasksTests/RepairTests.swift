import Foundation
import XCTest
import RestoreCore
@testable import Tasks

/// Spectral repair: the box is regenerated, and outside each box (beyond its ramps) the
/// input's STFT magnitude is kept.
final class RepairTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("restore-repair-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    static let model: EngineModel? = try? EngineModel.load()

    /// Two tones, with a 3 kHz ring from 2.0 to 2.3 s (stereo, 44.1 kHz).
    func ringing() -> AudioBuffer {
        let rate = 44100.0, n = Int(4 * rate)
        let x: [Float] = (0..<n).map { i in
            let t = Double(i) / rate
            var v = 0.3 * sin(2 * .pi * 220 * t) + 0.1 * sin(2 * .pi * 660 * t)
            if t > 2.0 && t < 2.3 { v += 0.3 * sin(2 * .pi * 3000 * t) }
            return Float(v)
        }
        return AudioBuffer(sampleRate: rate, channels: [x, x.map { 0.8 * $0 }])
    }

    func testTheBoxIsRepairedAndNothingElseChanges() throws {
        guard let model = Self.model else { throw XCTSkip("engine model not found (run scripts/fetch-pretrained)") }
        let input = dir + "/ring.wav", output = dir + "/fixed.wav"
        let x = ringing()
        try AudioWriter.write(x, to: input, options: AudioWriteOptions(encoding: .float32))
        var o = Repair.Options()
        o.at = [TimeValue(seconds: 2.0)]; o.length = [TimeValue(seconds: 0.3)]; o.band = ["2k-4k"]
        let context = TaskContext(sampling: SamplingSettings(iterations: 2), outputPath: output,
                                  writeOptions: AudioWriteOptions(encoding: .float32), loadModel: { model })
        let result = try Repair(options: o).run(input: TaskInput(path: input), context: context)
        XCTAssertEqual(result.outputs, [output])
        let (y, info) = try AudioFile.read(output)
        XCTAssertEqual(info.sampleRate, 44100)
        XCTAssertEqual(y.frameCount, x.frameCount)
        let stft = STFT(nFFT: 2048, hop: 512)
        let binHz = 44100.0 / 2048
        for ch in 0..<2 {
            let mx = stft.magnitude(x.channels[ch]), my = stft.magnitude(y.channels[ch])
            var ringBefore = 0.0, ringAfter = 0.0, outsideError = 0.0, outsideNorm = 0.0
            for t in 0..<(mx.count / stft.bins) {
                let centre = Double(t * 512) / 44100   // padding (n_fft − hop)/2 puts frame t's centre here
                for k in 0..<stft.bins {
                    let f = Double(k) * binHz, i = t * stft.bins + k
                    let inTime = centre > 2.05 && centre < 2.25, inBand = f > 2900 && f < 3100
                    if inTime && inBand { ringBefore += Double(mx[i] * mx[i]); ringAfter += Double(my[i] * my[i]) }
                    // Beyond the box's ramps: 20 ms in time plus one analysis frame, a sixth of an octave in frequency.
                    let farInTime = centre < 2.0 - 0.02 - 0.1 || centre > 2.3 + 0.02 + 0.1
                    let farInBand = f < 2000 / 1.13 - binHz * 3 || f > 4000 * 1.13 + binHz * 3
                    if farInTime || farInBand {
                        outsideError += Double((mx[i] - my[i]) * (mx[i] - my[i])); outsideNorm += Double(mx[i] * mx[i])
                    }
                }
            }
            XCTAssertLessThan(10 * log10(ringAfter / ringBefore), -20, "channel \(ch): the ring is gone")
            XCTAssertLessThan((outsideError / outsideNorm).squareRoot(), 1e-4, "channel \(ch): outside the box the magnitude is the input's")
        }
        // Samples away from the box in time are bit-identical.
        for ch in 0..<2 { XCTAssertEqual(Array(y.channels[ch][0..<Int(1.8 * 44100)]), Array(x.channels[ch][0..<Int(1.8 * 44100)])) }
    }

    func testBadBoxesGetClearErrors() {
        func expect(_ o: Repair.Options, _ message: String, line: UInt = #line) {
            XCTAssertThrowsError(try Repair(options: o), line: line) { XCTAssertEqual("\($0)", message, line: line) }
        }
        var o = Repair.Options()
        expect(o, "repair: give each box with --at TIME --length TIME [--band LOW-HIGH]")
        o.at = [TimeValue(seconds: 1), TimeValue(seconds: 2)]
        o.length = [TimeValue(seconds: 0.1), TimeValue(seconds: 0.1), TimeValue(seconds: 0.1)]
        expect(o, "repair: give one --length, or one per --at")
        o.length = [TimeValue(seconds: 0.1)]
        o.band = ["5k-1k"]
        expect(o, "repair: --band '5k-1k' is not LOW-HIGH in Hz (e.g. 1k-5k, 300-3400)")
        o.band = []
        o.at = [TimeValue(seconds: 1e15)]
        expect(o, "repair: box 1: --at must be ≥ 0 and --length between 0 and 60 s")
    }

    /// A preset step decodes a repair with one box or several.
    func testPresetStep() throws {
        let p = try Preset.parse("""
        name: squeaks
        steps:
          - task: repair
            at: [1.2s, 3s]
            length: 0.2s
            band: 1k-5k
        """, path: "p.yaml")
        let r = try XCTUnwrap(p.steps[0].task as? Repair)
        XCTAssertEqual(try r.options.boxes().map(\.span), [TimeSpan(start: 1.2, end: 1.4), TimeSpan(start: 3, end: 3.2)])
        XCTAssertEqual(try r.options.boxes().map(\.band), [1000...5000, 1000...5000])
    }
}
