import CKernels
import Foundation

/// Which kernels the networks run on. oneDNN (AVX-512/AVX2 JIT convolutions and GEMMs)
/// unless `RESTORE_BACKEND=openblas` selects the OpenBLAS/im2col path, which is the
/// fallback and what the parity tests also cover.
public enum ComputeBackend: String, Sendable, CaseIterable {
    case onednn, openblas

    nonisolated(unsafe) public static var current: ComputeBackend = {
        let v = ProcessInfo.processInfo.environment["RESTORE_BACKEND"]?.lowercased()
        return v.flatMap(ComputeBackend.init(rawValue:)) ?? .onednn
    }()
}

/// Numeric precision of the vocoder's convolutions on oneDNN. bf16 is the default on CPUs
/// with AVX512-BF16 (1.4× faster than fp32 here, resynthesis log-mel L1 within 0.1% of
/// PyTorch fp32): it keeps the residual stream, biases and the last stage in fp32. fp32 is
/// the default elsewhere, what the parity tests pin, and `RESTORE_VOCODER_PRECISION=fp32`
/// selects it anywhere.
public enum VocoderPrecision: String, Sendable {
    case fp32, bf16

    nonisolated(unsafe) public static var current: VocoderPrecision = {
        let v = ProcessInfo.processInfo.environment["RESTORE_VOCODER_PRECISION"]?.lowercased()
        return v.flatMap(VocoderPrecision.init(rawValue:)) ?? (CPUKernels.hasBF16 ? .bf16 : .fp32)
    }()
}

/// The instruction set the C kernels and oneDNN use (cpuid, capped by `RESTORE_ISA=avx2`).
public enum CPUKernels {
    public static var isa: String { String(cString: rk_isa_name()) }
    public static var hasBF16: Bool { rk_isa() >= 3 }
    /// Channels per activation block for oneDNN's direct convolutions: 16 with AVX-512, 8 with AVX2.
    static var block: Int { rk_isa() >= 2 ? 16 : 8 }
    /// OpenMP threads for oneDNN calls made from the current thread.
    public static func setThreads(_ n: Int) { rk_set_omp_threads(Int32(max(1, n))) }
}

public struct OneDNNError: Error, CustomStringConvertible {
    public let description: String
}

/// One oneDNN (transposed) convolution primitive over channels-last (time, channels)
/// buffers of a fixed length, weights reordered once.
final class DNNLConv: @unchecked Sendable {
    let handle: OpaquePointer
    let outLength: Int
    let scratchBytes: Int
    let inLength: Int
    let cin: Int, cout: Int

    init(transposed: Bool = false, weight: Tensor, bias: Tensor?, stride: Int = 1, dilation: Int = 1,
         padLeft: Int, padRight: Int, length: Int, srcBF16: Bool = false, dstBF16: Bool = false, weiBF16: Bool = false,
         postSum: Bool = false, postLeakyReLU: Float? = nil, block: Int = 0) throws {
        let cin = transposed ? weight.shape[0] : weight.shape[1], cout = transposed ? weight.shape[1] : weight.shape[0]
        var d = rk_conv_desc(transposed: transposed ? 1 : 0, cin: Int32(cin), cout: Int32(cout), kernel: Int32(weight.shape[2]),
                             stride: Int32(stride), dilation: Int32(dilation), pad_left: Int32(padLeft), pad_right: Int32(padRight),
                             length: Int32(length), src_bf16: srcBF16 ? 1 : 0, dst_bf16: dstBF16 ? 1 : 0, wei_bf16: weiBF16 ? 1 : 0,
                             post_sum: postSum ? 1 : 0, post_lrelu: postLeakyReLU == nil ? 0 : 1, lrelu_slope: postLeakyReLU ?? 0,
                             block: Int32(block))
        var err = [CChar](repeating: 0, count: 256)
        let h: OpaquePointer? = weight.data.withUnsafeBufferPointer { w in
            if let bias {
                return bias.data.withUnsafeBufferPointer { b in rk_conv_create(&d, w.baseAddress, b.baseAddress, &err, 256) }
            }
            return rk_conv_create(&d, w.baseAddress, nil, &err, 256)
        }
        guard let h else { throw OneDNNError(description: String(cString: err)) }
        handle = h
        outLength = Int(rk_conv_out_length(h))
        scratchBytes = Int(rk_conv_scratchpad_bytes(h))
        inLength = length
        self.cin = cin
        self.cout = cout
    }

    deinit { rk_conv_destroy(handle) }

    var implementation: String { String(cString: rk_conv_impl(handle)) }

    @inline(__always)
    func run(_ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, scratch: UnsafeMutableRawPointer?) {
        let rc = rk_conv_run(handle, src, dst, scratch)
        precondition(rc == 0, "oneDNN convolution failed")
    }
}

/// Row-major sgemm through oneDNN's JIT kernels.
@inline(__always)
func dnnlSgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
               alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
               b: UnsafePointer<Float>, ldb: Int,
               beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    let rc = rk_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    precondition(rc == 0, "oneDNN sgemm failed")
}
