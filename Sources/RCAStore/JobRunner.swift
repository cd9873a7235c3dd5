import Foundation
import Logging
import RCACore
import ServiceLifecycle
import SQLKit
import Synchronization

/// Does the work of one kind of job. Throwing retries the job later with
/// backoff; throwing `JobFailure.permanent` gives up at once. Returning marks
/// the job done, in a statement of its own unless the handler already did so
/// in the transaction that stored its work (`completion`).
public protocol JobHandler: Sendable {
    func run(_ job: ClaimedJob, completion: JobCompletion) async throws

    /// Called once when the runner gives up on a job, before it is marked
    /// failed, so that the failure can be made visible where people look.
    func gaveUp(on job: ClaimedJob, reason: String) async
}

extension JobHandler {
    public func gaveUp(on job: ClaimedJob, reason: String) async {}
}

/// How a handler asks the runner to treat its failure.
public enum JobFailure: Error, Equatable {
    /// Retrying cannot help (bad input, a 4xx from a remote service).
    case permanent(String)
    /// Retry, but not before the given delay (a remote service's `Retry-After`).
    case retryAfter(Duration, String)
}

/// When a failed job is tried again: exponential backoff with full jitter,
/// capped, so that many failing jobs do not retry in lockstep.
public struct RetryPolicy: Sendable {
    public var baseDelay: Duration
    public var maximumDelay: Duration

    public init(baseDelay: Duration = .seconds(2), maximumDelay: Duration = .seconds(600)) {
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
    }

    /// The delay before the attempt after `attempt` (1-based).
    public func delay(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = min(baseDelay.seconds * pow(2, Double(exponent)), maximumDelay.seconds)
        let jittered = Double.random(in: (ceiling / 2)...ceiling)
        return .milliseconds(Int64(jittered * 1000))
    }
}

/// Lets a handler mark its job done inside the transaction that stores the
/// job's effects: the work and its completion then commit together, and the
/// job costs one write less (on SQLite, one turn of the single writer less).
/// It also lets the handler hand the next step of the work to its own
/// worker, which runs it at once instead of claiming it from the queue.
public final class JobCompletion: Sendable {
    private let queue: JobQueue
    private let job: ClaimedJob
    private let worker: String
    /// Nil until `complete(on:)` ran; then whether the job's lease was still held.
    private let outcome = Mutex<Bool?>(nil)
    private let handedOff = Mutex<[ClaimedJob]>([])

    init(queue: JobQueue, job: ClaimedJob, worker: String) {
        self.queue = queue
        self.job = job
        self.worker = worker
    }

    /// Adds a job within the caller's open transaction, leased to this
    /// worker; nil when a job of the same `uniqueKey` exists. Once the
    /// transaction has committed, pass it to `handOff(_:)`: until then the
    /// job may not exist. A job leased and not handed off waits for its
    /// lease to run out, as it would if the worker had stopped.
    public func lease(kind: String, payload: String, uniqueKey: String? = nil, on sql: any SQLDatabase) async throws -> ClaimedJob? {
        try await queue.enqueueLeased(kind: kind, payload: payload, uniqueKey: uniqueKey, owner: worker, on: sql)
    }

    /// Has the runner run `job` (leased with `lease`, its transaction
    /// committed) right after the current one, on the same worker.
    public func handOff(_ job: ClaimedJob) {
        handedOff.withLock { $0.append(job) }
    }

    /// Marks the job done within the caller's open transaction. A lease that
    /// was lost meanwhile (it ran out and another worker holds the job) does
    /// not fail the transaction: the work stands, and the runner logs it.
    public func complete(on sql: any SQLDatabase) async throws {
        completed(held: try await queue.complete(job, on: sql))
    }

    /// The statement that marks the job done, for a store method that runs
    /// it inside a statement of its own (a data-modifying `WITH` on
    /// PostgreSQL); it returns a row when the lease was held. Report what it
    /// returned with `completed(held:)`.
    var completionStatement: SQLQueryString { JobQueue.finishStatement(job, state: "done") }

