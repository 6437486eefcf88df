import Foundation
import XCTest
import RestoreCore
@testable import Tasks

/// Preset validation happens before any audio: every mistake names file, line and key.
final class PresetTests: XCTestCase {
    func expect(_ yaml: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Preset.parse(yaml, path: "p.yaml"), file: file, line: line) { e in
            XCTAssertEqual("\(e)", message, file: file, line: line)
        }
    }

    func testValidPresetLoadsWithItsSteps() throws {
        let p = try Preset.parse("""
        name: test
        description: two steps
        defaults: {iterations: 8, seed: 3}
        steps:
          - task: fill-gap
            detect: true
            min-dropout: 30ms
          - task: bwe
            when: bandwidth < 7000 and duration > 1
            cutoff: 4000
            lfr: false
        """, path: "p.yaml")
        XCTAssertEqual(p.name, "test")
        XCTAssertEqual(p.sampling.iterations, 8)
        XCTAssertEqual(p.sampling.seed, 3)
        XCTAssertEqual(p.steps.map(\.name), ["fill-gap", "bwe"])
        XCTAssertEqual(p.steps.map(\.line), [5, 8])
        let bwe = try XCTUnwrap(p.steps[1].task as? BandwidthExtension)
        XCTAssertEqual(bwe.options.cutoff, .hertz(4000))
        XCTAssertFalse(bwe.options.lfr)
        XCTAssertEqual(p.steps[1].when?.description, "bandwidth < 7000 and duration > 1")
        let gap = try XCTUnwrap(p.steps[0].task as? FillGap)
        XCTAssertEqual(gap.options.minDropout.seconds, 0.03, accuracy: 1e-12)
    }

    func testDefaultsChooseTheDecoding() throws {
        let p = try Preset.parse("name: t\ndefaults:\n  decoding: sampled\nsteps:\n  - task: bwe\n", path: "p.yaml")
        XCTAssertEqual(p.sampling.decoding, .sampled)
        XCTAssertNil(try Preset.parse("name: t\nsteps:\n  - task: bwe\n", path: "p.yaml").sampling.decoding)
        expect("name: x\ndefaults:\n  decoding: mean\nsteps:\n  - task: bwe\n", "p.yaml:3: 'decoding' must be one of sampled, expected")
    }

    /// A guard or floor is turned off in a preset as on the command line, with `off`
    /// (YAML reads a plain `off` as false); numbers set it, anything else is refused.
    func testLevelsInDecibelsCanBeTurnedOff() throws {
        let p = try Preset.parse("""
        name: t
        steps:
          - task: fill-gap
            detect: true
            level-guard: off
            fill-floor: "off"
          - task: bwe
            level-guard: off
          - task: fill-gap
            detect: true
            fill-floor: 20
        """, path: "p.yaml")
        let gap = try XCTUnwrap(p.steps[0].task as? FillGap)
        XCTAssertNil(gap.options.levelGuard)
        XCTAssertNil(gap.options.fillFloor)
        XCTAssertNil(try XCTUnwrap(p.steps[1].task as? BandwidthExtension).options.levelGuard)
        let floor = try XCTUnwrap(p.steps[2].task as? FillGap)
        XCTAssertEqual(floor.options.fillFloor, 20)
        XCTAssertEqual(floor.options.levelGuard, FillGap.Options().levelGuard)
        expect("name: x\nsteps:\n  - task: fill-gap\n    detect: true\n    fill-floor: loud\n",
               "p.yaml:5: option 'fill-floor' of task 'fill-gap': expected a number of dB or off")
        expect("name: x\nsteps:\n  - task: fill-gap\n    detect: true\n    fill-floor: on\n",
               "p.yaml:5: option 'fill-floor' of task 'fill-gap': expected a number of dB or off")
    }

    func testErrorsNameFileLineAndKeyWithSuggestions() {
        expect("name: x\nsteps:\n  - task: bwee\n", "p.yaml:3: unknown task 'bwee'; did you mean 'bwe'? (tasks: bwe, fill-gap, generate, embed, repair)")
        expect("name: x\nsteps:\n  - task: bwe\n    cutof: 4000\n", "p.yaml:4: unknown option 'cutof' for task 'bwe'; did you mean 'cutoff'? (options: cutoff, lfr, channels, prior, level-guard, fuse, above-8k, gain, rate)")
        expect("name: x\nsteps:\n  - task: bwe\n    lfr: maybe\n", "p.yaml:4: option 'lfr' of task 'bwe': expected true or false")
        expect("name: x\nsteps:\n  - task: bwe\n    cutoff: 20\n", "p.yaml:3: bwe: cutoff 20 Hz is outside 100…24000 Hz")
        expect("name: x\nsteps:\n  - task: fill-gap\n    detect: true\n    crossfade: later\n",
               "p.yaml:5: option 'crossfade' of task 'fill-gap': 'later' is not a time (e.g. 1.2s, 350ms, 1:02.5)")
        expect("name: x\nstep:\n  - task: bwe\n", "p.yaml:2: unknown key 'step'; did you mean 'steps'?")
        expect("name: x\nsteps:\n  - task: bwe\n    when: bandwith < 7000\n",
               "p.yaml:4: when: unknown field 'bandwith'; did you mean 'bandwidth'? (fields: bandwidth, channels, clipped, dropouts, duration, peak_dbfs, rms_dbfs, sample_rate)")
        expect("name: x\ndefaults:\n  iterations: 1000\nsteps:\n  - task: bwe\n", "p.yaml:3: 'iterations' must be a whole number between 1 and 256")
        expect("name: x\nsteps:\n  - task: embed\n", "p.yaml:3: task 'embed' writes no audio and cannot be a preset step")
        expect("name: x\nsteps: []\n", "p.yaml:2: 'steps' must be a non-empty list")
        expect("steps:\n  - task: bwe\n", "p.yaml:1: missing 'name'")
        expect("name: [x\n", "p.yaml:2: not valid YAML (parser: while parsing a flow sequence in line 1, column 7)")
    }

    func testShippedPresetsAreValid() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Presets").path
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") }
        XCTAssertGreaterThanOrEqual(files.count, 3)
        for f in files {
            let p = try Preset.load(path: folder + "/" + f)
            XCTAssertEqual(p.name + ".yaml", f)
            XCTAssertFalse(p.description.isEmpty)
        }
    }

    func testShardsPartitionTheInputs() {
        let inputs = (0..<50).map { BatchInput(path: "/in/f\($0).wav", relative: "sub\($0 % 4)/f\($0).wav") }
        let shards = (1...3).map { BatchInputs.shard(inputs, $0, of: 3) }
        XCTAssertEqual(shards.map(\.count).reduce(0, +), 50)
        XCTAssertEqual(Set(shards.flatMap { $0.map(\.relative) }), Set(inputs.map(\.relative)))
        XCTAssertTrue(shards.allSatisfy { $0.count >= 8 }, "\(shards.map(\.count))")
        XCTAssertThrowsError(try BatchInputs.parseShard("4/3")) { XCTAssertEqual("\($0)", "--shard '4/3' must be K/N with 1 ≤ K ≤ N (e.g. 2/3)") }
        XCTAssertTrue(try BatchInputs.parseShard("2/3") == (2, 3))
    }

    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Data(String(repeating: "a", count: 1000).utf8)),
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}

