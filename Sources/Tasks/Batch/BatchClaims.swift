import Foundation
import RestoreCore

/// Who works on which output: before a file is processed, its output path is claimed by an
/// exclusive `flock` on `OUT/.restore-claims/<hash>`. The kernel (or the NFSv4 lock manager)
/// drops the lock when the process dies however it dies, so a claim can never outlive its
/// owner; two `restore run`s on one output folder (shards, or a run started twice) never
/// both process a file. A claim is removed when its record is in the manifest.
///
/// A claim file left with content by a dead owner says that owner was working on the output:
/// the output may be a finished but unrecorded result of that run, so the next owner may
/// replace it (`previousOwnerDied`).
public final class BatchClaims: @unchecked Sendable {
    public static let folderName = ".restore-claims"
    public let folder: String

    struct Held { var fd: Int32; var path: String; var published: Bool }
    private var held: [String: Held] = [:]
    private let lock = NSLock()

    public init(outputFolder: String) {
        folder = (outputFolder as NSString).appendingPathComponent(Self.folderName)
        Registry.add(self)
    }

    public enum Outcome: Equatable {
        case claimed(previousOwnerDied: Bool)
        /// Another live process holds it ("host pid N").
        case busy(owner: String)
    }

    func file(for output: String) -> String {
        (folder as NSString).appendingPathComponent(String(SHA256.hex(Data(output.utf8)).prefix(32)))
    }

    public func claim(_ output: String, input: String) throws -> Outcome {
        let path = file(for: output)
        for _ in 0..<20 {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            if fd < 0 {
                if errno == ENOENT { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true); continue }
                throw RestoreError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            // A sweep holds a free claim's lock for an instant: retry briefly before "busy".
            var locked = flock(fd, LOCK_EX | LOCK_NB) == 0
            for _ in 0..<5 where !locked {
                usleep(20_000)
                locked = flock(fd, LOCK_EX | LOCK_NB) == 0
            }
            if !locked {
                let owner = Self.owner(fd: fd)
                close(fd)
                return .busy(owner: owner.map { "\($0.host) pid \($0.pid)" } ?? "another run")
            }
            // Locked; but a finishing owner may have removed the path meanwhile.
            var a = stat(), b = stat()
            if fstat(fd, &a) != 0 || stat(path, &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev { close(fd); continue }
            let previous = Self.owner(fd: fd) != nil
            let text = "{\"host\":\"\(Self.host)\",\"pid\":\(getpid()),\"input\":\(Self.quoted(input)),\"output\":\(Self.quoted(output))}\n"
            ftruncate(fd, 0)
            _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
            lock.lock(); held[output] = Held(fd: fd, path: path, published: false); lock.unlock()
            return .claimed(previousOwnerDied: previous)
        }
        throw RestoreError.writeFailed(path: path, reason: "claim file keeps being replaced")
    }

    /// The output is about to be renamed into place: from here an interruption leaves the
    /// claim file behind, so the next run knows the output is a (possibly unrecorded) result.
    public func publishing(_ output: String) {
        lock.lock(); held[output]?.published = true; lock.unlock()
    }

    /// The manifest has the record: remove the claim (unlinked while still locked, so whoever
    /// opened the old file sees it was replaced).
    public func release(_ output: String) {
        lock.lock(); defer { lock.unlock() }
        guard let h = held.removeValue(forKey: output) else { return }
        unlink(h.path)
        close(h.fd)
    }

    /// Removes the claims folder when no claim is left in it (other runs recreate it).
    public func finish() {
        lock.lock(); defer { lock.unlock() }
        if held.isEmpty { rmdir(folder) }
    }

    /// On SIGINT/SIGTERM: claims on outputs not yet being published are removed (nothing of
    /// theirs is on disk); the others stay, marked by their content, for the next run.
    public static func interrupted() {
        for c in Registry.all() {
            c.lock.lock()
            for (_, h) in c.held where !h.published { unlink(h.path) }
            let empty = c.held.values.allSatisfy { !$0.published }
            c.lock.unlock()
            if empty { rmdir(c.folder) }
        }
    }

    /// Removes claim files nobody holds (their owner died after its record was written, or
    /// before it wrote anything) unless `keep(input, output)`: a dead owner's claim on an
    /// output that exists but is not recorded tells the next owner it may replace it.
    /// Each is locked before it is unlinked, so no live claim is ever removed.
    @discardableResult
    public func sweep(keep: (_ input: String, _ output: String) -> Bool) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var removed = 0
        for name in names {
            let path = (folder as NSString).appendingPathComponent(name)
            let fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            var a = stat(), b = stat()
            guard fstat(fd, &a) == 0, stat(path, &b) == 0, a.st_ino == b.st_ino, a.st_dev == b.st_dev else { continue }
            if let (input, output) = Self.subject(fd: fd), keep(input, output) { continue }
            if unlink(path) == 0 { removed += 1 }
        }
        if removed > 0 { rmdir(folder) }
        return removed
    }

