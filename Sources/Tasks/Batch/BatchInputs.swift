import Foundation
import RestoreCore

/// The files a batch processes: files as given, folders walked recursively by audio
/// extension, each with the relative path its output takes under the output folder.
public struct BatchInput: Sendable, Equatable {
    public var path: String
    public var relative: String

    public init(path: String, relative: String) {
        self.path = path
        self.relative = relative
    }
}

public enum BatchInputs {
    public static let audioExtensions: Set<String> = ["wav", "flac", "ogg", "oga", "mp3", "aif", "aiff", "aifc", "au", "snd", "w64", "caf", "opus"]

    /// Files as given and folders walked recursively, in bytewise order of their relative
    /// paths (the same order on every machine). Hidden files and folders are left out, and
    /// so is `exclude` (the output folder, when it lies inside an input folder: otherwise
    /// every rerun would process the previous run's outputs one level deeper).
    public static func collect(_ args: [String], excluding exclude: [String] = []) throws -> [BatchInput] {
        var out: [BatchInput] = []
        let fm = FileManager.default
        let excluded = Set(exclude.compactMap(realPath))
        for a in args {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: a, isDirectory: &isDir) else { throw RestoreError.fileNotFound(path: a) }
            if isDir.boolValue {
                if let r = realPath(a), excluded.contains(r) { continue }
                guard let e = fm.enumerator(atPath: a) else { continue }
                var found: [String] = []
                while let rel = e.nextObject() as? String {
                    let name = (rel as NSString).lastPathComponent
                    let full = (a as NSString).appendingPathComponent(rel)
                    var sub: ObjCBool = false
                    if fm.fileExists(atPath: full, isDirectory: &sub), sub.boolValue {
                        if name.hasPrefix(".") { e.skipDescendants(); continue }
                        if !excluded.isEmpty, let r = realPath(full), excluded.contains(r) { e.skipDescendants() }
                        continue
                    }
                    if name.hasPrefix(".") { continue }
                    if audioExtensions.contains((rel as NSString).pathExtension.lowercased()) { found.append(rel) }
                }
                for rel in found { out.append(BatchInput(path: (a as NSString).appendingPathComponent(rel), relative: rel)) }
            } else {
                out.append(BatchInput(path: a, relative: (a as NSString).lastPathComponent))
            }
        }
        var seen: [String: String] = [:]
        for i in out {
            if let other = seen[i.relative] {
                throw RestoreError.invalidArgument("\(other) and \(i.path) would both be written as \(i.relative); run them separately")
            }
            seen[i.relative] = i.path
        }
        return out.sorted { bytewiseLess($0.relative, $1.relative) }
    }

    /// Orders by UTF-8 bytes (String's `<` orders by Unicode rules, which may differ between
    /// library versions; bytes are what every node agrees on).
    public static func bytewiseLess(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    static func realPath(_ p: String) -> String? {
        guard let r = realpath(p, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }

    /// `K/N` → (k, n) with 1 ≤ k ≤ n.
    public static func parseShard(_ s: String) throws -> (Int, Int) {
        let p = s.split(separator: "/", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard p.count == 2, let k = p[0], let n = p[1], n >= 1, k >= 1, k <= n else {
            throw RestoreError.invalidArgument("--shard '\(s)' must be K/N with 1 ≤ K ≤ N (e.g. 2/3)")
        }
        return (k, n)
    }

    /// Shard k of n, balanced: the inputs are ranked by the FNV-1a 64 hash of their relative
    /// path (ties by the path's bytes) and rank i goes to shard i mod n + 1, so shard sizes
    /// differ by at most one and neighbouring files (often alike) spread over the shards.
    /// The ranking depends only on the listing, which every node computes alike.
    public static func shard(_ inputs: [BatchInput], _ k: Int, of n: Int) -> [BatchInput] {
        precondition(n >= 1 && (1...n).contains(k))
        let ranked = inputs.map { ($0, fnv1a($0.relative)) }.sorted { a, b in
            a.1 != b.1 ? a.1 < b.1 : bytewiseLess(a.0.relative, b.0.relative)
        }
        let mine = ranked.enumerated().filter { $0.offset % n == k - 1 }.map(\.element.0)
        return mine.sorted { bytewiseLess($0.relative, $1.relative) }
    }

    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
