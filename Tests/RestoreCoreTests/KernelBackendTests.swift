import Foundation
import XCTest
@testable import RestoreCore

/// The oneDNN kernels (default), the OpenBLAS fallback (RESTORE_BACKEND=openblas), bf16,
/// and the forced-AVX2 path (RESTORE_ISA=avx2, run in a child process because oneDNN fixes
/// its ISA at the first primitive).
final class KernelBackendTests: XCTestCase {
    func vocoder() throws -> HiFiGAN {
        guard FileManager.default.fileExists(atPath: HiFiGANParityTests.weights) else {
            throw XCTSkip("SKIPPED: \(HiFiGANParityTests.weights) is absent; run scripts/fetch-pretrained (make test does)")
        }
        return try HiFiGAN(path: HiFiGANParityTests.weights)
    }

    func withBackend<T>(_ b: ComputeBackend, _ precision: VocoderPrecision = .fp32, _ body: () throws -> T) rethrows -> T {
        let (pb, pp) = (ComputeBackend.current, VocoderPrecision.current)
        ComputeBackend.current = b
        VocoderPrecision.current = precision
        defer { ComputeBackend.current = pb; VocoderPrecision.current = pp }
        return try body()
    }

    func testBothBackendsMatchPyTorchAndEachOther() throws {
        let v = try vocoder()
        let mel = try Fixtures.npy("hifigan/mel.npy")
        let ref = try Fixtures.npy("hifigan/audio.npy")
        let x = Tensor(shape: mel.shape, data: mel.values)
        let blas = withBackend(.openblas) { v(x, threads: 2) }
        let dnnl = withBackend(.onednn) { v(x, threads: 2) }
        print("vocoder parity: OpenBLAS \(relativeL2(blas, ref.values)), oneDNN \(relativeL2(dnnl, ref.values)) [\(CPUKernels.isa)], between \(relativeL2(dnnl, blas))")
        XCTAssertLessThan(relativeL2(blas, ref.values), 1e-4)
        XCTAssertLessThan(relativeL2(dnnl, ref.values), 1e-4)
        XCTAssertLessThan(relativeL2(dnnl, blas), 1e-5)
    }

    /// Chunks of any length (plans are built per 64-frame length, tails zero-masked) give the
    /// whole-input output, on 1 and 2 threads.
    func testOneDNNChunksOfEveryLengthEqualTheWholeInput() throws {
        let v = try vocoder()
        let mel = try Fixtures.npy("hifigan/mel.npy")
        let spec = MelSpectrogram(melCount: 80, frames: 172, values: mel.values)
        let whole = withBackend(.openblas) { v(Tensor(shape: mel.shape, data: mel.values), threads: 1) }
        for (chunk, threads) in [(64, 1), (100, 2), (171, 1), (1024, 2)] {
            let out = withBackend(.onednn) { v.synthesize(spec, chunkFrames: chunk, threads: threads) }
            XCTAssertEqual(out.count, whole.count)
            XCTAssertLessThan(relativeL2(out, whole), 1e-5, "chunk \(chunk), threads \(threads)")
        }
        // A clip shorter than one plan granule, and one frame.
        for frames in [1, 7, 65] {
            let part = MelSpectrogram(melCount: 80, frames: frames, values: (0..<80).flatMap { b in mel.values[(b * 172)..<(b * 172 + frames)] })
            let a = withBackend(.openblas) { v.synthesize(part, threads: 1) }
            let b = withBackend(.onednn) { v.synthesize(part, threads: 2) }
            XCTAssertEqual(a.count, frames * 256)
            XCTAssertLessThan(relativeL2(b, a), 1e-5, "\(frames) frames")
        }
    }

    func testBF16StaysCloseToFP32() throws {
        guard CPUKernels.hasBF16 else { throw XCTSkip("SKIPPED: no AVX512-BF16 on this CPU") }
        let v = try vocoder()
        let mel = try Fixtures.npy("hifigan/mel.npy")
        let x = Tensor(shape: mel.shape, data: mel.values)
        let fp32 = withBackend(.onednn) { v(x, threads: 2) }
        let bf16 = withBackend(.onednn, .bf16) { v(x, threads: 2) }
        let err = relativeL2(bf16, fp32)
        print("vocoder bf16 vs fp32: relative L2 \(err)")
        XCTAssertLessThan(err, 0.05)
        XCTAssertGreaterThan(err, 0)   // it did run in bf16
    }

