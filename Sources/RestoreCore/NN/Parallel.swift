import Dispatch

/// A raw pointer handed to parallel workers that write disjoint parts of one buffer.
public struct SharedPointer<T>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<T>
    public init(_ base: UnsafeMutablePointer<T>) { self.base = base }
    public init(_ base: UnsafePointer<T>) { self.base = UnsafeMutablePointer(mutating: base) }
}

/// Runs `body(job)` for job in 0..<jobs on up to `threads` workers (strided assignment).
/// With more than one worker, each runs single-threaded inside (`ExecutionContext.single`).
public func parallelFor(_ jobs: Int, threads: Int = ExecutionContext.current.threads, _ body: @Sendable (Int) -> Void) {
    let workers = max(1, min(threads, jobs))
    if workers == 1 { for j in 0..<jobs { body(j) }; return }
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        ExecutionContext.single.run {
            var j = w
            while j < jobs { body(j); j += workers }
        }
    }
}

/// Runs `body(worker)` on `workers` threads, each single-threaded inside; each worker picks
/// its own jobs.
public func parallelWorkers(_ workers: Int, _ body: @Sendable (Int) -> Void) {
    if workers <= 1 { body(0); return }
    DispatchQueue.concurrentPerform(iterations: workers) { w in ExecutionContext.single.run { body(w) } }
}
