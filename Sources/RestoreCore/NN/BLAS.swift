import CKernels
import COpenBLAS

/// Row-major single-precision GEMM: C = alpha · op(A) · op(B) + beta · C.
/// `m × k` times `k × n`; leading dimensions are the row strides as stored.
/// On the oneDNN backend (default) this is oneDNN's JIT sgemm (AVX-512 where the CPU has
/// it; this environment pins OpenBLAS to its AVX2 kernels), on the OpenBLAS fallback
/// `cblas_sgemm`; either runs single-threaded inside, and when the calling thread's
/// `ExecutionContext` has several threads, large products are split in row (or column)
/// blocks over that many workers (inside a parallel section the context is one thread, so
/// nothing splits twice). No OpenMP team is ever started: libgomp's idle threads spin for
/// milliseconds after each parallel region (half the CPU time of a loaded `bwe` run), and
/// OpenBLAS's own threads are set to one once, so its process-wide setting never matters.
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    let onednn = ComputeBackend.current == .onednn
    if !onednn { _ = openBLASSingleThreaded }
    func block(m: Int, n: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) {
        gemmBlock(onednn: onednn, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                  b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
    let threads = ExecutionContext.current.threads
    guard threads > 1 && m * n * k >= 1 << 18 && max(m, n) >= 32 else {
        block(m: m, n: n, a: a, b: b, c: c)
        return
    }
    let splitRows = m >= n
    let total = splitRows ? m : n
    let workers = max(1, min(threads, total / 16))
    let step = ((total + workers - 1) / workers + 15) / 16 * 16
    let (sa, sb, sc) = (SharedPointer(a), SharedPointer(b), SharedPointer(c))
    parallelWorkers(workers) { w in
        let lo = w * step, hi = min(total, lo + step)
        guard lo < hi else { return }
        if splitRows {
            gemmBlock(onednn: onednn, transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha,
                      a: sa.base + (transA ? lo : lo * lda), lda: lda, b: sb.base, ldb: ldb, beta: beta, c: sc.base + lo * ldc, ldc: ldc)
        } else {
            gemmBlock(onednn: onednn, transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha,
                      a: sa.base, lda: lda, b: sb.base + (transB ? lo * ldb : lo), ldb: ldb, beta: beta, c: sc.base + lo, ldc: ldc)
        }
    }
}

/// One single-threaded product (oneDNN's sgemm or OpenBLAS's).
@inline(__always)
private func gemmBlock(onednn: Bool, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                       a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                       beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if onednn {
        rk_set_omp_threads(1)
        dnnlSgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                  beta: beta, c: c, ldc: ldc)
    } else {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// OpenBLAS's own threads, set to one the first time the fallback runs: splitting is ours.
private let openBLASSingleThreaded: Void = openblas_set_num_threads(1)

