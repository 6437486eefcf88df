import Foundation
import XCTest

/// The README shows what `--plot` draws with docs/bwe-plot.png: its bwe example's plot of
/// Examples/chords-lowpass-4k.flac. The image follows the model, so it is not compared;
/// remake it after a model or plot change with
/// `UPDATE_GOLDEN=1 swift test --filter ReadmePlotTests` (runs bwe, about 40 s).
final class ReadmePlotTests: XCTestCase {
    static let image = CLI.repository.appendingPathComponent("docs/bwe-plot.png")

    func testReadmeShowsThePlotOfItsBweExample() throws {
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("restore-readme-plot-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let example = CLI.repository.appendingPathComponent("Examples/chords-lowpass-4k.flac").path
            let r = try CLI.run(["bwe", "--lfr", example, "-o", folder + "/", "--plot", Self.image.path, "--overwrite", "--quiet"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let readme = try String(contentsOf: CLI.repository.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(readme.contains("--plot out/bwe.png"), "the README's bwe example makes the plot it shows")
        XCTAssertTrue(readme.contains("](docs/bwe-plot.png)"), "the README shows docs/bwe-plot.png")
        let png = try Data(contentsOf: Self.image)
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }
}
