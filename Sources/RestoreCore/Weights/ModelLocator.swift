import Foundation

/// Finds model files: an explicit path, then $RESTORE_MODELS, then ./Models, then the
/// installed copy beside the binary (`make install`: PREFIX/bin/restore →
/// PREFIX/share/restore/Models), then the Models folder of the checkout the binary was built
/// in (.build/<config>/restore → ../../Models).
public enum ModelLocator {
    public static func candidates(explicit: String?) -> [String] {
        if let explicit { return [explicit] }
        return searchFolders(named: "Models", environment: "RESTORE_MODELS")
    }

    /// `$environment`, then ./name, then PREFIX/share/restore/name for a binary in PREFIX/bin,
    /// then `name` in the checkout the binary was built in (up to four folders above it).
    public static func searchFolders(named name: String, environment: String) -> [String] {
        searchFolders(named: name, environmentValue: ProcessInfo.processInfo.environment[environment],
                      currentDirectory: FileManager.default.currentDirectoryPath, executable: executablePath())
    }

    /// The search order, from explicit values (tests give their own).
    public static func searchFolders(named name: String, environmentValue: String?, currentDirectory: String, executable: String) -> [String] {
        var dirs: [String] = []
        if let env = environmentValue, !env.isEmpty { dirs.append(env) }
        dirs.append((currentDirectory as NSString).appendingPathComponent(name))
        let binFolder = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        dirs.append(binFolder.deletingLastPathComponent().appendingPathComponent("share/restore/\(name)").path)
        var dir = binFolder
        for _ in 0..<4 {
            dir = dir.deletingLastPathComponent()
            dirs.append(dir.appendingPathComponent(name).path)
        }
        var seen = Set<String>()
        return dirs.filter { seen.insert(URL(fileURLWithPath: $0).standardizedFileURL.path).inserted }
    }

    /// This process's binary: /proc/self/exe where there is one, since argv[0] is only a
    /// name when the binary was found through PATH.
    static func executablePath() -> String {
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return resolved }
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
    }

    /// The vocoder weights (pretrained, converted at set-up).
    public static func vocoder(explicit: String? = nil) throws -> String {
        try find("pretrained/hifigan-universal.safetensors", explicit: explicit, hint: pretrainedHint)
    }

    /// The MiniLM text encoder (pretrained, converted at set-up).
    public static func textEncoder(explicit: String? = nil) throws -> String {
        try find("pretrained/minilm.safetensors", explicit: explicit, hint: pretrainedHint)
    }

    /// The project's trained tokenizer (committed under Models/default).
    public static func tokenizer(explicit: String? = nil) throws -> String {
        try find("default/tokenizer.safetensors", explicit: explicit, hint: modelHint)
    }

    /// The project's trained transformer (committed under Models/default).
    public static func transformer(explicit: String? = nil) throws -> String {
        try find("default/transformer.safetensors", explicit: explicit, hint: modelHint)
    }

    /// A model folder holding tokenizer.safetensors and transformer.safetensors (`--model DIR`),
    /// or the shipped default.
    public static func modelFiles(directory: String?) throws -> (tokenizer: String, transformer: String) {
        guard let directory else { return (try tokenizer(), try transformer()) }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) else { throw RestoreError.fileNotFound(path: directory) }
        guard isDir.boolValue else {
            throw RestoreError.invalidArgument("--model \(directory): expected a folder holding tokenizer.safetensors and transformer.safetensors")
        }
        let t = directory + "/tokenizer.safetensors", m = directory + "/transformer.safetensors"
        for f in [t, m] where !FileManager.default.fileExists(atPath: f) { throw RestoreError.fileNotFound(path: f) }
        return (t, m)
    }

    // The hints name no flag: the commands that reach here differ in which they have
    // (bwe has --model, tokenize --tokenizer); each command's --help lists its own.
    static let modelHint = "set RESTORE_MODELS to a folder holding default/ and pretrained/, or run make install in the checkout"
    static let pretrainedHint = "run scripts/fetch-pretrained (then make install) in the checkout, or set RESTORE_MODELS to a folder holding pretrained/"

    static func find(_ relative: String, explicit: String?, hint: String) throws -> String {
        if let explicit {
            guard FileManager.default.fileExists(atPath: explicit) else { throw RestoreError.fileNotFound(path: explicit) }
            return explicit
        }
        let dirs = candidates(explicit: nil)
        for d in dirs where FileManager.default.fileExists(atPath: d + "/" + relative) { return d + "/" + relative }
        throw RestoreError.invalidArgument("\(relative) not found in \(dirs.joined(separator: ", ")); \(hint)")
    }
}
