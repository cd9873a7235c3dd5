import SQLKit
import Synchronization

/// Runs the writes of many concurrent callers in shared transactions: while
/// one transaction commits, new arrivals queue up and go into the next one
/// together. Each caller still gets its own result, and its write is
/// committed before it gets it. When a shared transaction fails, its items
/// are retried one by one, so one bad item cannot fail its neighbours; when
/// it fails because the database is away, every item fails at once, so that
/// callers hear it (and answer 503) without waiting out a retry per item.
public final class GroupCommitter<Item: Sendable, Output: Sendable>: Sendable {
    /// Writes a batch of items in an open transaction; returns one output per item, in order.
    public typealias Write = @Sendable ([Item], any SQLDatabase) async throws -> [Output]

    private struct Waiting {
        let item: Item
        let continuation: CheckedContinuation<Output, any Error>
    }

    private struct State {
        var waiting: [Waiting] = []
        var activeDrainers = 0
    }

    private let database: Database
    private let write: Write
    private let maxBatch: Int
    private let maxDrainers: Int
    private let individualAttempts: Int
    private let state = Mutex(State())

    /// - Parameters:
    ///   - maxBatch: most items in one transaction.
    ///   - maxDrainers: transactions in flight at once (1 suits SQLite's single
    ///     writer; a few suit PostgreSQL's pool).
    public init(database: Database, maxBatch: Int = 256, maxDrainers: Int? = nil, individualAttempts: Int = 3, write: @escaping Write) {
        self.database = database
        self.write = write
        self.maxBatch = maxBatch
        self.maxDrainers = maxDrainers ?? (database.dialect == .sqlite ? 1 : 4)
        self.individualAttempts = individualAttempts
    }

    /// Writes `item` in the next shared transaction and returns its output once committed.
    public func submit(_ item: Item) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let startDrainer = state.withLock { state -> Bool in
                state.waiting.append(Waiting(item: item, continuation: continuation))
                guard state.activeDrainers < maxDrainers else { return false }
                state.activeDrainers += 1
                return true
            }
            if startDrainer {
                // The drainer is the one serial path every request waits on:
                // at default priority its continuations queue behind request
                // handlers, and the writer idles (about 30% of the time at
                // 4,000 requests/s in bench/ingest.sh).
                Task(priority: .high) { await self.drain() }
            }
        }
    }

    private func drain() async {
        while let batch = nextBatch() {
            do {
                let items = batch.map(\.item)
                let outputs = try await database.transaction { sql in try await self.write(items, sql) }
                for (waiting, output) in zip(batch, outputs) { waiting.continuation.resume(returning: output) }
            } catch let error as DatabaseError {
                for waiting in batch { waiting.continuation.resume(throwing: error) }
            } catch {
                for waiting in batch { await writeAlone(waiting, firstError: error) }
            }
        }
    }

    private func writeAlone(_ waiting: Waiting, firstError: any Error) async {
        var lastError = firstError
        for _ in 0..<individualAttempts {
            do {
                let item = waiting.item
                let outputs = try await database.transaction { sql in try await self.write([item], sql) }
                waiting.continuation.resume(returning: outputs[0])
                return
            } catch let error as DatabaseError {
                waiting.continuation.resume(throwing: error)
                return
            } catch {
                lastError = error
            }
        }
        waiting.continuation.resume(throwing: lastError)
    }

    private func nextBatch() -> [Waiting]? {
        state.withLock { state in
            guard !state.waiting.isEmpty else {
                state.activeDrainers -= 1
                return nil
            }
            let count = min(maxBatch, state.waiting.count)
            let batch = Array(state.waiting.prefix(count))
            state.waiting.removeFirst(count)
            return batch
        }
    }
}
