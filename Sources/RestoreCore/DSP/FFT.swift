import CFFTW3
import Foundation

/// Real FFT plans of one size, made once and reused by every caller.
/// Planning in FFTW is not thread-safe, so plans are created under a lock;
/// executing a plan on new arrays (`fftwf_execute_dft_r2c`) is.
public final class RealFFT: @unchecked Sendable {
    public let size: Int
    public var bins: Int { size / 2 + 1 }
    private let forwardPlan: fftwf_plan
    private let inversePlan: fftwf_plan

    nonisolated(unsafe) private static var cache: [Int: RealFFT] = [:]
    private static let lock = NSLock()

    public static func plan(size: Int) -> RealFFT {
        lock.lock(); defer { lock.unlock() }
        if let p = cache[size] { return p }
        let p = RealFFT(size: size)
        cache[size] = p
        return p
    }

    private init(size: Int) {
        precondition(size >= 2)
        self.size = size
        let real = fftwf_alloc_real(size)!
        let cplx = fftwf_alloc_complex(size / 2 + 1)!
        // FFTW_ESTIMATE: deterministic plans (MEASURE may pick different kernels run to run).
        forwardPlan = fftwf_plan_dft_r2c_1d(Int32(size), real, cplx, UInt32(FFTW_ESTIMATE))!
        inversePlan = fftwf_plan_dft_c2r_1d(Int32(size), cplx, real, UInt32(FFTW_ESTIMATE))!
        fftwf_free(real)
        fftwf_free(cplx)
    }

    /// A scratch pair aligned as FFTW expects for new-array execution.
    public final class Workspace {
        public let real: UnsafeMutablePointer<Float>
        public let complex: UnsafeMutablePointer<fftwf_complex>
        let n: Int
        public init(size: Int) {
            n = size
            real = fftwf_alloc_real(size)!
            complex = fftwf_alloc_complex(size / 2 + 1)!
        }
        deinit { fftwf_free(real); fftwf_free(complex) }
        /// Interleaved (re, im) view of the complex buffer.
        public var complexFloats: UnsafeMutablePointer<Float> {
            UnsafeMutableRawPointer(complex).assumingMemoryBound(to: Float.self)
        }
    }

    public func makeWorkspace() -> Workspace { Workspace(size: size) }

    /// `ws.real` → `ws.complex` (unnormalised).
    public func forward(_ ws: Workspace) { fftwf_execute_dft_r2c(forwardPlan, ws.real, ws.complex) }

    /// `ws.complex` → `ws.real`, unnormalised (scaled by `size`); destroys `ws.complex`.
    public func inverse(_ ws: Workspace) { fftwf_execute_dft_c2r(inversePlan, ws.complex, ws.real) }
}
