import Foundation
import RestoreCore

/// The built-in presets: Presets/*.yaml found in $RESTORE_PRESETS, ./Presets, or the
/// checkout the binary was built in.
public enum PresetLibrary {
    public static func folder() -> String? {
        ModelLocator.searchFolders(named: "Presets", environment: "RESTORE_PRESETS").first {
            var d: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &d) && d.boolValue
        }
    }

    /// Name → file, sorted by name.
    public static func all() -> [(name: String, path: String)] {
        guard let f = folder(), let files = try? FileManager.default.contentsOfDirectory(atPath: f) else { return [] }
        return files.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
            .map { ((($0 as NSString).deletingPathExtension), (f as NSString).appendingPathComponent($0)) }
    }

    /// A path, or the name of a built-in preset.
    public static func resolve(_ nameOrPath: String) throws -> String {
        if FileManager.default.fileExists(atPath: nameOrPath) { return nameOrPath }
        if let hit = all().first(where: { $0.name == nameOrPath }) { return hit.path }
        if nameOrPath.hasSuffix(".yaml") || nameOrPath.hasSuffix(".yml") || nameOrPath.contains("/") {
            throw RestoreError.fileNotFound(path: nameOrPath)
        }
        throw RestoreError.invalidArgument("no preset named '\(nameOrPath)'\(Suggest.didYouMean(nameOrPath, all().map(\.name))) (see `restore presets`)")
    }
}
