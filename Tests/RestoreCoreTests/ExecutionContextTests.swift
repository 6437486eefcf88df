import Dispatch
import Foundation
import XCTest
@testable import RestoreCore

/// The execution context is per thread: jobs side by side keep their own thread counts, and
/// the workers of a parallel section run single-threaded inside.
final class ExecutionContextTests: XCTestCase {
    func testRunSetsAndRestoresTheCallingThreadsContext() {
        let outer = ExecutionContext.current
        ExecutionContext(threads: 3).run {
            XCTAssertEqual(ExecutionContext.current.threads, 3)
            ExecutionContext(threads: 5).run { XCTAssertEqual(ExecutionContext.current.threads, 5) }
            XCTAssertEqual(ExecutionContext.current.threads, 3)
        }
        XCTAssertEqual(ExecutionContext.current, outer)
        XCTAssertEqual(ExecutionContext(threads: 0).threads, 1, "at least one thread")
    }

    func testConcurrentJobsSeeOnlyTheirOwnContext() {
        // Each job sets its own count and checks it many times while the others change theirs.
        let mismatches = Counter()
        DispatchQueue.concurrentPerform(iterations: 4) { job in
            ExecutionContext(threads: job + 2).run {
                for _ in 0..<2000 where ExecutionContext.current.threads != job + 2 { mismatches.add() }
            }
        }
        XCTAssertEqual(mismatches.value, 0)
    }

    func testParallelWorkersRunSingleThreaded() {
        let seen = Counter()
        ExecutionContext(threads: 4).run {
            parallelFor(8, threads: 4) { _ in if ExecutionContext.current.threads != 1 { seen.add() } }
            XCTAssertEqual(ExecutionContext.current.threads, 4, "the caller's context is back after the section")
        }
        XCTAssertEqual(seen.value, 0)
    }

    func testSplitAndUnsplitProductsAgree() {
        // A product large enough to split over threads equals the single-threaded one.
        let (m, n, k) = (96, 80, 64)
        let a = (0..<(m * k)).map { Float(($0 * 7) % 13) / 13 - 0.5 }, b = (0..<(k * n)).map { Float(($0 * 5) % 11) / 11 - 0.5 }
        func product(_ threads: Int) -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            ExecutionContext(threads: threads).run {
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            sgemm(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n, c: pc.baseAddress!, ldc: n)
                        }
                    }
                }
            }
            return c
        }
        let one = product(1), four = product(4)
        XCTAssertLessThan(maxAbsDiff(one, four), 1e-5)
    }
}

/// A thread-safe count.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
