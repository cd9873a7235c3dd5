import Foundation
import RCACore
import SQLKit
import Synchronization

/// A unit of background work as a worker sees it after claiming it.
public struct ClaimedJob: Sendable, Equatable {
    public let id: Int64
    public let kind: String
    public let payload: String
    /// How many times the job has been claimed, this claim included.
    public let attempt: Int
    public let maxAttempts: Int
    /// Identifies this claim; only its holder may finish or extend the job.
    public let leaseToken: String
}

/// What the queue holds about a job, for inspection and tests.
public struct JobRecord: Sendable, Equatable, Decodable {
    public let id: Int64
    public let kind: String
    public let payload: String
    public let state: String
    public let attempts: Int
    public let maxAttempts: Int
    public let lastError: String?
    /// When the current lease runs out, in milliseconds since the epoch.
    public let leaseExpiresAt: Int64?

    enum CodingKeys: String, CodingKey {
        case id, kind, payload, state, attempts
        case maxAttempts = "max_attempts"
        case lastError = "last_error"
        case leaseExpiresAt = "lease_expires_at"
    }
}

/// Counts of jobs by state, for the queue-depth metric.
public struct QueueDepth: Sendable, Equatable {
    public var queued = 0
    public var running = 0
    public var failed = 0

    public init(queued: Int = 0, running: Int = 0, failed: Int = 0) {
        self.queued = queued
        self.running = running
        self.failed = failed
    }
}

/// The durable work queue. Jobs are enqueued inside the caller's transaction
/// (so that work exists exactly when the data that needs it was committed) and
/// claimed with a lease: a worker that dies holding a job lets the lease run
/// out, and the job is claimed again.
public struct JobQueue: Sendable {
    public let database: Database
    public let leaseDuration: Duration
    public let defaultMaxAttempts: Int
    /// When a claim last looked for leases that ran out, shared by every
    /// claimer of this queue in the process.
    private let lastLookForAbandoned = LastLook()

    /// How often claims that skip the look-up still look for leases that ran
    /// out, so that a crashed replica's jobs wait at most about this long
    /// while the queue never runs dry.
    static let abandonedLookInterval: TimeInterval = 1

    public init(database: Database, leaseDuration: Duration = .seconds(60), defaultMaxAttempts: Int = 8) {
        self.database = database
        self.leaseDuration = leaseDuration
        self.defaultMaxAttempts = defaultMaxAttempts
    }

    /// Adds a job within an open transaction. With a `uniqueKey`, a second job
    /// of the same key is not added; returns whether this call added one.
    @discardableResult
    public func enqueue(
        kind: String,
        payload: String,
        uniqueKey: String? = nil,
        runAfter: Date = Date(),
        maxAttempts: Int? = nil,
        on sql: any SQLDatabase
    ) async throws -> Bool {
        try await insert(
            kind: kind, payload: payload, uniqueKey: uniqueKey, runAfter: runAfter, maxAttempts: maxAttempts ?? defaultMaxAttempts,
            lease: nil, now: Date(), on: sql
        ) != nil
    }

    /// Adds a job within an open transaction, already leased to `owner`, for
    /// a worker that runs it as soon as the transaction commits (a hand-off,
    /// `JobCompletion.lease`): the job then costs no claim, and if that
    /// worker stops before finishing it, the lease runs out and another
    /// worker claims it. Nil when a job of the same `uniqueKey` exists.
    public func enqueueLeased(
        kind: String,
        payload: String,
        uniqueKey: String? = nil,
        owner: String,
        now: Date = Date(),
        on sql: any SQLDatabase
    ) async throws -> ClaimedJob? {
        let leaseToken = Self.leaseToken(owner)
        let expires = Timestamp.epochMillis(now.addingTimeInterval(leaseDuration.seconds))
        guard let id = try await insert(
            kind: kind, payload: payload, uniqueKey: uniqueKey, runAfter: now, maxAttempts: defaultMaxAttempts,
            lease: (leaseToken, expires), now: now, on: sql
        ) else { return nil }
        return ClaimedJob(id: id, kind: kind, payload: payload, attempt: 1, maxAttempts: defaultMaxAttempts, leaseToken: leaseToken)
    }

