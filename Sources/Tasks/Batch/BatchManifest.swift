import Foundation
import RestoreCore

/// The batch manifest: one JSON line per finished file, in the output folder. An unsharded
/// run appends to `restore-manifest.jsonl`, shard K of N to `restore-manifest.K-of-N.jsonl`
/// (one writer per file, which a network filesystem needs); every run, `restore manifest
/// merge` and `restore manifest status` read all of them.
///
/// Damage is survived, not trusted: a line that is not valid UTF-8 or not a record (torn by a
/// crash, edited by hand) is skipped with a warning naming the file and line; the latest
/// record of a file wins (by its `finished` time, then by reading order); a torn last line is
/// newline-terminated before the next record is appended, so it cannot swallow it.
public final class BatchManifest: @unchecked Sendable {
    public struct Record: Codable, Sendable, Equatable {
        public var input: String
        public var status: String          // "done" or "failed"
        public var inputSHA256: String
        public var presetSHA256: String
        public var output: String?
        public var steps: [String]
        public var seconds: Double
        public var error: String?
        public var finished: String
        /// Duration of the output (absent in records of older versions).
        public var audioSeconds: Double?

        public init(input: String, status: String, inputSHA256: String, presetSHA256: String, output: String? = nil,
                    steps: [String] = [], seconds: Double = 0, error: String? = nil, finished: String = "", audioSeconds: Double? = nil) {
            self.input = input
            self.status = status
            self.inputSHA256 = inputSHA256
            self.presetSHA256 = presetSHA256
            self.output = output
            self.steps = steps
            self.seconds = seconds
            self.error = error
            self.finished = finished
            self.audioSeconds = audioSeconds
        }
    }

    public static let fileName = "restore-manifest.jsonl"

    /// `restore-manifest.jsonl`, or `restore-manifest.K-of-N.jsonl` for shard K of N.
    public static func fileName(shard: (Int, Int)?) -> String {
        guard let (k, n) = shard else { return fileName }
        return "restore-manifest.\(k)-of-\(n).jsonl"
    }

    /// Any manifest a run may have written: `restore-manifest.jsonl` or `restore-manifest.*.jsonl`.
    public static func isManifestName(_ name: String) -> Bool {
        name.hasPrefix("restore-manifest.") && name.hasSuffix(".jsonl") && !name.hasPrefix(".")
    }

    /// The manifests in a folder, in name order.
    public static func manifests(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter(isManifestName).sorted { BatchInputs.bytewiseLess($0, $1) }
            .map { (folder as NSString).appendingPathComponent($0) }
    }

    public let folder: String
    /// The file this run appends to.
    public let path: String
    /// The latest record of each input, and the latest "done" one.
    public private(set) var latest: [String: Record] = [:]
    public private(set) var latestDone: [String: Record] = [:]
    /// One line per skipped line: "FILE:LINE: reason".
    public private(set) var warnings: [String] = []

    private var order: [String: (Date, Int)] = [:], doneOrder: [String: (Date, Int)] = [:]
    private var sequence = 0
    private struct Cursor { var offset = 0; var line = 0 }
    private var cursors: [String: Cursor] = [:]
    private var warned = Set<String>()
    private let lock = NSLock()

    public init(folder: String, shard: (Int, Int)? = nil) throws {
        self.folder = folder
        path = (folder as NSString).appendingPathComponent(Self.fileName(shard: shard))
        refresh()
        // A torn last line is only visible as such once nothing can still complete it.
        for (file, c) in cursors.sorted(by: { $0.key < $1.key }) {
            var st = stat()
            guard stat(file, &st) == 0, Int(st.st_size) > c.offset else { continue }
            warn(file, c.line + 1, "truncated record skipped")
            if let h = FileHandle(forReadingAtPath: file) {
                if (try? h.seek(toOffset: UInt64(c.offset))) != nil, let tail = try? h.readToEnd(), let text = String(data: tail, encoding: .utf8) { salvage(text) }
                try? h.close()
            }
        }
    }

    /// Reads what was appended to any manifest since the last call (whole lines only).
    public func refresh() {
        lock.lock(); defer { lock.unlock() }
        for file in Self.manifests(in: folder) { read(file) }
    }

    private func read(_ file: String) {
        var c = cursors[file] ?? Cursor()
        guard let h = FileHandle(forReadingAtPath: file) else { return }
        defer { try? h.close() }
        guard (try? h.seek(toOffset: UInt64(c.offset))) != nil, let data = try? h.readToEnd(), !data.isEmpty else { return }
        let bytes = [UInt8](data)
        var start = 0
        let dec = JSONDecoder()
        while let nl = bytes[start...].firstIndex(of: 0x0A) {
            c.line += 1
            let line = bytes[start..<nl]
            start = nl + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            guard let text = String(validating: line, as: UTF8.self) else {
                warn(file, c.line, "not UTF-8, skipped"); continue
            }
            guard let r = try? dec.decode(Record.self, from: Data(text.utf8)), r.status == "done" || r.status == "failed" else {
                warn(file, c.line, "not a manifest record, skipped")
                salvage(text)
                continue
            }
            take(r)
        }
        c.offset += start
        cursors[file] = c
    }