/// Limits checked before the YAML parser runs: anchors and aliases, nesting and size.
final class PresetLimitTests: XCTestCase {
    func expect(_ yaml: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Preset.parse(yaml, path: "p.yaml"), file: file, line: line) { e in
            XCTAssertEqual("\(e)", message, file: file, line: line)
        }
    }

    func testAnAliasBombIsRefusedBeforeExpansion() {
        var yaml = "name: bomb\na0: &a0 [x, x, x, x, x, x, x, x, x]\n"
        for i in 1..<12 { yaml += "a\(i): &a\(i) [*a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1)]\n" }
        yaml += "steps:\n  - task: bwe\n    cutoff: *a11\n"
        expect(yaml, "p.yaml:2: uses a YAML anchor ('&…'); presets do not allow anchors or aliases")
        expect("name: x\nsteps:\n  - task: bwe\n    cutoff: *big\n", "p.yaml:4: uses a YAML alias ('*…'); presets do not allow anchors or aliases")
    }

    func testDeepNestingIsRefusedWithoutRecursing() {
        expect("name: x\nsteps: " + String(repeating: "[", count: 100_000) + "\n", "p.yaml:2: nests deeper than 32 levels")
        expect("name: x\nsteps:\n" + String(repeating: "- ", count: 50_000) + "x\n", "p.yaml:3: nests deeper than 32 levels")
        var indented = "name: x\nsteps:\n"
        for i in 0..<40 { indented += String(repeating: " ", count: i + 1) + "- k\(i):\n" }
        expect(indented, "p.yaml:33: nests deeper than 32 levels")
    }

    func testSizeLimit() {
        expect("name: x\ndescription: " + String(repeating: "a", count: 300_000) + "\nsteps: []\n", "p.yaml:1: is 300032 bytes; presets are at most 256 KB")
    }

    /// Quotes, comments and '*' inside words are not aliases.
    func testOrdinaryTextPasses() throws {
        let p = try Preset.parse("""
        name: "a*b & c" # comment with *star and &amp
        description: 'it''s [not] {nested}'
        steps:
          - task: bwe
            cutoff: 4000
        """, path: "p.yaml")
        XCTAssertEqual(p.name, "a*b & c")
    }
}
