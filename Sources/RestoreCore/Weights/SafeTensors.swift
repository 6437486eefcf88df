import Foundation

/// Every way a safetensors file can be wrong, naming the file and, where known, the tensor.
public struct SafeTensorsError: Error, Equatable, CustomStringConvertible, Sendable {
    public var file: String
    public var tensor: String?
    public var problem: String

    public var description: String {
        tensor.map { "\(file): tensor '\($0)': \(problem)" } ?? "\(file): \(problem)"
    }
}

public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16"
    public var size: Int { self == .f32 ? 4 : 2 }
}

public struct SafeTensorsEntry: Sendable, Equatable {
    public var name: String
    public var dtype: SafeTensorsDType
    public var shape: [Int]
    /// Byte range inside the data section.
    public var begin: Int
    public var end: Int
}

/// Backing bytes: a read-only memory map of a file, or an in-memory copy.
final class ByteStore: @unchecked Sendable {
    let base: UnsafeRawPointer
    let count: Int
    private let unmap: (() -> Void)?
    private let owned: Data?

    init(data: Data) {
        owned = data
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(data.count, 1), alignment: 16)
        data.copyBytes(to: p.assumingMemoryBound(to: UInt8.self), count: data.count)
        base = UnsafeRawPointer(p)
        count = data.count
        unmap = { p.deallocate() }
    }

    init(mapping path: String) throws {
        owned = nil
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw SafeTensorsError(file: path, problem: errno == ENOENT ? "no such file" : "cannot open (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SafeTensorsError(file: path, problem: "cannot stat") }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw SafeTensorsError(file: path, problem: "is a directory") }
        let size = Int(st.st_size)
        count = size
        if size == 0 {
            let p = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 16)
            base = UnsafeRawPointer(p)
            unmap = { p.deallocate() }
            return
        }
        guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw SafeTensorsError(file: path, problem: "cannot map (\(String(cString: strerror(errno))))")
        }
        base = UnsafeRawPointer(m)
        unmap = { munmap(m, size) }
    }

    deinit { unmap?() }
}

/// A validated safetensors file. The header is checked completely before any tensor
/// is read: its length, JSON shape, dtypes, shapes × dtype size = byte lengths,
/// offsets inside the data section, and no two tensors overlapping.
public final class SafeTensorsFile: @unchecked Sendable {
    public let path: String
    public let metadata: [String: String]
    public let entries: [String: SafeTensorsEntry]
    private let store: ByteStore
    private let dataStart: Int

    /// Headers beyond this are refused rather than parsed (the format's own limit is 100 MB).
    public static let maxHeaderBytes = 100_000_000

    public convenience init(path: String) throws {
        try self.init(store: ByteStore(mapping: path), path: path)
    }

    public convenience init(data: Data, name: String) throws {
        try self.init(store: ByteStore(data: data), path: name)
    }

