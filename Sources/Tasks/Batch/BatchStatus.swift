import Foundation
import RestoreCore

/// `restore manifest status` and `merge`: every manifest of an output folder read as one.
public enum BatchStatus {
    public struct Report: Codable, Sendable, Equatable {
        public var manifests: [String]
        public var done = 0, failed = 0
        /// Inputs given that no manifest mentions yet (nil when no inputs were given).
        public var pending: Int?
        /// Claims held by runs that may still be working.
        public var inProgress = 0
        public var audioHours = 0.0
        /// Processing time summed over files, and the span from the first start to the last finish.
        public var cpuHours = 0.0, wallHours = 0.0
        /// Audio hours per wall-clock hour over that span (all shards together).
        public var throughput = 0.0
        public var failures: [String] = []
        public var warnings: [String] = []
    }

    /// `inputs`: the listing the runs were given, to count what is pending (by relative path).
    public static func report(outputFolder: String, inputs: [BatchInput]? = nil) throws -> Report {
        let m = try BatchManifest(folder: outputFolder)
        var r = Report(manifests: BatchManifest.manifests(in: outputFolder).map { ($0 as NSString).lastPathComponent })
        r.warnings = m.warnings
        var first = Date.distantFuture, last = Date.distantPast
        for (input, rec) in m.latest {
            if rec.status == "done" { r.done += 1 } else { r.failed += 1; r.failures.append("\(input): \(rec.error ?? "failed")") }
        }
        for rec in m.latestDone.values {
            r.audioHours += (rec.audioSeconds ?? 0) / 3600
        }
        for rec in m.latest.values {
            r.cpuHours += rec.seconds / 3600
            if let end = BatchManifest.date(rec.finished) {
                first = min(first, end.addingTimeInterval(-rec.seconds))
                last = max(last, end)
            }
        }
        if last > first { r.wallHours = last.timeIntervalSince(first) / 3600 }
        if r.wallHours > 0 { r.throughput = r.audioHours / r.wallHours }
        if let inputs { r.pending = inputs.filter { m.latest[$0.relative] == nil }.count }
        r.inProgress = BatchClaims.live(outputFolder: outputFolder)
        r.failures.sort(by: BatchInputs.bytewiseLess)
        return r
    }

    public struct MergeResult: Sendable, Equatable {
        public var files: [String]
        public var records: Int
        public var warnings: [String]
    }

    /// Rewrites the folder's manifests as one `restore-manifest.jsonl`: the latest record of
    /// each input (and its latest done record when a failure followed it), in input order;
    /// the per-shard files are removed. Every manifest is locked meanwhile, so a shard still
    /// running waits and then appends to a fresh file of its own, which a later merge takes.
    public static func merge(outputFolder: String) throws -> MergeResult {
        let files = BatchManifest.manifests(in: outputFolder)
        let main = (outputFolder as NSString).appendingPathComponent(BatchManifest.fileName)
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        for f in (files.contains(main) ? files : files + [main]) {
            // Locked in name order (appenders hold one lock at a time: no deadlock).
            var fd: Int32 = -1
            for _ in 0..<20 {
                fd = open(f, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw RestoreError.writeFailed(path: f, reason: String(cString: strerror(errno))) }
                while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
                var a = stat(), b = stat()
                if fstat(fd, &a) == 0, stat(f, &b) == 0, a.st_ino == b.st_ino, a.st_dev == b.st_dev { break }
                close(fd); fd = -1
            }
            guard fd >= 0 else { throw RestoreError.writeFailed(path: f, reason: "the file keeps being replaced") }
            fds.append(fd)
        }
        let m = try BatchManifest(folder: outputFolder)
        let records = m.compacted()
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var data = Data()
        for r in records { data.append(try enc.encode(r)); data.append(0x0A) }
        let temp = (outputFolder as NSString).appendingPathComponent(".restore-manifest-merge-\(UUID().uuidString.prefix(8))")
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RestoreError.writeFailed(path: temp, reason: String(cString: strerror(errno))) }
        do { try BatchManifest.writeAll(fd, data, path: temp) } catch { close(fd); unlink(temp); throw error }
        fsync(fd)
        close(fd)
        guard rename(temp, main) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw RestoreError.writeFailed(path: main, reason: reason)
        }
        for f in files where f != main { unlink(f) }
        let dir = open(outputFolder, O_RDONLY | O_CLOEXEC)
        if dir >= 0 { fsync(dir); close(dir) }
        return MergeResult(files: files.map { ($0 as NSString).lastPathComponent }, records: records.count, warnings: m.warnings)
    }
}
