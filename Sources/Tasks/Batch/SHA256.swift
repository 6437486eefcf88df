import Foundation
import RestoreCore

/// SHA-256 (FIPS 180-4), for input checksums in the batch manifest; no dependency needed.
public struct SHA256: Sendable {
    static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]
    var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    var pending: [UInt8] = []
    var length: UInt64 = 0

    public init() {}

    mutating func absorb(_ data: [UInt8]) {
        for b in data {
            pending.append(b)
            if pending.count == 64 { block(pending); pending.removeAll(keepingCapacity: true) }
        }
    }

    public mutating func update(_ data: Data) {
        length += UInt64(data.count)
        data.withUnsafeBytes { raw in
            var i = 0
            let p = raw.bindMemory(to: UInt8.self)
            while i < p.count {
                if pending.isEmpty && p.count - i >= 64 { block(Array(p[i..<(i + 64)])); i += 64; continue }
                pending.append(p[i]); i += 1
                if pending.count == 64 { block(pending); pending.removeAll(keepingCapacity: true) }
            }
        }
    }

    mutating func block(_ c: [UInt8]) {
        var w = [UInt32](repeating: 0, count: 64)
        for t in 0..<16 { w[t] = UInt32(c[4 * t]) << 24 | UInt32(c[4 * t + 1]) << 16 | UInt32(c[4 * t + 2]) << 8 | UInt32(c[4 * t + 3]) }
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }
        for t in 16..<64 {
            let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
            let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
            w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
        }
        var (a, b, c2, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
        for t in 0..<64 {
            let t1 = hh &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ SHA256.k[t] &+ w[t]
            let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c2) ^ (b & c2))
            (hh, g, f, e, d, c2, b, a) = (g, f, e, d &+ t1, c2, b, a, t1 &+ t2)
        }
        for (i, v) in [a, b, c2, d, e, f, g, hh].enumerated() { h[i] = h[i] &+ v }
    }

    public mutating func finalize() -> String {
        let bits = length * 8
        var tail: [UInt8] = [0x80]
        while (pending.count + tail.count) % 64 != 56 { tail.append(0) }
        for i in (0..<8).reversed() { tail.append(UInt8((bits >> (8 * UInt64(i))) & 0xff)) }
        absorb(tail)
        return h.map { String(format: "%08x", $0) }.joined()
    }

    public static func hex(_ data: Data) -> String {
        var s = SHA256()
        s.update(data)
        return s.finalize()
    }

    /// Streams a file in 1 MiB blocks.
    public static func file(_ path: String) throws -> String {
        guard let f = FileHandle(forReadingAtPath: path) else { throw RestoreError.fileNotFound(path: path) }
        defer { try? f.close() }
        var s = SHA256()
        while let d = try f.read(upToCount: 1 << 20), !d.isEmpty { s.update(d) }
        return s.finalize()
    }
}