    private init(store: ByteStore, path: String) throws {
        self.store = store
        self.path = path
        func fail(_ problem: String, _ tensor: String? = nil) -> SafeTensorsError {
            SafeTensorsError(file: path, tensor: tensor, problem: problem)
        }
        guard store.count >= 8 else { throw fail("file is \(store.count) bytes, shorter than the 8-byte header length") }
        let n = UInt64(littleEndian: store.base.loadUnaligned(as: UInt64.self))
        guard n >= 2 else { throw fail("header length \(n) is too small") }
        guard n <= UInt64(SafeTensorsFile.maxHeaderBytes) else { throw fail("header length \(n) exceeds the 100 MB limit") }
        guard Int(n) <= store.count - 8 else { throw fail("header length \(n) runs past the end of the \(store.count)-byte file") }
        let headerLen = Int(n)
        dataStart = 8 + headerLen
        let dataLen = store.count - dataStart
        let headerData = Data(bytes: store.base + 8, count: headerLen)
        guard headerData.first == UInt8(ascii: "{") else { throw fail("header does not start with '{'") }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: headerData, options: []) }
        catch { throw fail("header is not valid JSON") }
        guard let object = json as? [String: Any] else { throw fail("header is not a JSON object") }

        var meta: [String: String] = [:]
        var found: [String: SafeTensorsEntry] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail("__metadata__ value for '\(k)' is not a string") }
                    meta[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw fail("entry is not an object", name) }
            guard let dt = info["dtype"] as? String else { throw fail("missing dtype", name) }
            guard let dtype = SafeTensorsDType(rawValue: dt) else { throw fail("dtype \(dt) is not supported (F32, F16, BF16)", name) }
            guard let shapeAny = info["shape"] as? [Any] else { throw fail("missing or invalid shape", name) }
            var shape: [Int] = []
            var elements = 1
            for d in shapeAny {
                guard let v = SafeTensorsFile.exactInt(d), v >= 0 else { throw fail("shape \(shapeAny) has a non-integer or negative dimension", name) }
                let (p, o) = elements.multipliedReportingOverflow(by: v)
                guard !o, p <= Int(Int32.max) * 16 else { throw fail("shape \(shapeAny) is too large", name) }
                elements = p
                shape.append(v)
            }
            guard let offs = info["data_offsets"] as? [Any], offs.count == 2,
                  let b = SafeTensorsFile.exactInt(offs[0]), let e = SafeTensorsFile.exactInt(offs[1]) else {
                throw fail("missing or invalid data_offsets", name)
            }
            guard b >= 0, e >= b else { throw fail("data_offsets [\(b), \(e)] are not an increasing pair", name) }
            guard e <= dataLen else { throw fail("data_offsets [\(b), \(e)] run past the \(dataLen)-byte data section", name) }
            guard e - b == elements * dtype.size else {
                throw fail("shape \(shape) × \(dtype.rawValue) needs \(elements * dtype.size) bytes, data_offsets give \(e - b)", name)
            }
            found[name] = SafeTensorsEntry(name: name, dtype: dtype, shape: shape, begin: b, end: e)
        }
        // No two tensors may share bytes.
        let sorted = found.values.filter { $0.end > $0.begin }.sorted { ($0.begin, $0.name) < ($1.begin, $1.name) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.begin < a.end {
            throw fail("overlaps tensor '\(a.name)' (bytes \(b.begin)..<\(b.end) and \(a.begin)..<\(a.end))", b.name)
        }
        metadata = meta
        entries = found
    }

    /// JSON numbers arrive as NSNumber; accept only exact integers (not 1.5, not true).
    private static func exactInt(_ v: Any) -> Int? {
        guard let num = v as? NSNumber, String(cString: num.objCType) != "c" else { return nil }
        let d = num.doubleValue
        guard d.rounded() == d, abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }

    public var names: [String] { entries.keys.sorted() }

    public func entry(_ name: String) throws -> SafeTensorsEntry {
        guard let e = entries[name] else { throw SafeTensorsError(file: path, tensor: name, problem: "not in the file") }
        return e
    }

    /// The tensor as Float32 (F16 and BF16 are widened).
    public func tensor(_ name: String) throws -> Tensor {
        let e = try entry(name)
        let count = (e.end - e.begin) / e.dtype.size
        var out = [Float](repeating: 0, count: count)
        let src = store.base + dataStart + e.begin
        out.withUnsafeMutableBufferPointer { o in
            switch e.dtype {
            case .f32:
                memcpy(o.baseAddress!, src, count * 4)
            case .f16:
                for i in 0..<count { o[i] = Float(Float16(bitPattern: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .bf16:
                for i in 0..<count { o[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
            }
        }
        // A NaN or infinity in a weight poisons every output it touches: refuse the file.
        if let bad = SafeTensorsFile.firstNonFinite(out) {
            throw SafeTensorsError(file: path, tensor: name, problem: "holds a NaN or infinite value (element \(bad))")
        }
        return Tensor(shape: e.shape, data: out)
    }

    /// Index of the first NaN or ±inf, by chunk sums first (a chunk with one sums to non-finite).
    static func firstNonFinite(_ x: [Float]) -> Int? {
        x.withUnsafeBufferPointer { p in
            var start = 0
            while start < p.count {
                let end = Swift.min(p.count, start + 4096)
                var sum: Float = 0
                for i in start..<end { sum += p[i] * 0 }
                if !sum.isFinite || sum != 0 {
                    for i in start..<end where !p[i].isFinite { return i }
                }
                start = end
            }
            return nil
        }
    }

    /// The tensor, checked against the shape the model's config implies.
    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        let e = try entry(name)
        guard e.shape == shape else {
            throw SafeTensorsError(file: path, tensor: name, problem: "shape \(e.shape) does not match the expected \(shape)")
        }
        return try tensor(name)
    }
}

/// Writes safetensors: header keys sorted, header padded with spaces to 8 bytes,
/// tensors laid out in name order.
public enum SafeTensorsWriter {
    public static func encode(_ tensors: [String: Tensor], dtype: SafeTensorsDType = .f32, metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            let bytes = t.count * dtype.size
            header[name] = ["dtype": dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out = Data()
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            let t = tensors[name]!
            switch dtype {
            case .f32:
                t.data.withUnsafeBufferPointer { out.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self), count: $0.count * 4)) }
            case .f16:
                var h = t.data.map { Float16($0).bitPattern.littleEndian }
                h.withUnsafeMutableBytes { out.append(contentsOf: $0) }
            case .bf16:
                // Round to nearest even on the dropped 16 bits.
                var h = t.data.map { v -> UInt16 in
                    let b = v.bitPattern
                    return UInt16(truncatingIfNeeded: (b &+ 0x7fff &+ ((b >> 16) & 1)) >> 16)
                }
                h.withUnsafeMutableBytes { out.append(contentsOf: $0) }
            }
        }
        return out
    }

    public static func write(_ tensors: [String: Tensor], to path: String, dtype: SafeTensorsDType = .f32, metadata: [String: String] = [:]) throws {
        try encode(tensors, dtype: dtype, metadata: metadata).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
