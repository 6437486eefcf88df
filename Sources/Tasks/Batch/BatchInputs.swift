import Foundation
import RestoreCore

/// The files a batch processes: files as given, folders walked recursively by audio
/// extension, each with the relative path its output takes under the output folder.
public struct BatchInput: Sendable, Equatable {
    public var path: String
    public var relative: String
}

public enum BatchInputs {
    public static let audioExtensions: Set<String> = ["wav", "flac", "ogg", "oga", "mp3", "aif", "aiff", "aifc", "au", "snd", "w64", "caf", "opus"]

    public static func collect(_ args: [String]) throws -> [BatchInput] {
        var out: [BatchInput] = []
        let fm = FileManager.default
        for a in args {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: a, isDirectory: &isDir) else { throw RestoreError.fileNotFound(path: a) }
            if isDir.boolValue {
                guard let e = fm.enumerator(atPath: a) else { continue }
                var found: [String] = []
                while let rel = e.nextObject() as? String {
                    let name = (rel as NSString).lastPathComponent
                    if name.hasPrefix(".") { continue }
                    if audioExtensions.contains((rel as NSString).pathExtension.lowercased()) { found.append(rel) }
                }
                for rel in found.sorted() { out.append(BatchInput(path: (a as NSString).appendingPathComponent(rel), relative: rel)) }
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
        return out
    }

    /// `K/N` → (k, n) with 1 ≤ k ≤ n.
    public static func parseShard(_ s: String) throws -> (Int, Int) {
        let p = s.split(separator: "/").map { Int($0) }
        guard p.count == 2, let k = p[0], let n = p[1], n >= 1, k >= 1, k <= n else {
            throw RestoreError.invalidArgument("--shard '\(s)' must be K/N with 1 ≤ K ≤ N (e.g. 2/3)")
        }
        return (k, n)
    }

    /// Shard k of n: the inputs whose relative path hashes (FNV-1a 64) to k−1 mod n. The
    /// split depends only on names, so machines agree without sharing a listing.
    public static func shard(_ inputs: [BatchInput], _ k: Int, of n: Int) -> [BatchInput] {
        inputs.filter { Int(fnv1a($0.relative) % UInt64(n)) == k - 1 }
    }

    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
