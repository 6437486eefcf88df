import Foundation

/// Finds model files: an explicit path, then $RESTORE_MODELS, then ./Models, then the
/// Models folder of the checkout the binary was built in (.build/<config>/restore → ../../Models).
public enum ModelLocator {
    public static func candidates(explicit: String?) -> [String] {
        if let explicit { return [explicit] }
        return searchFolders(named: "Models", environment: "RESTORE_MODELS")
    }

    /// `$environment`, then ./name, then `name` in the checkout the binary was built in.
    public static func searchFolders(named name: String, environment: String) -> [String] {
        var dirs: [String] = []
        if let env = ProcessInfo.processInfo.environment[environment], !env.isEmpty { dirs.append(env) }
        dirs.append(FileManager.default.currentDirectoryPath + "/" + name)
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            dir = dir.deletingLastPathComponent()
            dirs.append(dir.appendingPathComponent(name).path)
        }
        var seen = Set<String>()
        return dirs.filter { seen.insert(URL(fileURLWithPath: $0).standardizedFileURL.path).inserted }
    }

    /// The vocoder weights (pretrained, converted at set-up).
    public static func vocoder(explicit: String? = nil) throws -> String {
        try find("pretrained/hifigan-universal.safetensors", explicit: explicit, hint: "run scripts/fetch-pretrained or set RESTORE_MODELS")
    }

    /// The MiniLM text encoder (pretrained, converted at set-up).
    public static func textEncoder(explicit: String? = nil) throws -> String {
        try find("pretrained/minilm.safetensors", explicit: explicit, hint: "run scripts/fetch-pretrained or set RESTORE_MODELS")
    }

    /// The project's trained tokenizer (committed under Models/default).
    public static func tokenizer(explicit: String? = nil) throws -> String {
        try find("default/tokenizer.safetensors", explicit: explicit, hint: "pass --tokenizer or set RESTORE_MODELS")
    }

    /// The project's trained transformer (committed under Models/default).
    public static func transformer(explicit: String? = nil) throws -> String {
        try find("default/transformer.safetensors", explicit: explicit, hint: "pass --model or set RESTORE_MODELS")
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