    func testTransformerLogitsAgreeAcrossBackends() throws {
        let model = try MaskedTransformer(path: Fixtures.root.appendingPathComponent("transformer/tiny.safetensors").path)
        let tokens = try Fixtures.npy("transformer/tokens.npy").values.map { Int32($0) }
        let masked = try Fixtures.npy("transformer/masked.npy").values.map { $0 != 0 }
        let cond = try Fixtures.npy("transformer/cond.npy").values
        let ref = try Fixtures.npy("transformer/logits.npy")
        let run = { model(tokens: [tokens, tokens], masked: [masked, masked], conditions: [cond, nil]).logits.data }
        let blas = withBackend(.openblas) { run() }, dnnl = withBackend(.onednn) { run() }
        XCTAssertLessThan(relativeL2(blas, ref.values), 1e-3)
        XCTAssertLessThan(relativeL2(dnnl, ref.values), 1e-3)
        XCTAssertLessThan(relativeL2(dnnl, blas), 1e-5)
    }

    func testCKernelsMatchTheSwiftFormulas() {
        var rng = SplitMix64(seed: 3)
        let x = (0..<1003).map { _ in Float(rng.gaussian()) * 4 }
        var c = x, s = x
        c.withUnsafeMutableBufferPointer { Activation.geluErf($0.baseAddress!, $0.count) }
        s.withUnsafeMutableBufferPointer { p in
            VectorMath.apply(p.baseAddress!, p.count) { v in 0.5 * v * (1 + VectorMath.erf(v * 0.70710678118654752)) }
        }
        for i in x.indices { XCTAssertEqual(c[i], s[i], accuracy: 1e-6) }
        var a = x, b = x
        a[5] = -.infinity
        b[5] = -.infinity
        a.withUnsafeMutableBufferPointer { Activation.softmaxRows($0.baseAddress!, rows: 17, cols: 59) }
        b.withUnsafeMutableBufferPointer { Activation.softmaxRowsSwift($0.baseAddress!, rows: 17, cols: 59) }
        for i in x.indices { XCTAssertEqual(a[i], b[i], accuracy: 1e-6) }
        XCTAssertEqual(a[5], 0)
    }

    /// Re-runs the parity tests of this class in a child process with RESTORE_ISA=avx2: the
    /// oneDNN kernels, the C kernels' AVX2 variants and the nCw8c layout.
    func testForcedAVX2PathInAChildProcess() throws {
        if ProcessInfo.processInfo.environment["RESTORE_ISA"] != nil {
            // We are the child: check that the cap took.
            XCTAssertEqual(CPUKernels.isa, "avx2")
            return
        }
        guard FileManager.default.fileExists(atPath: HiFiGANParityTests.weights) else {
            throw XCTSkip("SKIPPED: \(HiFiGANParityTests.weights) is absent")
        }
        let exe = URL(fileURLWithPath: CommandLine.arguments[0])
        let p = Process()
        p.executableURL = exe
        let tests = ["testForcedAVX2PathInAChildProcess", "testBothBackendsMatchPyTorchAndEachOther",
                     "testOneDNNChunksOfEveryLengthEqualTheWholeInput", "testTransformerLogitsAgreeAcrossBackends",
                     "testCKernelsMatchTheSwiftFormulas"]
        p.arguments = [tests.map { "RestoreCoreTests.KernelBackendTests/\($0)" }.joined(separator: ",")]
        var env = ProcessInfo.processInfo.environment
        env["RESTORE_ISA"] = "avx2"
        p.environment = env
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        print(text.split(separator: "\n").filter { $0.contains("parity") || $0.contains("Executed") }.joined(separator: "\n"))
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("Executed \(tests.count) tests, with 0 failures"), text)
    }
}