    func completed(held: Bool) {
        outcome.withLock { $0 = held }
    }

    /// Whether the lease was held when the handler completed the job; nil when it did not.
    var completedByHandler: Bool? { outcome.withLock { $0 } }

    /// The jobs handed off, in the order given.
    var nextJobs: [ClaimedJob] { handedOff.withLock { $0 } }
}

/// The worker pool: claims due jobs and runs each with the handler of its
/// kind, a few at a time. On graceful shutdown it stops claiming and lets the
/// jobs in hand finish.
public struct JobRunner: Service {
    public let queue: JobQueue
    public let handlers: [String: any JobHandler]
    public let concurrency: Int
    public let pollInterval: Duration
    public let retryPolicy: RetryPolicy
    public let wakeups: JobWakeups
    private let workerName: String
    private let logger: Logger

    public init(
        queue: JobQueue,
        handlers: [String: any JobHandler],
        concurrency: Int = 4,
        pollInterval: Duration = .milliseconds(500),
        retryPolicy: RetryPolicy = RetryPolicy(),
        wakeups: JobWakeups = JobWakeups(),
        workerName: String = "worker-\(ProcessInfo.processInfo.processIdentifier)-\(RandomSecret.token(bits: 24))",
        logger: Logger
    ) {
        self.queue = queue
        self.handlers = handlers
        self.concurrency = max(1, concurrency)
        self.pollInterval = pollInterval
        self.retryPolicy = retryPolicy
        self.wakeups = wakeups
        self.workerName = workerName
        self.logger = logger
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for index in 0..<concurrency {
                group.addTask { await workLoop(name: "\(workerName)-\(index)") }
            }
        }
    }

    private func workLoop(name: String) async {
        var hadWork = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let job: ClaimedJob?
            do {
                job = try await queue.claim(owner: name, limit: 1, afterWork: hadWork).first
            } catch {
                logger.warning("cannot claim jobs", metadata: ["error": "\(Database.describe(error))"])
                job = nil
            }
            hadWork = job != nil
            if let job {
                var inHand = [job]
                while !inHand.isEmpty {
                    inHand = await process(inHand.removeFirst(), worker: name) + inHand
                }
                continue
            }
            await wakeups.wait(upTo: pollInterval)
        }
    }

    /// Runs one claimed job to an outcome: done, queued again, or failed.
    /// Returns the jobs its handler handed off to `worker`, which hold
    /// leases of their own and so are run even when this one failed.
    func process(_ job: ClaimedJob, worker: String) async -> [ClaimedJob] {
        var logger = self.logger
        logger[metadataKey: "job_id"] = "\(job.id)"
        logger[metadataKey: "job_kind"] = "\(job.kind)"
        guard let handler = handlers[job.kind] else {
            await record { try await queue.fail(job, error: "no handler for job kind \"\(job.kind)\"") }
            logger.error("no handler for job kind")
            return []
        }
        guard job.attempt <= job.maxAttempts else {
            let reason = "gave up after \(job.maxAttempts) attempts whose workers stopped before finishing"
            await handler.gaveUp(on: job, reason: reason)
            await record { try await queue.fail(job, error: reason) }
            logger.error("job abandoned too often", metadata: ["attempts": "\(job.attempt)"])
            return []
        }
        let completion = JobCompletion(queue: queue, job: job, worker: worker)
        do {
            try await withLeaseKeptAlive(job) { try await handler.run(job, completion: completion) }
            await record {
                if let held = completion.completedByHandler { return held }
                return try await queue.complete(job)
            }
        } catch let failure as JobFailure {
            switch failure {
            case .permanent(let reason):
                logger.warning("job failed permanently", metadata: ["error": "\(reason)"])
                await handler.gaveUp(on: job, reason: reason)
                await record { try await queue.fail(job, error: reason) }
            case .retryAfter(let delay, let reason):
                await retryOrFail(job, handler: handler, reason: reason, minimumDelay: delay, logger: logger)
            }
        } catch {
            await retryOrFail(job, handler: handler, reason: String(describing: error), minimumDelay: .zero, logger: logger)
        }
        return completion.nextJobs
    }

    private func retryOrFail(_ job: ClaimedJob, handler: any JobHandler, reason: String, minimumDelay: Duration, logger: Logger) async {
        if job.attempt >= job.maxAttempts {
            logger.warning("job failed after its last attempt", metadata: ["attempt": "\(job.attempt)", "error": "\(reason)"])
            await handler.gaveUp(on: job, reason: reason)
            await record { try await queue.fail(job, error: reason) }
            return
        }
        let delay = max(retryPolicy.delay(afterAttempt: job.attempt), minimumDelay)
        logger.info("job will be retried", metadata: ["attempt": "\(job.attempt)", "delay": "\(delay)", "error": "\(reason)"])
        await record { try await queue.retry(job, at: Date().addingTimeInterval(delay.seconds), error: reason) }
    }

    /// Runs `body` while a companion task renews the job's lease, so that a
    /// long job is not mistaken for an abandoned one.
    private func withLeaseKeptAlive(_ job: ClaimedJob, _ body: @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let interval = queue.leaseDuration / 3
                while true {
                    try await Task.sleep(for: interval)
                    _ = try? await queue.extendLease(job)
                }
            }
            defer { group.cancelAll() }
            try await body()
        }
    }

    /// Writes a job's outcome; if the database is briefly away the lease will
    /// run out and the job will be claimed again, so losing this write is safe.
    private func record(_ write: @Sendable () async throws -> Bool) async {
        do {
            if try await !write() {
                logger.warning("a job's lease was lost before its outcome was recorded")
            }
        } catch {
            logger.warning("cannot record a job's outcome", metadata: ["error": "\(Database.describe(error))"])
        }
    }
}

