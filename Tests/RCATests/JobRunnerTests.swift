import Foundation
import Logging
import RCAStore
import RCATesting
import ServiceLifecycle
import Synchronization
import Testing

/// A handler that records each run and behaves as the test scripts it.
final class ScriptedHandler: JobHandler {
    private let runs = Mutex<[Int64]>([])
    private let behaviour: @Sendable (_ job: ClaimedJob, _ runNumber: Int) async throws -> Void

    init(_ behaviour: @escaping @Sendable (_ job: ClaimedJob, _ runNumber: Int) async throws -> Void = { _, _ in }) {
        self.behaviour = behaviour
    }

    func run(_ job: ClaimedJob, completion: JobCompletion) async throws {
        let number = runs.withLock { runs in
            runs.append(job.id)
            return runs.count
        }
        try await behaviour(job, number)
    }

    var runCount: Int { runs.withLock { $0.count } }
    var jobIDs: [Int64] { runs.withLock { $0 } }
}

@Suite("Job runner")
struct JobRunnerTests {
    static let fastRetries = RetryPolicy(baseDelay: .milliseconds(20), maximumDelay: .milliseconds(50))

    /// Runs `runner` as a service until `condition` holds (or times out), then
    /// shuts it down gracefully.
    static func run(_ runner: JobRunner, until condition: @Sendable () async throws -> Bool) async throws {
        let group = ServiceGroup(configuration: .init(services: [runner], logger: TestDatabase.quietLogger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = ContinuousClock.now + .seconds(20)
            while try await !condition(), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    static func states(_ queue: JobQueue, kind: String) async throws -> [String] {
        try await queue.jobs(kind: kind).map(\.state)
    }

    @Test("runs every job once with the handler of its kind", arguments: TestBackend.enabled)
    func runsEveryJob(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database)
            for index in 0..<20 { try await queue.enqueue(kind: "work", payload: "\(index)") }
            let handler = ScriptedHandler()
            let runner = JobRunner(queue: queue, handlers: ["work": handler], concurrency: 3, logger: TestDatabase.quietLogger)

            try await Self.run(runner) { try await Self.states(queue, kind: "work").allSatisfy { $0 == "done" } }

            #expect(handler.runCount == 20)
            #expect(Set(handler.jobIDs).count == 20)
        }
    }

    @Test("a failing job is retried with backoff until it succeeds", arguments: TestBackend.enabled)
    func retriesUntilSuccess(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database)
            try await queue.enqueue(kind: "flaky", payload: "{}")
            struct Unavailable: Error {}
            let handler = ScriptedHandler { _, run in if run < 3 { throw Unavailable() } }
            let runner = JobRunner(queue: queue, handlers: ["flaky": handler], retryPolicy: Self.fastRetries, logger: TestDatabase.quietLogger)

            try await Self.run(runner) { try await Self.states(queue, kind: "flaky") == ["done"] }

            #expect(handler.runCount == 3)
            let record = try #require(try await queue.jobs(kind: "flaky").first)
            #expect(record.attempts == 3)
            #expect(record.lastError?.contains("Unavailable") == true)
        }
    }

    /// Stores its work (a follow-up job, due too late to be run here) and
    /// completes its job in one transaction; the first run fails after
    /// completing, before the commit.
    final class CompletingHandler: JobHandler {
        let queue: JobQueue
        let runs = Mutex(0)
        init(queue: JobQueue) { self.queue = queue }

        func run(_ job: ClaimedJob, completion: JobCompletion) async throws {
            let run = runs.withLock { runs in
                runs += 1
                return runs
            }
            struct FailedBeforeCommit: Error {}
            try await queue.database.transaction { sql in
                try await self.queue.enqueue(kind: "follow-up", payload: "run \(run)", runAfter: .distantFuture, on: sql)
                try await completion.complete(on: sql)
                if run == 1 { throw FailedBeforeCommit() }
            }
        }
    }

    @Test("a handler that completes its job in the transaction of its work commits both at once, and the runner writes no second completion",
          arguments: TestBackend.enabled)
    func completionWithTheWork(backend: TestBackend) async throws {
        let recorder = StatementRecorder()
        try await TestDatabase.with(backend, logger: recorder.logger) { database, _ in
            let queue = JobQueue(database: database)
            try await queue.enqueue(kind: "work", payload: "{}")
            let handler = CompletingHandler(queue: queue)
            let runner = JobRunner(queue: queue, handlers: ["work": handler], retryPolicy: Self.fastRetries, logger: TestDatabase.quietLogger)
            recorder.start()

            try await Self.run(runner) { try await Self.states(queue, kind: "work") == ["done"] }

            #expect(handler.runs.withLock { $0 } == 2, "the completion rolled back with the failed work, so the job ran again")
            #expect(try await queue.jobs(kind: "follow-up").map(\.payload) == ["run 2"])
            let finishes = recorder.statements.filter { $0.hasPrefix("UPDATE jobs") && $0.contains("lease_owner = NULL") }
            #expect(finishes.count == 3, "two completions in the handler's transactions and the retry between them: \(finishes)")
        }
    }

    /// Leases a "second" job to its own worker in the transaction that
    /// completes the "first", and hands it off once that has committed.
    final class HandingOffHandler: JobHandler {
        let queue: JobQueue
        let leased = Mutex<ClaimedJob?>(nil)
        init(queue: JobQueue) { self.queue = queue }

        func run(_ job: ClaimedJob, completion: JobCompletion) async throws {
            let next = try await queue.database.transaction { sql in
                let next = try await completion.lease(kind: "second", payload: "after \(job.id)", uniqueKey: "second:\(job.id)", on: sql)
                try await completion.complete(on: sql)
                return next
            }
            leased.withLock { $0 = next }
            if let next { completion.handOff(next) }
        }
    }

    @Test("a job handed off to the worker that leased it runs there at once, under the lease it was given, without a claim",
          arguments: TestBackend.enabled)
    func handOff(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database)
            try await queue.enqueue(kind: "first", payload: "{}")
            let first = HandingOffHandler(queue: queue)
            let ranSecond = Mutex<[ClaimedJob]>([])
            let second = ScriptedHandler { job, _ in ranSecond.withLock { $0.append(job) } }
            let runner = JobRunner(
                queue: queue, handlers: ["first": first, "second": second], concurrency: 1, pollInterval: .milliseconds(50),
                logger: TestDatabase.quietLogger
            )

            try await Self.run(runner) { try await Self.states(queue, kind: "second") == ["done"] }

            let leased = try #require(first.leased.withLock { $0 })
            #expect(ranSecond.withLock { $0 } == [leased], "a claim would have run it under a lease token of its own")
            #expect(try await queue.jobs(kind: "second").map(\.attempts) == [1])
            #expect(try await Self.states(queue, kind: "first") == ["done"])
        }
    }

    @Test("a job leased to a worker that stops before running it is claimed by another once the lease runs out; its unique key holds",
          arguments: TestBackend.enabled)
    func leasedJobOutlivesItsWorker(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database, leaseDuration: .seconds(1))
            let leasedAt = Date()
            let leased = try await database.transaction { sql in
                try await queue.enqueueLeased(
                    kind: "second", payload: "{}", uniqueKey: "second:1", owner: "worker-that-was-killed", now: leasedAt, on: sql
                )
            }
            #expect(leased != nil)
            let again = try await database.transaction { sql in
                try await queue.enqueueLeased(kind: "second", payload: "{}", uniqueKey: "second:1", owner: "another", on: sql)
            }
            #expect(again == nil)
            #expect(try await queue.claim(owner: "eager", now: leasedAt.addingTimeInterval(0.5)).isEmpty, "the lease is held")
            let handler = ScriptedHandler()
            let runner = JobRunner(queue: queue, handlers: ["second": handler], concurrency: 1, pollInterval: .milliseconds(50), logger: TestDatabase.quietLogger)

            try await Self.run(runner) { try await Self.states(queue, kind: "second") == ["done"] }

            #expect(handler.runCount == 1)
            #expect(try await queue.jobs(kind: "second").map(\.attempts) == [2])
        }
    }

    @Test("a permanent failure is not retried", arguments: TestBackend.enabled)
    func permanentFailure(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database)
            try await queue.enqueue(kind: "notify", payload: "{}")
            let handler = ScriptedHandler { _, _ in throw JobFailure.permanent("Slack answered invalid_auth") }
            let runner = JobRunner(queue: queue, handlers: ["notify": handler], retryPolicy: Self.fastRetries, logger: TestDatabase.quietLogger)

            try await Self.run(runner) { try await Self.states(queue, kind: "notify") == ["failed"] }

            #expect(handler.runCount == 1)
            #expect(try await queue.jobs(kind: "notify").first?.lastError == "Slack answered invalid_auth")
        }
    }

    @Test("a job that keeps failing stops at its attempt limit", arguments: TestBackend.enabled)
    func attemptLimit(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database, defaultMaxAttempts: 3)
            try await queue.enqueue(kind: "broken", payload: "{}")
            struct Broken: Error {}
            let handler = ScriptedHandler { _, _ in throw Broken() }
            let runner = JobRunner(queue: queue, handlers: ["broken": handler], retryPolicy: Self.fastRetries, logger: TestDatabase.quietLogger)

            try await Self.run(runner) { try await Self.states(queue, kind: "broken") == ["failed"] }

            #expect(handler.runCount == 3)
        }
    }

    @Test("a job of an unknown kind fails with a clear error", arguments: TestBackend.enabled)
    func unknownKind(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database)
            try await queue.enqueue(kind: "mystery", payload: "{}")
            let runner = JobRunner(queue: queue, handlers: [:], logger: TestDatabase.quietLogger)

            try await Self.run(runner) { try await Self.states(queue, kind: "mystery") == ["failed"] }

            #expect(try await queue.jobs(kind: "mystery").first?.lastError == #"no handler for job kind "mystery""#)
        }
    }

    @Test("a job held by a worker that died is completed exactly once after its lease runs out", arguments: TestBackend.enabled)
    func workerDiedMidJob(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database, leaseDuration: .seconds(1))
            try await queue.enqueue(kind: "analyze", payload: "{}")
            let abandoned = try #require(try await queue.claim(owner: "worker-that-was-killed").first)
            let handler = ScriptedHandler()
            let runner = JobRunner(
                queue: queue, handlers: ["analyze": handler], concurrency: 2, pollInterval: .milliseconds(50), logger: TestDatabase.quietLogger
            )

            try await Self.run(runner) { try await Self.states(queue, kind: "analyze") == ["done"] }

            #expect(handler.runCount == 1)
            #expect(try await queue.jobs(kind: "analyze").first?.attempts == 2)
            #expect(try await queue.complete(abandoned) == false, "the dead worker's lease is void")
        }
    }

    @Test("the runner renews the lease of a job while its handler runs", arguments: TestBackend.enabled)
    func renewsLease(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database, leaseDuration: .seconds(3))
            try await queue.enqueue(kind: "slow", payload: "{}")
            let release = Mutex(false)
            let handler = ScriptedHandler { _, _ in
                while !release.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
            }
            let runner = JobRunner(queue: queue, handlers: ["slow": handler], concurrency: 1, pollInterval: .milliseconds(50), logger: TestDatabase.quietLogger)
            let group = ServiceGroup(configuration: .init(services: [runner], logger: TestDatabase.quietLogger))

            let (first, renewed) = try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                var first: Int64?
                var renewed: Int64?
                let deadline = ContinuousClock.now + .seconds(30)
                while renewed == nil, ContinuousClock.now < deadline {
                    if let expiry = try await queue.jobs(kind: "slow").first?.leaseExpiresAt {
                        if let initial = first, expiry > initial { renewed = expiry } else if first == nil { first = expiry }
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                release.withLock { $0 = true }
                while try await Self.states(queue, kind: "slow") != ["done"], ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return (first, renewed)
            }

            let initial = try #require(first)
            #expect(try #require(renewed) > initial, "the lease was pushed further out while the job ran")
            #expect(handler.runCount == 1)
            #expect(try await Self.states(queue, kind: "slow") == ["done"])
        }
    }

    @Test("graceful shutdown lets the job in hand finish and claims nothing new", arguments: TestBackend.enabled)
    func gracefulShutdown(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database)
            try await queue.enqueue(kind: "work", payload: "first")
            let started = Mutex(false)
            let handler = ScriptedHandler { _, _ in
                started.withLock { $0 = true }
                try await Task.sleep(for: .milliseconds(1500))
            }
            let runner = JobRunner(queue: queue, handlers: ["work": handler], concurrency: 1, logger: TestDatabase.quietLogger)
            let group = ServiceGroup(configuration: .init(services: [runner], logger: TestDatabase.quietLogger))

            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                while !started.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
                try await queue.enqueue(kind: "work", payload: "second")
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }

            #expect(try await Self.states(queue, kind: "work") == ["done", "queued"])
            #expect(handler.runCount == 1)
        }
    }

    @Test("a job enqueued while workers idle is picked up without waiting for the next poll")
    func wakeup() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let queue = JobQueue(database: database)
            let wakeups = JobWakeups()
            let handler = ScriptedHandler()
            let runner = JobRunner(
                queue: queue, handlers: ["work": handler], concurrency: 1, pollInterval: .seconds(30), wakeups: wakeups, logger: TestDatabase.quietLogger
            )
            let group = ServiceGroup(configuration: .init(services: [runner], logger: TestDatabase.quietLogger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                try await Task.sleep(for: .milliseconds(200))
                try await queue.enqueue(kind: "work", payload: "{}")
                wakeups.signal(jobs: 1)
                let deadline = ContinuousClock.now + .seconds(5)
                while handler.runCount == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            #expect(handler.runCount == 1)
        }
    }
}

@Suite("Retry policy")
struct RetryPolicyTests {
    @Test("delays grow exponentially with jitter and stop at the cap")
    func backoff() {
        let policy = RetryPolicy(baseDelay: .seconds(2), maximumDelay: .seconds(60))
        for _ in 0..<50 {
            let first = policy.delay(afterAttempt: 1)
            #expect(first >= .seconds(1) && first <= .seconds(2))
            let fourth = policy.delay(afterAttempt: 4)
            #expect(fourth >= .seconds(8) && fourth <= .seconds(16))
            let late = policy.delay(afterAttempt: 40)
            #expect(late >= .seconds(30) && late <= .seconds(60))
        }
    }
}
