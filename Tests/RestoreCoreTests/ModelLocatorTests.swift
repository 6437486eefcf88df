import XCTest
@testable import RestoreCore

/// Where models are looked for, in order: the user's word first, then the folder they are in,
/// then an installed copy beside the binary, then the checkout the binary was built in.
final class ModelLocatorTests: XCTestCase {
    func testSearchOrder() {
        let dirs = ModelLocator.searchFolders(named: "Models", environmentValue: "/env/Models", currentDirectory: "/work/here",
                                              executable: "/opt/restore/bin/restore")
        XCTAssertEqual(dirs, ["/env/Models", "/work/here/Models", "/opt/restore/share/restore/Models",
                              "/opt/restore/Models", "/opt/Models", "/Models"])
    }

    func testABuildInACheckoutFindsTheCheckoutsModels() {
        let dirs = ModelLocator.searchFolders(named: "Models", environmentValue: nil, currentDirectory: "/tmp",
                                              executable: "/src/restore/.build/release/restore")
        XCTAssertEqual(dirs.first, "/tmp/Models")
        XCTAssertTrue(dirs.contains("/src/restore/Models"))
        XCTAssertLessThan(dirs.firstIndex(of: "/src/restore/.build/share/restore/Models")!, dirs.firstIndex(of: "/src/restore/Models")!)
    }

    func testAnEmptyEnvironmentValueIsIgnored() {
        let dirs = ModelLocator.searchFolders(named: "Presets", environmentValue: "", currentDirectory: "/w", executable: "/p/bin/restore")
        XCTAssertEqual(dirs.prefix(2), ["/w/Presets", "/p/share/restore/Presets"])
    }

    func testTheMissingModelHintNamesNoFlag() {
        // Which flag applies depends on the command (bwe has --model, tokenize --tokenizer).
        for hint in [ModelLocator.modelHint, ModelLocator.pretrainedHint] {
            XCTAssertFalse(hint.contains("--"), hint)
            XCTAssertTrue(hint.contains("RESTORE_MODELS"), hint)
        }
    }
}
