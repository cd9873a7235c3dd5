import Foundation
import RCAStore
import RCATesting
import SQLKit
import Synchronization
import Testing

@Suite("Job queue")
struct JobQueueTests {
    @Test("a job is claimed, completed, and not claimed again", arguments: TestBackend.enabled)
    func claimAndComplete(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database)
            try await queue.enqueue(kind: "analyze", payload: #"{"ticket":"T-1"}"#)

            let claimed = try await queue.claim(owner: "w1")
            #expect(claimed.map(\.payload) == [#"{"ticket":"T-1"}"#])
            #expect(claimed.first?.attempt == 1)
            #expect(try await queue.claim(owner: "w2").isEmpty)
            #expect(try await queue.complete(try #require(claimed.first)))

            #expect(try await queue.claim(owner: "w2").isEmpty)
            #expect(try await queue.jobs(kind: "analyze").map(\.state) == ["done"])
        }
    }

    @Test("a job with a unique key is enqueued once", arguments: TestBackend.enabled)
    func uniqueKey(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database)
            let first = try await queue.enqueue(kind: "notify", payload: "{}", uniqueKey: "T-1/slack")
            let repeated = try await queue.enqueue(kind: "notify", payload: "{}", uniqueKey: "T-1/slack")
            let otherChannel = try await queue.enqueue(kind: "notify", payload: "{}", uniqueKey: "T-1/jira")
            #expect(first)
            #expect(!repeated)
            #expect(otherChannel)
            #expect(try await queue.jobs(kind: "notify").count == 2)
        }
    }

    @Test("a job enqueued in a transaction that rolls back does not exist", arguments: TestBackend.enabled)
    func enqueueRollsBack(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database)
            struct Abort: Error {}
            await #expect(throws: Abort.self) {
                try await database.transaction { sql in
                    try await queue.enqueue(kind: "analyze", payload: "{}", on: sql)
                    throw Abort()
                }
            }
            let jobs = try await queue.jobs(kind: "analyze")
            #expect(jobs.isEmpty)
        }
    }

    @Test("a job scheduled for later is not claimed before its time", arguments: TestBackend.enabled)
    func runAfter(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database)
            let later = Date().addingTimeInterval(60)
            try await queue.enqueue(kind: "analyze", payload: "{}", runAfter: later)

            #expect(try await queue.claim(owner: "w").isEmpty)
            #expect(try await queue.claim(owner: "w", now: later.addingTimeInterval(1)).count == 1)
        }
    }

    @Test("two workers racing for 200 jobs claim each exactly once", arguments: TestBackend.enabled)
    func racingWorkers(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database)
            try await database.transaction { sql in
                for index in 0..<200 {
                    try await queue.enqueue(kind: "race", payload: "\(index)", on: sql)
                }
            }

            let claimsPerWorker = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in ["w1", "w2"] {
                    group.addTask {
                        var mine: [String] = []
                        while true {
                            let batch = try await queue.claim(owner: worker, limit: 3)
                            if batch.isEmpty { return mine }
                            for job in batch {
                                mine.append(job.payload)
                                #expect(try await queue.complete(job))
                            }
                        }
                    }
                }
                return try await group.reduce(into: [[String]]()) { $0.append($1) }
            }

            let all = claimsPerWorker.flatMap { $0 }
            #expect(all.count == 200)
            #expect(Set(all).count == 200)
            #expect(claimsPerWorker.allSatisfy { !$0.isEmpty }, "both workers got work")
            #expect(try await queue.jobs(kind: "race").allSatisfy { $0.state == "done" && $0.attempts == 1 })
        }
    }

    @Test("on PostgreSQL a claim after one that got work leases in one statement, and still looks for leases that ran out once a second",
          arguments: TestBackend.enabled)
    func claimAfterWork(backend: TestBackend) async throws {
        let recorder = StatementRecorder()
        try await TestDatabase.with(backend, logger: recorder.logger) { database, _ in
            let queue = JobQueue(database: database, leaseDuration: .seconds(30))
            for number in 1...4 { try await queue.enqueue(kind: "analyze", payload: "{\"n\":\(number)}") }
            let start = Date()
            let crashed = try #require(try await queue.claim(owner: "crashed", now: start).first)

            recorder.start()
            // The SQLite checkpointer's statements are logged too.
            var statements: [String] { recorder.statements.filter { $0.contains("jobs") } }
            let first = try await queue.claim(owner: "w", now: start.addingTimeInterval(31), afterWork: true)
            #expect(first.map(\.id) == [crashed.id], "the first claim looks, and finds the lease that ran out")
            let looked = statements.count
            #expect(looked >= 2)

            let second = try await queue.claim(owner: "w", now: start.addingTimeInterval(31.5), afterWork: true)
            #expect(second.count == 1 && second[0].id != crashed.id)
            let leaseOnly = backend == .postgres ? 1 : 2
            #expect(statements.count == looked + leaseOnly, "one UPDATE … RETURNING on PostgreSQL: \(statements.suffix(2))")
            #expect(statements.last?.hasPrefix("UPDATE jobs") == true)

            let third = try await queue.claim(owner: "w", now: start.addingTimeInterval(32.6), afterWork: true)
            #expect(third.count == 1)
            #expect(statements.count == looked + leaseOnly + 2, "a second later it looks again: \(statements.suffix(2))")
            #expect(try await queue.claim(owner: "w", now: start.addingTimeInterval(32.7)).count == 1, "without work before, it looks first as always")
        }
    }

    @Test("a job whose lease ran out is claimed again, and the first holder can no longer finish it", arguments: TestBackend.enabled)
    func leaseExpiry(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database, leaseDuration: .seconds(30))
            try await queue.enqueue(kind: "analyze", payload: "{}")
            let first = try #require(try await queue.claim(owner: "crashed").first)

            #expect(try await queue.claim(owner: "w2", now: Date().addingTimeInterval(10)).isEmpty)
            let second = try #require(try await queue.claim(owner: "w2", now: Date().addingTimeInterval(31)).first)
            #expect(second.id == first.id)
            #expect(second.attempt == 2)

            #expect(try await queue.complete(first) == false)
            #expect(try await queue.complete(second))
            #expect(try await queue.jobs(kind: "analyze").map(\.state) == ["done"])
        }
    }

    @Test("a renewed lease keeps other claimers away until the renewed time", arguments: TestBackend.enabled)
    func renewal(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database, leaseDuration: .seconds(30))
            try await queue.enqueue(kind: "analyze", payload: "{}")
            let start = Date()
            let held = try #require(try await queue.claim(owner: "w1", now: start).first)

            #expect(try await queue.extendLease(held, now: start.addingTimeInterval(20)))
            #expect(try await queue.claim(owner: "w2", now: start.addingTimeInterval(35)).isEmpty, "the original lease would have run out at 30 s")
            #expect(try await queue.claim(owner: "w2", now: start.addingTimeInterval(51)).count == 1, "the renewed one runs out at 50 s")
            #expect(try await queue.extendLease(held, now: start.addingTimeInterval(52)) == false, "a lost lease cannot be renewed")
        }
    }

    @Test("retry puts the job back with its error; fail keeps it for inspection", arguments: TestBackend.enabled)
    func retryAndFail(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database)
            try await queue.enqueue(kind: "notify", payload: "{}")
            let job = try #require(try await queue.claim(owner: "w").first)
            let retryAt = Date().addingTimeInterval(120)
            #expect(try await queue.retry(job, at: retryAt, error: "Slack answered 503"))

            #expect(try await queue.claim(owner: "w").isEmpty)
            let again = try #require(try await queue.claim(owner: "w", now: retryAt.addingTimeInterval(1)).first)
            #expect(again.attempt == 2)
            #expect(try await queue.fail(again, error: "Slack answered 401 invalid_auth"))

            let record = try #require(try await queue.jobs(kind: "notify").first)
            #expect(record.state == "failed")
            #expect(record.lastError == "Slack answered 401 invalid_auth")
            #expect(try await queue.depth() == QueueDepth(queued: 0, running: 0, failed: 1))
        }
    }

    @Test("completed jobs are pruned after their retention", arguments: TestBackend.enabled)
    func prune(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let queue = JobQueue(database: database)
            try await queue.enqueue(kind: "a", payload: "1")
            try await queue.enqueue(kind: "a", payload: "2")
            let job = try #require(try await queue.claim(owner: "w").first)
            try await queue.complete(job)

            #expect(try await queue.pruneCompleted(before: Date().addingTimeInterval(-60)) == 0)
            #expect(try await queue.pruneCompleted(before: Date().addingTimeInterval(1)) == 1)
            #expect(try await queue.jobs(kind: "a").map(\.payload) == ["2"])
        }
    }
}
