import Foundation

/// Temporary outputs in progress, so an interrupt handler can remove them before exiting.
///
/// The interrupt handler runs on its own thread while the workers go on, so removal is
/// serialised: a folder is removed only under the lock (`removeFolder`, `removeAll`), never
/// by a worker's cleanup and the handler at once, and with plain POSIX calls that treat an
/// entry already gone as removed.
public final class TemporaryFiles: @unchecked Sendable {
    public static let shared = TemporaryFiles()
    private var paths = Set<String>(), folders = Set<String>()
    private var closed = false
    private let lock = NSLock()

    /// Called before the file is made. After `removeAll()` the process is exiting: the
    /// calling worker is parked until it does, so it never starts a file nobody would remove.
    func register(_ p: String) {
        lock.lock()
        if closed { lock.unlock(); Self.park() }
        paths.insert(p)
        lock.unlock()
    }
    /// A folder may be registered just after it is made (`mkdtemp`): after `removeAll()` it is
    /// removed before the worker is parked.
    public func registerFolder(_ p: String) {
        lock.lock()
        if closed { Self.removeTree(p); lock.unlock(); Self.park() }
        folders.insert(p)
        lock.unlock()
    }

    private static func park() -> Never {
        while true { sleep(60) }
    }
    public func unregister(_ p: String) { lock.lock(); paths.remove(p); folders.remove(p); lock.unlock() }

    /// Removes a registered folder and forgets it (a worker's cleanup).
    public func removeFolder(_ p: String) {
        lock.lock(); defer { lock.unlock() }
        folders.remove(p)
        Self.removeTree(p)
    }

    /// Removes every registered file and folder (on SIGINT/SIGTERM, before exit).
    public func removeAll() {
        lock.lock(); defer { lock.unlock() }
        closed = true
        for p in paths { unlink(p) }
        for f in folders { Self.removeTree(f) }
        paths.removeAll()
        folders.removeAll()
    }

    /// `rm -rf` with POSIX calls: files are unlinked, folders emptied then removed; symbolic
    /// links are removed, never followed. A path that is already gone is not an error.
    static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if let dir = opendir(path) {
                var names: [String] = []
                while let entry = readdir(dir) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
                    }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(dir)
                for name in names { removeTree(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
