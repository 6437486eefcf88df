import Foundation
import XCTest

/// `--help` output is part of the interface: the worked examples must stay true.
/// Regenerate after an intended change with `UPDATE_GOLDEN=1 swift test --filter HelpGoldenTests`.
final class HelpGoldenTests: XCTestCase {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    func check(_ args: [String], _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLI.run(args)
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        let path = HelpGoldenTests.golden.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try r.stdout.write(to: path, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: path, encoding: .utf8)
        XCTAssertEqual(r.stdout, expected, "help for \(args) changed; see \(path.path)", file: file, line: line)
    }

    func testRootHelp() throws { try check(["--help"], "restore.help.txt") }
    func testInfoHelp() throws { try check(["info", "--help"], "info.help.txt") }
    func testVocodeHelp() throws { try check(["vocode", "--help"], "vocode.help.txt") }
    func testTokenizeHelp() throws { try check(["tokenize", "--help"], "tokenize.help.txt") }
    func testBweHelp() throws { try check(["bwe", "--help"], "bwe.help.txt") }
    func testFillGapHelp() throws { try check(["fill-gap", "--help"], "fill-gap.help.txt") }
    func testRepairHelp() throws { try check(["repair", "--help"], "repair.help.txt") }
    func testGenerateHelp() throws { try check(["generate", "--help"], "generate.help.txt") }
    func testEmbedHelp() throws { try check(["embed", "--help"], "embed.help.txt") }
    func testRunHelp() throws { try check(["run", "--help"], "run.help.txt") }
    func testManifestHelp() throws {
        try check(["manifest", "--help"], "manifest.help.txt")
        try check(["manifest", "status", "--help"], "manifest-status.help.txt")
        try check(["manifest", "merge", "--help"], "manifest-merge.help.txt")
    }
    func testPresetsHelp() throws { try check(["presets", "--help"], "presets.help.txt") }
    func testProbeHelp() throws { try check(["probe", "--help"], "probe.help.txt") }
}