    /// Inserts a job, queued or (with `lease`) running under that lease as
    /// its first attempt; returns its id, or nil when a job of the same
    /// `uniqueKey` exists.
    private func insert(
        kind: String,
        payload: String,
        uniqueKey: String?,
        runAfter: Date,
        maxAttempts: Int,
        lease: (token: String, expires: Int64)?,
        now: Date,
        on sql: any SQLDatabase
    ) async throws -> Int64? {
        let stamp = Timestamp.string(from: now)
        return try await sql.reusable(
            """
            INSERT INTO jobs (kind, payload, unique_key, state, attempts, max_attempts, run_after, lease_owner, lease_expires_at, created_at, updated_at)
            VALUES (\(bind: kind), \(bind: payload), \(bind: uniqueKey), \(bind: lease == nil ? "queued" : "running"), \(bind: lease == nil ? 0 : 1),
                    \(bind: maxAttempts), \(bind: Timestamp.epochMillis(runAfter)), \(bind: lease?.token), \(bind: lease?.expires), \(bind: stamp), \(bind: stamp))
            ON CONFLICT (unique_key) DO NOTHING
            RETURNING id
            """
        ).first()?.decode(column: "id", as: Int64.self)
    }

    /// A token for one lease of `owner`'s; only its holder may finish or extend the job.
    private static func leaseToken(_ owner: String) -> String {
        "\(owner):\(RandomSecret.token(bits: 96))"
    }

    /// Adds several jobs of one kind within an open transaction, in one
    /// statement per few hundred jobs; jobs whose unique key exists are skipped.
    public func enqueue(kind: String, payloads: [(payload: String, uniqueKey: String)], on sql: any SQLDatabase) async throws {
        guard !payloads.isEmpty else { return }
        let now = Timestamp.now()
        let runAfter = Timestamp.epochMillis(Date())
        let rows: [SQLQueryString] = payloads.map { job in
            let values: [any Encodable & Sendable] = [kind, job.payload, job.uniqueKey, "queued", 0, defaultMaxAttempts, runAfter, now, now]
            return "(\(binds: values))"
        }
        _ = try await BulkInsert.run(
            "INSERT INTO jobs (kind, payload, unique_key, state, attempts, max_attempts, run_after, created_at, updated_at)",
            rows: rows,
            suffix: "ON CONFLICT (unique_key) DO NOTHING",
            on: sql
        )
    }

    /// Adds a job in a transaction of its own.
    @discardableResult
    public func enqueue(kind: String, payload: String, uniqueKey: String? = nil, runAfter: Date = Date()) async throws -> Bool {
        try await database.transaction { sql in
            try await enqueue(kind: kind, payload: payload, uniqueKey: uniqueKey, runAfter: runAfter, on: sql)
        }
    }

    /// Claims up to `limit` jobs that are due, or whose previous lease ran out.
    /// Concurrent claimers never receive the same job.
    ///
    /// - Parameter afterWork: the caller's previous claim got a job, so more
    ///   are likely due: on PostgreSQL the claim then leases at once, without
    ///   first reading whether anything is due (a round trip per job on a busy
    ///   queue), and looks for leases that ran out only once a second. On
    ///   SQLite it always reads first: that read does not wait for the single
    ///   writer, and a lease that finds nothing would.
    public func claim(owner: String, limit: Int = 1, now: Date = Date(), afterWork: Bool = false) async throws -> [ClaimedJob] {
        let nowMillis = Timestamp.epochMillis(now)
        let expires = Timestamp.epochMillis(now.addingTimeInterval(leaseDuration.seconds))
        let leaseToken = Self.leaseToken(owner)
        let locking = database.dialect.claimLockingClause
        let skipLookUp = afterWork && database.dialect == .postgres && !timeToLookForAbandoned(now)
        let due = skipLookUp ? (queued: true, abandoned: false) : try await dueWork(nowMillis: nowMillis)
        let queued: SQLQueryString = "state = 'queued' AND run_after <= \(bind: nowMillis) ORDER BY run_after, id"
        let rows: [any SQLRow]
        switch (due.abandoned, due.queued) {
        case (false, false):
            return []
        case (false, true):
            rows = try await database.autocommit { sql in
                try await Self.lease(queued, limit: limit, token: leaseToken, expires: expires, now: now, locking: locking, on: sql)
            }
        case (true, _):
            rows = try await database.transaction { sql in
                let abandoned = try await Self.lease(
                    "state = 'running' AND lease_expires_at <= \(bind: nowMillis) ORDER BY lease_expires_at, id",
                    limit: limit, token: leaseToken, expires: expires, now: now, locking: locking, on: sql
                )
                guard abandoned.count < limit else { return abandoned }
                return abandoned + (try await Self.lease(
                    queued, limit: limit - abandoned.count, token: leaseToken, expires: expires, now: now, locking: locking, on: sql
                ))
            }
        }
        return try rows.map { row in
            ClaimedJob(
                id: try row.decode(column: "id", as: Int64.self),
                kind: try row.decode(column: "kind", as: String.self),
                payload: try row.decode(column: "payload", as: String.self),
                attempt: try row.decode(column: "attempts", as: Int.self),
                maxAttempts: try row.decode(column: "max_attempts", as: Int.self),
                leaseToken: leaseToken
            )
        }.sorted { $0.id < $1.id }
    }