/// Wakes idle workers as soon as work is enqueued in this process, so that
/// a job does not wait for the next poll.
public final class JobWakeups: Sendable {
    private enum Waiter {
        case waiting(CheckedContinuation<Void, Never>)
        case woken
    }

    private let waiters = Mutex<[UInt64: Waiter]>([:])
    private let nextID = Atomic<UInt64>(0)

    public init() {}

    /// Wakes as many idle workers as there are new jobs (`jobs`), rather than
    /// all of them: the others would only race to claim nothing, and on
    /// SQLite every claim is a write transaction. A worker that finishes a
    /// job claims the next without waiting, so none is left behind.
    public func signal(jobs: Int) {
        let woken = waiters.withLock { waiters -> [CheckedContinuation<Void, Never>] in
            var continuations: [CheckedContinuation<Void, Never>] = []
            for (id, waiter) in waiters where continuations.count < jobs {
                if case .waiting(let continuation) = waiter {
                    continuations.append(continuation)
                    waiters[id] = .woken
                }
            }
            return continuations
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns when signalled, after `timeout`, or on graceful shutdown, whichever comes first.
    func wait(upTo timeout: Duration) async {
        let id = nextID.add(1, ordering: .relaxed).newValue
        await withDiscardingTaskGroup { group in
            group.addTask {
                try? await cancelWhenGracefulShutdown {
                    try await Task.sleep(for: timeout)
                }
                self.wake(id)
            }
            await withCheckedContinuation { continuation in
                let alreadyWoken = waiters.withLock { waiters -> Bool in
                    if case .woken? = waiters[id] { return true }
                    waiters[id] = .waiting(continuation)
                    return false
                }
                if alreadyWoken { continuation.resume() }
            }
            group.cancelAll()
        }
        waiters.withLock { _ = $0.removeValue(forKey: id) }
    }

    private func wake(_ id: UInt64) {
        let continuation = waiters.withLock { waiters -> CheckedContinuation<Void, Never>? in
            switch waiters[id] {
            case .waiting(let continuation)?:
                waiters[id] = .woken
                return continuation
            case .woken?:
                return nil
            case nil:
                waiters[id] = .woken
                return nil
            }
        }
        continuation?.resume()
    }
}
