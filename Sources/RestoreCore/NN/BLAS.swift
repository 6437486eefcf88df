import CKernels
import COpenBLAS

/// Row-major single-precision GEMM: C = alpha · op(A) · op(B) + beta · C.
/// `m × k` times `k × n`; leading dimensions are the row strides as stored.
/// On the oneDNN backend (default) this is oneDNN's JIT sgemm (AVX-512 where the CPU has
/// it; this environment pins OpenBLAS to its AVX2 kernels), single-threaded inside; with
/// OpenBLAS set to several threads, large products are split in row (or column) blocks
/// over that many workers, so `BLASThreads.set(1)` around parallel sections keeps meaning
/// one thread per call. No OpenMP team is ever started: libgomp's idle threads spin for
/// milliseconds after each parallel region (half the CPU time of a loaded `bwe` run).
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if ComputeBackend.current == .onednn {
        let threads = Int(openblas_get_num_threads())
        if threads > 1 && m * n * k >= 1 << 18 && max(m, n) >= 32 {
            let splitRows = m >= n
            let total = splitRows ? m : n
            let workers = min(threads, total / 16)
            let step = ((total + workers - 1) / workers + 15) / 16 * 16
            let (sa, sb, sc) = (SharedPointer(a), SharedPointer(b), SharedPointer(c))
            parallelWorkers(workers) { w in
                rk_set_omp_threads(1)
                let lo = w * step, hi = min(total, lo + step)
                guard lo < hi else { return }
                if splitRows {
                    dnnlSgemm(transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha,
                              a: sa.base + (transA ? lo : lo * lda), lda: lda, b: sb.base, ldb: ldb,
                              beta: beta, c: sc.base + lo * ldc, ldc: ldc)
                } else {
                    dnnlSgemm(transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha,
                              a: sa.base, lda: lda, b: sb.base + (transB ? lo * ldb : lo), ldb: ldb,
                              beta: beta, c: sc.base + lo, ldc: ldc)
                }
            }
            return
        }
        rk_set_omp_threads(1)
        dnnlSgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                  beta: beta, c: c, ldc: ldc)
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

public enum BLASThreads {
    /// Sets the thread count of subsequent GEMMs (OpenBLAS's setting, which the oneDNN
    /// path reads too).
    public static func set(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }
    public static var current: Int { Int(openblas_get_num_threads()) }
}
