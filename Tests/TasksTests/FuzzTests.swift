import Foundation
import XCTest
import RestoreCore
@testable import Tasks

/// Mutated inputs with fixed seeds: whatever a damaged or hostile file holds, reading and
/// measuring it ends in a result or a clear error — no crash, no hang, bounded memory.
final class FuzzTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("restore-fuzz-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    /// Deterministic generator (SplitMix64), so every run tries the same cases.
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    }

    /// Header-aware mutations: flipped bits, extreme 16/32-bit fields, truncation, garbage.
    func mutate(_ base: [UInt8], _ rng: inout Rng, headerBytes: Int) -> [UInt8] {
        var b = base
        let extremes: [UInt32] = [0, 1, 0xFFFF_FFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF, 0x10000, 2_147_483_647, 768_001, 999]
        for _ in 0..<(1 + rng.below(4)) {
            let at = rng.below(min(headerBytes, b.count))
            switch rng.below(5) {
            case 0: b[at] ^= UInt8(1 << rng.below(8))
            case 1: b[at] = UInt8(truncatingIfNeeded: rng.next())
            case 2, 3:
                let v = extremes[rng.below(extremes.count)]
                for k in 0..<4 where at + k < b.count { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) }
            default:
                b = Array(b.prefix(rng.below(b.count)))
                if b.isEmpty { return b }
            }
        }
        return b
    }

    /// Reads and measures one file; returns false when it was refused with an error.
    @discardableResult
    func exercise(_ bytes: [UInt8], ext: String, index: Int) -> Bool {
        let path = folder + "/case\(index % 16).\(ext)"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let t0 = Date()
        var ok = true
        do { _ = try AudioReport.measureStream(path: path) } catch { ok = false }
        do {
            let (b, _) = try AudioFile.read(path)
            XCTAssertLessThanOrEqual(b.frameCount * b.channelCount, bytes.count * 8, "case \(index): more samples than bytes could hold")
        } catch { ok = false }
        // A hang guard, far above the milliseconds a case takes: the property is "ends".
        XCTAssertLessThan(Date().timeIntervalSince(t0), 20, "case \(index) took too long")
        return ok
    }

    func baseFile(_ ext: String) throws -> [UInt8] {
        let path = folder + "/base.\(ext)"
        let x = TestSignals.sine(frequency: 440, sampleRate: 22050, seconds: 0.1)
        try AudioWriter.write(AudioBuffer(sampleRate: 22050, channels: [x, x]), to: path, options: AudioWriteOptions(encoding: .pcm16))
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func testTwoThousandMutatedWAVAndFLACHeaders() throws {
        var rng = Rng(state: 20261130)
        let wav = try baseFile("wav"), flac = try baseFile("flac")
        var refused = 0
        for i in 0..<2000 {
            let flacCase = i % 2 == 1
            let bytes = mutate(flacCase ? flac : wav, &rng, headerBytes: flacCase ? 96 : 48)
            if !exercise(bytes, ext: flacCase ? "flac" : "wav", index: i) { refused += 1 }
        }
        print("fuzz: 2000 header cases, \(refused) refused with an error")
        // Bounded memory: the whole run stays far below what one 2^31 Hz header asked for.
        XCTAssertLessThan(residentMegabytes(), 2048)
    }

    /// The headers the safety review used, each refused with a message.
    func testHostileHeadersAreRefusedClearly() throws {
        var wav = try baseFile("wav")
        // Sample rate field (bytes 24…27) = 2,147,483,647 Hz.
        for (k, v) in [0xFF, 0xFF, 0xFF, 0x7F].enumerated() { wav[24 + k] = UInt8(v) }
        let path = folder + "/fast.wav"
        FileManager.default.createFile(atPath: path, contents: Data(wav))
        XCTAssertThrowsError(try AudioReport.measureStream(path: path)) {
            XCTAssertEqual("\($0)", "\(path): cannot read audio (sample rate 2147483647 Hz is outside the supported 1000…768000 Hz)")
        }
    }

    func testOneThousandMutatedPresets() throws {
        let texts = try PresetLibrary.all().map { try String(contentsOfFile: $0.path, encoding: .utf8) } + [
            "name: x\nsteps:\n  - task: bwe\n    cutoff: 4000\n    when: bandwidth < 7000 and duration > 1\n",
        ]
        var rng = Rng(state: 7)
        let pieces = ["&a ", "*a", "[", "{", "]", "}", "- ", ":", "\n", "  ", "'", "\"", "#", "1e300", "-1", "!!binary ", "? ", "|\n", "\t",
                      "task: fill-gap\n", "when: ", "<<: *a\n", String(repeating: "- ", count: 200), String(repeating: "[", count: 100)]
        var accepted = 0
        for i in 0..<1000 {
            var chars = Array(texts[i % texts.count])
            for _ in 0..<(1 + rng.below(6)) {
                let at = rng.below(chars.count + 1)
                switch rng.below(3) {
                case 0: chars.insert(contentsOf: pieces[rng.below(pieces.count)], at: at)
                case 1: if at < chars.count { chars.remove(at: at) }
                default:
                    let end = min(chars.count, at + rng.below(40))
                    chars.insert(contentsOf: Array(chars[at..<end]), at: at)
                }
            }
            let t0 = Date()
            do { _ = try Preset.parse(String(chars), path: "fuzz.yaml"); accepted += 1 } catch let e as RestoreError {
                XCTAssertTrue(e.description.hasPrefix("fuzz.yaml"), "case \(i): \(e.description)")
            }
            XCTAssertLessThan(Date().timeIntervalSince(t0), 20, "case \(i) took too long")
        }
        print("fuzz: 1000 preset cases, \(accepted) still valid")
        XCTAssertLessThan(residentMegabytes(), 2048)
    }

    func residentMegabytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss / 1024
    }
}
