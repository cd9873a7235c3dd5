import Synchronization

/// A first-come, first-served lock that suspends rather than blocks, for work
/// that must not interleave across `await`s (SQLite transactions on one shared
/// connection).
final class AsyncLock: Sendable {
    private struct State {
        var locked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func withLock<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state -> Bool in
                if state.locked {
                    state.waiters.append(continuation)
                    return false
                }
                state.locked = true
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.locked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}

/// One `AsyncLock`-style lock per key, created on first use and dropped when
/// free: work on different keys runs in parallel, work on one key in turn.
public final class KeyedAsyncLock: Sendable {
    private struct Entry {
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let held = Mutex<[String: Entry]>([:])

    public init() {}

    public func withLock<Result: Sendable>(_ key: String, _ body: () async throws -> Result) async throws -> Result {
        await acquire(key)
        defer { release(key) }
        return try await body()
    }

    /// Whether some task holds the lock of `key` at this moment.
    public func isHeld(_ key: String) -> Bool {
        held.withLock { $0[key] != nil }
    }

    private func acquire(_ key: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = held.withLock { held -> Bool in
                if held[key] != nil {
                    held[key]!.waiters.append(continuation)
                    return false
                }
                held[key] = Entry()
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    private func release(_ key: String) {
        let next = held.withLock { held -> CheckedContinuation<Void, Never>? in
            guard var entry = held[key], !entry.waiters.isEmpty else {
                held[key] = nil
                return nil
            }
            let first = entry.waiters.removeFirst()
            held[key] = entry
            return first
        }
        next?.resume()
    }
}
