import Foundation
import XCTest
@testable import RestoreCore

final class SafeTensorsTests: XCTestCase {
    func sample() -> [String: Tensor] {
        ["a.weight": Tensor.random([3, 4], seed: 1), "b": Tensor.random([5], seed: 2), "scalar": Tensor(shape: [], data: [7])]
    }

    func testRoundTripF32F16BF16WithMetadata() throws {
        for dtype in SafeTensorsDType.allCases {
            let data = try SafeTensorsWriter.encode(sample(), dtype: dtype, metadata: ["config": "{\"k\":1}"])
            let f = try SafeTensorsFile(data: data, name: "mem.safetensors")
            XCTAssertEqual(f.metadata, ["config": "{\"k\":1}"])
            XCTAssertEqual(f.names, ["a.weight", "b", "scalar"])
            for (name, t) in sample() {
                let back = try f.tensor(name)
                XCTAssertEqual(back.shape, t.shape)
                let tol: Float = dtype == .f32 ? 0 : (dtype == .f16 ? 2e-3 : 1e-2)
                for (x, y) in zip(back.data, t.data) { XCTAssertEqual(x, y, accuracy: tol * max(1, abs(y))) }
            }
        }
    }

    func testMemoryMappedFile() throws {
        let path = try makeTempFolder() + "/w.safetensors"
        try SafeTensorsWriter.write(sample(), to: path)
        let f = try SafeTensorsFile(path: path)
        XCTAssertEqual(try f.tensor("b"), sample()["b"])
        XCTAssertThrowsError(try f.tensor("b", shape: [6])) { e in
            XCTAssertEqual("\(e)", "\(path): tensor 'b': shape [5] does not match the expected [6]")
        }
        XCTAssertThrowsError(try f.tensor("missing")) { e in
            XCTAssertEqual("\(e)", "\(path): tensor 'missing': not in the file")
        }
        XCTAssertThrowsError(try SafeTensorsFile(path: path + ".nope")) { e in
            XCTAssertEqual("\(e)", "\(path).nope: no such file")
        }
    }

    /// Builds a file from a raw header string and a data section of `dataBytes` bytes.
    func file(_ header: String, dataBytes: Int) -> Data {
        var d = Data()
        var n = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(Data(header.utf8))
        d.append(Data(repeating: 0, count: dataBytes))
        return d
    }

    func expectError(_ header: String, dataBytes: Int, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(data: self.file(header, dataBytes: dataBytes), name: "m.st"), file: file, line: line) { e in
            XCTAssertEqual("\(e)", message, file: file, line: line)
        }
    }

    func testEachViolationIsATypedErrorNamingTheTensor() {
        expectError(#"{"t":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#, dataBytes: 8,
                    "m.st: tensor 't': dtype F64 is not supported (F32, F16, BF16)")
        expectError(#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, dataBytes: 8,
                    "m.st: tensor 't': shape [3] × F32 needs 12 bytes, data_offsets give 8")
        expectError(#"{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, dataBytes: 8,
                    "m.st: tensor 't': data_offsets [0, 16] run past the 8-byte data section")
        expectError(#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, dataBytes: 8,
                    "m.st: tensor 't': data_offsets [8, 4] are not an increasing pair")
        expectError(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, dataBytes: 12,
                    "m.st: tensor 'b': overlaps tensor 'a' (bytes 4..<12 and 0..<8)")
        expectError(#"{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, dataBytes: 4,
                    "m.st: tensor 't': shape [-1] has a non-integer or negative dimension")
        expectError(#"{"t":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, dataBytes: 4,
                    "m.st: tensor 't': shape [1.5] has a non-integer or negative dimension")
        expectError(#"{"t":{"dtype":"F32","shape":[1]}}"#, dataBytes: 4, "m.st: tensor 't': missing or invalid data_offsets")
        expectError(#"{"__metadata__":{"k":3}}"#, dataBytes: 0, "m.st: __metadata__ value for 'k' is not a string")
        expectError(#"[1,2]"#, dataBytes: 0, "m.st: header does not start with '{'")
        expectError(#"{"t":"#, dataBytes: 0, "m.st: header is not valid JSON")
        expectError(#"{"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, dataBytes: 4,
                    "m.st: tensor 't': shape [4294967296, 4294967296] is too large")
        XCTAssertThrowsError(try SafeTensorsFile(data: Data([1, 2, 3]), name: "m.st")) { e in
            XCTAssertEqual("\(e)", "m.st: file is 3 bytes, shorter than the 8-byte header length")
        }
        var huge = Data([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
        huge.append(Data("{}".utf8))
        XCTAssertThrowsError(try SafeTensorsFile(data: huge, name: "m.st")) { e in
            XCTAssertEqual("\(e)", "m.st: header length 9223372036854775807 exceeds the 100 MB limit")
        }
        var past = Data([100, 0, 0, 0, 0, 0, 0, 0])
        past.append(Data("{}".utf8))
        XCTAssertThrowsError(try SafeTensorsFile(data: past, name: "m.st")) { e in
            XCTAssertEqual("\(e)", "m.st: header length 100 runs past the end of the 10-byte file")
        }
    }

    /// 3,000 mutated headers and truncations: each gives a SafeTensorsError or a valid load
    /// whose every tensor can be read; the process must not crash.
    func testFuzzedFilesNeverCrash() throws {
        let valid = try SafeTensorsWriter.encode(sample(), dtype: .f16, metadata: ["config": "{}"])
        let headerLen = Int(valid.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        var rng = SplitMix64(seed: 20261122)
        let interesting: [UInt8] = Array("{}[]:,\"-0123456789eE.FBtruefalsenull ".utf8) + [0, 0xff, 0x80]
        var errors = 0, loads = 0
        for case_ in 0..<3000 {
            var bytes = [UInt8](valid)
            switch case_ % 6 {
            case 0, 1:   // flip 1–4 bytes inside the header
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    let i = 8 + Int(rng.next() % UInt64(headerLen))
                    bytes[i] = interesting[Int(rng.next() % UInt64(interesting.count))]
                }
            case 2:      // corrupt the length prefix
                bytes[Int(rng.next() % 8)] = UInt8(truncatingIfNeeded: rng.next())
            case 3:      // truncate anywhere
                bytes.removeLast(Int(rng.next() % UInt64(bytes.count)))
            case 4:      // change a digit inside the header (shapes, offsets)
                let digits = (8..<(8 + headerLen)).filter { (48...57).contains(bytes[$0]) }
                bytes[digits[Int(rng.next() % UInt64(digits.count))]] = UInt8(48 + rng.next() % 10)
            default:     // insert or delete a header byte and keep the length prefix
                let i = 8 + Int(rng.next() % UInt64(headerLen))
                if rng.next() % 2 == 0 { bytes.remove(at: i) } else { bytes.insert(interesting[Int(rng.next() % UInt64(interesting.count))], at: i) }
            }
            do {
                let f = try SafeTensorsFile(data: Data(bytes), name: "fuzz")
                for name in f.names { _ = try f.tensor(name) }
                loads += 1
            } catch is SafeTensorsError {
                errors += 1
            }
        }
        XCTAssertEqual(errors + loads, 3000)
        XCTAssertGreaterThan(errors, 1000)
        print("safetensors fuzz: 3000 cases, \(errors) typed errors, \(loads) valid loads, 0 crashes")
    }
}