    /// Outputs that torn records name: the run that wrote the record had written the output
    /// (records are appended after), so a rerun may replace it.
    private var salvaged: [String: Set<String>] = [:]

    private func salvage(_ text: String) {
        func field(_ key: String) -> String? {
            guard let re = try? NSRegularExpression(pattern: "\"\(key)\":(\"(?:[^\"\\\\]|\\\\.)*\")"),
                  let m = re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
                  let range = Range(m.range(at: 1), in: text) else { return nil }
            return try? JSONDecoder().decode(String.self, from: Data(text[range].utf8))
        }
        if let input = field("input"), let output = field("output") { salvaged[input, default: []].insert(output) }
    }

    private func warn(_ file: String, _ line: Int, _ reason: String) {
        let w = "\(file):\(line): \(reason)"
        if warned.insert(w).inserted { warnings.append(w) }
    }

    private func take(_ r: Record) {
        sequence += 1
        let key = (Self.date(r.finished) ?? .distantPast, sequence)
        if let o = order[r.input], o > key {} else { order[r.input] = key; latest[r.input] = r }
        if r.status == "done" {
            if let o = doneOrder[r.input], o > key {} else { doneOrder[r.input] = key; latestDone[r.input] = r }
        }
    }

    /// Every record's latest state, for merge and status: latest per input, in input order,
    /// preceded by the latest done record where a later failure followed it.
    public func compacted() -> [Record] {
        lock.lock(); defer { lock.unlock() }
        var out: [Record] = []
        for input in latest.keys.sorted(by: BatchInputs.bytewiseLess) {
            let r = latest[input]!
            if r.status != "done", let d = latestDone[input] { out.append(d) }
            out.append(r)
        }
        return out
    }

    public enum Verdict: Equatable {
        /// Done with this checksum and preset, output readable; `recordAgain` when a later
        /// failure record hides it (a rerun writes it again, so the latest record says done).
        case done(Record, recordAgain: Bool)
        case redo(reason: String?)
    }

    /// Whether `input` is done with this checksum and preset: its latest done record matches
    /// and the output opens as audio with at least one frame.
    public func verdict(_ input: String, sha: String, preset: String, outputFolder: String) -> Verdict {
        lock.lock()
        let d = latestDone[input], l = latest[input]
        lock.unlock()
        guard let d, d.inputSHA256 == sha, d.presetSHA256 == preset, let o = d.output else { return .redo(reason: nil) }
        let path = (outputFolder as NSString).appendingPathComponent(o)
        guard FileManager.default.fileExists(atPath: path) else { return .redo(reason: "output \(o) is missing") }
        guard let reader = try? AudioFileReader(path: path), reader.info.declaredFrames > 0 else {
            return .redo(reason: "output \(o) is not readable audio")
        }
        return .done(d, recordAgain: l != d)
    }

    /// True when an earlier run recorded `output` as this input's result (so it may be replaced).
    public func wrote(_ input: String, output: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return latestDone[input]?.output == output || latest[input]?.output == output || salvaged[input]?.contains(output) == true
    }

    /// Appends one record with one write and fsync, under an exclusive lock on the file; a
    /// last line without its newline (a crash mid-write) is terminated first.
    public func append(_ r: Record) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var line = try enc.encode(r)
        line.append(0x0A)
        lock.lock(); defer { lock.unlock() }
        try Self.locked(path) { fd, size in
            var data = line
            if size > 0 {
                var last: UInt8 = 0
                if pread(fd, &last, 1, off_t(size - 1)) == 1, last != 0x0A { data.insert(0x0A, at: 0) }
            }
            try Self.writeAll(fd, data, path: path)
            fsync(fd)
        }
        take(r)
    }

    /// Runs `body` with `path` open read-write for appending and exclusively locked; if the
    /// file was replaced meanwhile (a merge renamed a new one into place) it is opened again.
    static func locked(_ path: String, create: Bool = true, _ body: (Int32, Int) throws -> Void) throws {
        for _ in 0..<20 {
            let fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | (create ? O_CREAT : 0), 0o644)
            guard fd >= 0 else {
                if !create && errno == ENOENT { return }
                throw RestoreError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            defer { close(fd) }
            while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
            var a = stat(), b = stat()
            guard fstat(fd, &a) == 0 else { throw RestoreError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
            if stat(path, &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev { continue }
            try body(fd, Int(a.st_size))
            return
        }
        throw RestoreError.writeFailed(path: path, reason: "the file keeps being replaced")
    }

    static func writeAll(_ fd: Int32, _ data: Data, path: String) throws {
        try data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw RestoreError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
                done += n
            }
        }
    }

    /// `finished` times: ISO 8601 with or without fractional seconds.
    public static func timestamp(_ d: Date = Date()) -> String {
        Formatters.lock.lock(); defer { Formatters.lock.unlock() }
        return Formatters.fractional.string(from: d)
    }

    static func date(_ s: String) -> Date? {
        Formatters.lock.lock(); defer { Formatters.lock.unlock() }
        return Formatters.fractional.date(from: s) ?? Formatters.whole.date(from: s)
    }

    private enum Formatters {
        static let lock = NSLock()
        nonisolated(unsafe) static let fractional: ISO8601DateFormatter = {
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return f
        }()
        nonisolated(unsafe) static let whole = ISO8601DateFormatter()
    }
}
