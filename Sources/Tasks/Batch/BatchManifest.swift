import Foundation
import RestoreCore

/// The batch manifest: one JSON line per finished file in OUTDIR/restore-manifest.jsonl,
/// appended with a single write and fsync, so an interruption leaves only whole records
/// (a torn last line is ignored when read). The last record of a file wins.
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
    }

    public static let fileName = "restore-manifest.jsonl"
    public let path: String
    public private(set) var latest: [String: Record] = [:]
    private let lock = NSLock()

    public init(folder: String) throws {
        path = (folder as NSString).appendingPathComponent(Self.fileName)
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let dec = JSONDecoder()
            for line in text.split(separator: "\n") {
                if let r = try? dec.decode(Record.self, from: Data(line.utf8)) { latest[r.input] = r }
            }
        }
    }

    /// True when `input` was done with this checksum and preset, and its output is still there.
    public func isDone(_ input: String, sha: String, preset: String, outputFolder: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard let r = latest[input], r.status == "done", r.inputSHA256 == sha, r.presetSHA256 == preset, let o = r.output else { return false }
        return FileManager.default.fileExists(atPath: (outputFolder as NSString).appendingPathComponent(o))
    }

    public func append(_ r: Record) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = try enc.encode(r)
        line.append(0x0A)
        lock.lock(); defer { lock.unlock() }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw RestoreError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw RestoreError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        fsync(fd)
        latest[r.input] = r
    }
}
