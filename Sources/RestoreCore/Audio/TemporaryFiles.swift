import Foundation

/// Temporary outputs in progress, so an interrupt handler can remove them before exiting.
///
/// The interrupt handler runs on its own thread while the workers go on, so removal is
/// serialised: a folder is removed only under the lock (`removeFolder`, `removeAll`), never
/// by a worker's cleanup and the handler at once.
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

    /// Removes a file or a folder tree; one already gone is not an error. FileManager removes
    /// symbolic links inside the tree without following them.
    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
