import Foundation

/// The one gate every file `restore` writes passes through (audio, token grids, embeddings,
/// probes, plots): an input is never written, two outputs of one call never share a path,
/// and the final rename never replaces a file that appeared while the work ran, unless the
/// user asked for `--overwrite`. Checks run before any work so a clash costs nothing.
public enum OutputGuard {
    /// Hidden temporary files start with this, then the writer's process id: `.restore-<pid>-<tag>-<name>`.
    public static let temporaryPrefix = ".restore-"

    /// The path with symbolic links and `..` resolved; for a file that does not exist yet,
    /// its resolved folder plus its name (so `out/x.wav` and `./out/../out/x.wav` compare equal).
    public static func canonicalPath(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if let r = realpath(url.path, nil) { defer { free(r) }; return String(cString: r) }
        let parent = url.deletingLastPathComponent().path
        if let r = realpath(parent, nil) {
            defer { free(r) }
            return (String(cString: r) as NSString).appendingPathComponent(url.lastPathComponent)
        }
        return url.path
    }

    /// True when both paths name the same file (same device and inode), or resolve alike.
    public static func samePath(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        if stat(a, &sa) == 0 && stat(b, &sb) == 0 { return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino }
        return canonicalPath(a) == canonicalPath(b)
    }

    /// Checks one output before any work: not a folder, not one of `inputs`, and absent
    /// unless `overwrite`.
    public static func check(_ path: String, inputs: [String], overwrite: Bool) throws {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
        if exists && isDir.boolValue { throw RestoreError.isDirectory(path: path) }
        if inputs.contains(where: { samePath($0, path) }) { throw RestoreError.wouldOverwriteInput(path: path) }
        if exists && !overwrite { throw RestoreError.outputExists(path: path) }
    }

    /// Checks every output of one call together: each as in `check`, and no two the same file.
    public static func checkAll(_ paths: [String], inputs: [String], overwrite: Bool) throws {
        var seen: [String: String] = [:]
        for p in paths {
            try check(p, inputs: inputs, overwrite: overwrite)
            let key = canonicalPath(p)
            if let first = seen[key] { throw RestoreError.outputClash(path: p, other: first) }
            seen[key] = p
        }
    }

    /// A hidden temporary name beside `path` (same folder, so the final rename is atomic).
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return url.deletingLastPathComponent().path + "/\(temporaryPrefix)\(getpid())-\(tag)-" + url.lastPathComponent
    }

    /// Moves a finished temporary file into place. Without `overwrite` the move cannot replace
    /// a file that appeared since the checks (a hard link fails if the name exists; the
    /// temporary is then removed and nothing is lost). With `overwrite`, an atomic rename.
    public static func commit(temporary: String, to path: String, overwrite: Bool) throws {
        if overwrite {
            guard rename(temporary, path) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw RestoreError.writeFailed(path: path, reason: reason)
            }
            return
        }
        if link(temporary, path) == 0 { unlink(temporary); return }
        let e = errno
        if e == EEXIST { unlink(temporary); throw RestoreError.outputExists(path: path) }
        // File systems without hard links: check, then rename (a narrow window remains there).
        if e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == EMLINK || e == ENOSYS {
            if access(path, F_OK) == 0 { unlink(temporary); throw RestoreError.outputExists(path: path) }
            if rename(temporary, path) == 0 { return }
        }
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw RestoreError.writeFailed(path: path, reason: reason)
    }

    /// Writes `data` to `path` through a temporary file: checked first, committed last.
    public static func write(_ data: Data, to path: String, inputs: [String] = [], overwrite: Bool) throws {
        try check(path, inputs: inputs, overwrite: overwrite)
        let folder = (path as NSString).deletingLastPathComponent
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.isEmpty ? "." : folder, isDirectory: &isDir), isDir.boolValue else {
            throw RestoreError.writeFailed(path: path, reason: "folder \(folder) does not exist")
        }
        removeStaleTemporaries(in: folder.isEmpty ? "." : folder)
        let temp = temporaryPath(for: path)
        TemporaryFiles.shared.register(temp)
        defer { TemporaryFiles.shared.unregister(temp) }
        do { try data.write(to: URL(fileURLWithPath: temp)) } catch {
            unlink(temp)
            throw RestoreError.writeFailed(path: path, reason: error.localizedDescription)
        }
        try commit(temporary: temp, to: path, overwrite: overwrite)
    }

    /// Removes this project's temporary files that a killed process left in `folder`
    /// (`kill -9`, power loss): names `.restore-<pid>-…` whose process is gone and that
    /// were not modified for `minimumAge` seconds (a live writer on another machine of a
    /// shared folder keeps its file fresh). Other files are never touched.
    @discardableResult
    public static func removeStaleTemporaries(in folder: String, minimumAge: TimeInterval = 600, now: Date = Date()) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(temporaryPrefix) {
            let rest = name.dropFirst(temporaryPrefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid > 0 else { continue }
            let path = (folder as NSString).appendingPathComponent(name)
            var st = stat()
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            let age = now.timeIntervalSince1970 - Double(st.st_mtim.tv_sec)
            let alive = pid == getpid() || kill(pid, 0) == 0 || errno == EPERM
            if !alive && age >= minimumAge, unlink(path) == 0 { removed.append(path) }
        }
        return removed
    }
}