    static func subject(fd: Int32) -> (String, String)? {
        var buf = [UInt8](repeating: 0, count: 8192)
        let n = pread(fd, &buf, buf.count, 0)
        guard n > 0, let o = try? JSONSerialization.jsonObject(with: Data(buf[0..<n])) as? [String: Any],
              let input = o["input"] as? String, let output = o["output"] as? String else { return nil }
        return (input, output)
    }

    // MARK: - Looking at claims without taking them (status, the stale-file sweep)

    public struct Owner: Equatable { public var host: String; public var pid: Int32 }

    static func owner(fd: Int32) -> Owner? {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = pread(fd, &buf, buf.count, 0)
        guard n > 0, let o = try? JSONSerialization.jsonObject(with: Data(buf[0..<n])) as? [String: Any],
              let host = o["host"] as? String, let pid = (o["pid"] as? NSNumber)?.int32Value else { return nil }
        return Owner(host: host, pid: pid)
    }

    /// Whether a claim file's owner may still be running: this host's owners are checked by
    /// PID; another host's are assumed alive. Reading does not lock, so a claimer is never
    /// disturbed by a look.
    public static func mayBeAlive(claimFile path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard let o = owner(fd: fd) else { return true }   // being written
        if o.host != host { return true }
        return kill(pid_t(o.pid), 0) == 0 || errno == EPERM
    }

    /// Claim files of this folder whose owners may still be running.
    public static func live(outputFolder: String) -> Int {
        let f = (outputFolder as NSString).appendingPathComponent(folderName)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: f)) ?? []
        return names.filter { mayBeAlive(claimFile: (f as NSString).appendingPathComponent($0)) }.count
    }

    static let host: String = {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, buf.count)
        return String(cString: buf)
    }()

    static func quoted(_ s: String) -> String {
        (try? String(decoding: JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes]), as: UTF8.self))
            .map { String($0.dropFirst().dropLast()) } ?? "\"\""
    }

    private enum Registry {
        static let lock = NSLock()
        nonisolated(unsafe) static var claims: [BatchClaims] = []
        static func add(_ c: BatchClaims) { lock.lock(); claims.append(c); lock.unlock() }
        static func all() -> [BatchClaims] { lock.lock(); defer { lock.unlock() }; return claims }
    }
}

