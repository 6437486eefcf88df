import Foundation

/// How much of the machine one job may use: the thread count for the engine's parallel
/// loops and for splitting GEMMs. It is chosen once per job and lives in a thread-local
/// slot — the command line adopts it for its thread, `restore run --jobs N` gives each job
/// its share — and the workers of a parallel section run with one thread each, so a GEMM
/// inside a worker never splits again. Nothing process-wide is set, saved or restored around
/// calls, so jobs running side by side cannot change each other's setting.
public struct ExecutionContext: Sendable, Equatable {
    /// Threads the job may use (at least one).
    public let threads: Int

    /// A context of `threads` threads; fewer than one means one. Use it with `run` for one
    /// call or `adopt` for the rest of the calling thread's work.
    public init(threads: Int) { self.threads = max(1, threads) }

    /// Every core this process may use: the context of a thread that never chose one.
    public static let machine = ExecutionContext(threads: ProcessInfo.processInfo.activeProcessorCount)
    /// One thread: what the workers of a parallel section run with.
    public static let single = ExecutionContext(threads: 1)

    /// The calling thread's context.
    public static var current: ExecutionContext {
        guard let p = pthread_getspecific(contextKey) else { return .machine }
        return Unmanaged<ContextBox>.fromOpaque(p).takeUnretainedValue().context
    }

    /// Runs `body` with this context on the calling thread, then puts the previous one back.
    public func run<T>(_ body: () throws -> T) rethrows -> T {
        let previous = pthread_getspecific(contextKey)
        let box = Unmanaged.passRetained(ContextBox(self)).toOpaque()
        pthread_setspecific(contextKey, box)
        defer {
            pthread_setspecific(contextKey, previous)
            Unmanaged<ContextBox>.fromOpaque(box).release()
        }
        return try body()
    }

    /// Makes this the calling thread's context from now on (a command's main thread, which
    /// runs one job). The slot holds one reference; an earlier adopted context is released.
    public func adopt() {
        let previous = pthread_getspecific(contextKey)
        pthread_setspecific(contextKey, Unmanaged.passRetained(ContextBox(self)).toOpaque())
        if let previous { Unmanaged<ContextBox>.fromOpaque(previous).release() }
    }
}

private final class ContextBox {
    let context: ExecutionContext
    init(_ context: ExecutionContext) { self.context = context }
}

/// The thread-local slot (created once; its value is owned by `run`/`adopt`).
private let contextKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()