    private func timeToLookForAbandoned(_ now: Date) -> Bool {
        lastLookForAbandoned.time.withLock { last in
            guard now.timeIntervalSince(last) >= Self.abandonedLookInterval else { return false }
            last = now
            return true
        }
    }

    /// Whether any job is due, and whether any lease ran out, looked up with
    /// a read: a worker that finds nothing to do (most claims, when workers
    /// wait on an idle queue) then costs no write, which on SQLite would queue
    /// behind ingestion for the single writer; and a claim when no lease ran
    /// out (nearly all of them) is one statement instead of a transaction of two.
    private func dueWork(nowMillis: Int64) async throws -> (queued: Bool, abandoned: Bool) {
        try await database.read { sql in
            guard let row = try await sql.reusable(
                """
                SELECT CASE WHEN EXISTS (SELECT 1 FROM jobs WHERE state = 'queued' AND run_after <= \(bind: nowMillis)) THEN 1 ELSE 0 END AS queued,
                       CASE WHEN EXISTS (SELECT 1 FROM jobs WHERE state = 'running' AND lease_expires_at <= \(bind: nowMillis)) THEN 1 ELSE 0 END AS abandoned
                """
            ).first() else { return (false, false) }
            return (try row.decode(column: "queued", as: Int.self) == 1, try row.decode(column: "abandoned", as: Int.self) == 1)
        }
    }

    /// Leases up to `limit` jobs chosen by `condition` (a WHERE clause with
    /// its ORDER BY). Abandoned and queued jobs are looked up separately so
    /// that each lookup walks its own index in order and stops at `limit`;
    /// one query with an OR over both sorted every queued job on each claim.
    ///
    /// The limit is written into the text rather than bound: with a bound
    /// limit PostgreSQL guesses a tenth of the table will be leased, judges
    /// the prepared statement's shared plan too costly, and plans the claim
    /// afresh on every run.
    private static func lease(
        _ condition: SQLQueryString,
        limit: Int,
        token: String,
        expires: Int64,
        now: Date,
        locking: String,
        on sql: any SQLDatabase
    ) async throws -> [any SQLRow] {
        try await sql.reusable(
            """
            UPDATE jobs
            SET state = 'running', attempts = attempts + 1, lease_owner = \(bind: token),
                lease_expires_at = \(bind: expires), updated_at = \(bind: Timestamp.string(from: now))
            WHERE id IN (
                SELECT id FROM jobs WHERE \(condition) LIMIT \(unsafeRaw: String(limit)) \(unsafeRaw: locking)
            )
            RETURNING id, kind, payload, attempts, max_attempts
            """
        ).all()
    }

    /// Marks a claimed job done. Returns false when the lease was lost (it ran
    /// out and another worker holds the job now).
    @discardableResult
    public func complete(_ job: ClaimedJob) async throws -> Bool {
        try await database.autocommit { sql in
            try await complete(job, on: sql)
        }
    }