/// Leftovers of runs that were killed (SIGKILL, a node lost): hidden temporary outputs and
/// work folders. Only the project's own names are touched, and only when no live process
/// can own them.
public enum BatchSweep {
    /// The output a temporary file of this project's writers stands for: `.restore-<pid>-<hex
    /// tag>-<name>` (OutputGuard), or `.restore-<8 hex digits>-<name>` (older versions).
    public static func temporaryTarget(_ name: String) -> String? {
        let prefix = OutputGuard.temporaryPrefix
        guard name.hasPrefix(prefix) else { return nil }
        let rest = Substring(name.utf8.dropFirst(prefix.utf8.count))
        func isHex(_ s: Substring.UTF8View.SubSequence) -> Bool {
            s.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x46).contains($0) || (0x61...0x66).contains($0) }
        }
        let parts = rest.utf8.split(separator: UInt8(ascii: "-"), maxSplits: 2, omittingEmptySubsequences: false)
        if parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy({ (0x30...0x39).contains($0) }),
           (1...8).contains(parts[1].count), isHex(parts[1]), !parts[2].isEmpty {
            return String(decoding: parts[2], as: UTF8.self)
        }
        let u = Array(rest.utf8)
        guard u.count > 9, isHex(rest.utf8.prefix(8)), u[8] == UInt8(ascii: "-") else { return nil }
        return String(decoding: u[9...], as: UTF8.self)
    }

    public static func isWorkFolder(_ name: String) -> Bool {
        name.hasPrefix(PresetPipeline.workPrefix) && name.count == PresetPipeline.workPrefix.count + 8
    }

    /// Removes, under `outputFolder`: claims nobody holds (see `BatchClaims.sweep`), work
    /// folders whose owner's lock is free (their owner is dead; ones of older versions,
    /// without a lock, when untouched for `minimumAge`), and temporary outputs untouched for
    /// `minimumAge` whose output nobody alive has claimed.
    /// Returns the paths removed.
    @discardableResult
    public static func run(outputFolder: String, claims: BatchClaims, manifest: BatchManifest? = nil, minimumAge: TimeInterval = 300) -> [String] {
        let fm = FileManager.default
        // Claims left by dead owners: kept only where they protect an unrecorded output.
        claims.sweep { input, output in
            let recorded = manifest?.latestDone[input]?.output == output
            return !recorded && fm.fileExists(atPath: (outputFolder as NSString).appendingPathComponent(output))
        }
        guard let e = fm.enumerator(atPath: outputFolder) else { return [] }
        var removed: [String] = []
        let now = Date()
        func age(_ p: String) -> TimeInterval {
            var st = stat()
            guard lstat(p, &st) == 0 else { return 0 }
            return now.timeIntervalSince1970 - Double(st.st_mtim.tv_sec)
        }
        while let rel = e.nextObject() as? String {
            let name = (rel as NSString).lastPathComponent
            guard name.hasPrefix(".") else { continue }
            let full = (outputFolder as NSString).appendingPathComponent(rel)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: full, isDirectory: &isDir) else { continue }
            if isDir.boolValue {
                e.skipDescendants()
                if name.hasPrefix(PresetPipeline.workPrefix) && name.hasSuffix(".new") {
                    // A work folder still being made (a run killed in that instant): by age.
                    if newest(full) > minimumAge { try? fm.removeItem(atPath: full); removed.append(full) }
                    continue
                }
                guard isWorkFolder(name) else { continue }
                let lockFile = (full as NSString).appendingPathComponent(PresetPipeline.workLock)
                let fd = open(lockFile, O_RDWR | O_CLOEXEC)
                if fd >= 0 {
                    // Its lock is held from before the folder had this name: free means dead.
                    if flock(fd, LOCK_EX | LOCK_NB) == 0 { try? fm.removeItem(atPath: full); removed.append(full) }
                    close(fd)
                } else if newest(full) > minimumAge {
                    // Older versions' work folders have no lock: by age.
                    try? fm.removeItem(atPath: full); removed.append(full)
                }
                continue
            }
            guard let target = temporaryTarget(name) else { continue }
            let output = ((rel as NSString).deletingLastPathComponent as NSString).appendingPathComponent(target)
            guard age(full) > minimumAge, !BatchClaims.mayBeAlive(claimFile: claims.file(for: output)) else { continue }
            if unlink(full) == 0 { removed.append(full) }
        }
        return removed
    }

    /// Temporary outputs for exactly `target` (an output this process has just claimed, so no
    /// other run is writing it): leftovers of a killed run, removed whatever their age.
    @discardableResult
    public static func temporaries(of target: String) -> [String] {
        let folder = (target as NSString).deletingLastPathComponent, name = (target as NSString).lastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var removed: [String] = []
        for n in names where temporaryTarget(n) == name {
            let p = (folder as NSString).appendingPathComponent(n)
            if unlink(p) == 0 { removed.append(p) }
        }
        return removed
    }

    /// Seconds since anything in a folder tree was modified.
    static func newest(_ folder: String) -> TimeInterval {
        var latest = 0.0
        var st = stat()
        if lstat(folder, &st) == 0 { latest = Double(st.st_mtim.tv_sec) }
        for rel in FileManager.default.subpaths(atPath: folder) ?? [] {
            if lstat((folder as NSString).appendingPathComponent(rel), &st) == 0 { latest = max(latest, Double(st.st_mtim.tv_sec)) }
        }
        return Date().timeIntervalSince1970 - latest
    }
}