    /// Marks a claimed job done inside the caller's transaction, so that the
    /// job's effects and its completion commit together.
    @discardableResult
    public func complete(_ job: ClaimedJob, on sql: any SQLDatabase) async throws -> Bool {
        try await finish(job, state: "done", runAfter: nil, error: nil, on: sql)
    }

    /// Returns a claimed job to the queue to be tried again at `runAfter`.
    @discardableResult
    public func retry(_ job: ClaimedJob, at runAfter: Date, error: String) async throws -> Bool {
        try await database.autocommit { sql in
            try await finish(job, state: "queued", runAfter: runAfter, error: error, on: sql)
        }
    }

    /// Gives up on a claimed job; it stays in the table with its error.
    @discardableResult
    public func fail(_ job: ClaimedJob, error: String) async throws -> Bool {
        try await database.autocommit { sql in
            try await finish(job, state: "failed", runAfter: nil, error: error, on: sql)
        }
    }

    /// Pushes the lease of a job still being worked on further out. Returns false
    /// when the lease was already lost.
    public func extendLease(_ job: ClaimedJob, now: Date = Date()) async throws -> Bool {
        let expires = Timestamp.epochMillis(now.addingTimeInterval(leaseDuration.seconds))
        return try await database.autocommit { sql in
            try await sql.reusable(
                """
                UPDATE jobs SET lease_expires_at = \(bind: expires)
                WHERE id = \(bind: job.id) AND state = 'running' AND lease_owner = \(bind: job.leaseToken)
                RETURNING id
                """
            ).first() != nil
        }
    }

    private func finish(_ job: ClaimedJob, state: String, runAfter: Date?, error: String?, on sql: any SQLDatabase) async throws -> Bool {
        try await sql.reusable(Self.finishStatement(job, state: state, runAfter: runAfter, error: error)).first() != nil
    }

    /// The statement that moves a job its lease still holds to `state`,
    /// returning its id; no row when the lease was lost.
    static func finishStatement(_ job: ClaimedJob, state: String, runAfter: Date? = nil, error: String? = nil) -> SQLQueryString {
        """
        UPDATE jobs
        SET state = \(bind: state), lease_owner = NULL, lease_expires_at = NULL,
            run_after = COALESCE(\(bind: runAfter.map(Timestamp.epochMillis)), run_after),
            last_error = COALESCE(\(bind: error), last_error), updated_at = \(bind: Timestamp.now())
        WHERE id = \(bind: job.id) AND state = 'running' AND lease_owner = \(bind: job.leaseToken)
        RETURNING id
        """
    }

    /// Jobs waiting, running and failed, for the queue-depth metric.
    public func depth() async throws -> QueueDepth {
        try await database.read { sql in
            let rows = try await sql.raw(
                "SELECT state, COUNT(*) AS count FROM jobs WHERE state IN ('queued', 'running', 'failed') GROUP BY state"
            ).all()
            var depth = QueueDepth()
            for row in rows {
                let count = try row.decode(column: "count", as: Int.self)
                switch try row.decode(column: "state", as: String.self) {
                case "queued": depth.queued = count
                case "running": depth.running = count
                default: depth.failed = count
                }
            }
            return depth
        }
    }

    /// Every job of a kind, oldest first; for inspection and tests.
    public func jobs(kind: String) async throws -> [JobRecord] {
        try await database.read { sql in
            try await sql.raw(
                """
                SELECT id, kind, payload, state, attempts, max_attempts, last_error, lease_expires_at
                FROM jobs WHERE kind = \(bind: kind) ORDER BY id
                """
            ).all(decoding: JobRecord.self)
        }
    }

    /// Deletes jobs that finished successfully before `date`; the tickets and
    /// the audit trail keep the record of what they did.
    @discardableResult
    public func pruneCompleted(before date: Date) async throws -> Int {
        try await database.transaction { sql in
            try await sql.raw(
                "DELETE FROM jobs WHERE state = 'done' AND updated_at < \(bind: Timestamp.string(from: date)) RETURNING id"
            ).all().count
        }
    }
}

extension Duration {
    /// The duration in seconds as a floating-point number.
    public var seconds: TimeInterval {
        TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18
    }
}

/// The time of the last look for leases that ran out, shared by the copies of a queue.
private final class LastLook: Sendable {
    let time = Mutex(Date.distantPast)
}
