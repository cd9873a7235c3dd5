import Foundation
import RCAStore
import RCATesting
import SQLKit
import Testing

@Suite("Reusable statements")
struct ReusableStatementTests {
    static var postgres: [TestBackend] { TestBackend.enabled.filter { $0 == .postgres } }

    /// The session's prepared statements of the store, with how many times each ran.
    static func prepared(on database: Database) async throws -> [(statement: String, runs: Int, genericPlans: Int)] {
        try await database.read { sql in
            try await sql.raw(
                """
                SELECT statement, generic_plans + custom_plans AS runs, generic_plans
                FROM pg_prepared_statements WHERE name LIKE 'rca!_%' ESCAPE '!' ORDER BY prepare_time
                """
            ).all().map {
                (try $0.decode(column: "statement", as: String.self), try $0.decode(column: "runs", as: Int.self),
                 try $0.decode(column: "generic_plans", as: Int.self))
            }
        }
    }

    @Test("a reusable statement binds every kind of value the store binds and reads back what a raw one does", arguments: TestBackend.enabled)
    func sameRowsAsRaw(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let missing: String? = nil
            let present: Int? = 7
            let query: SQLQueryString = """
                SELECT \(bind: "O'Brien ✓") AS text, \(bind: 42) AS int, \(bind: Int64(1) << 40) AS int64, \(bind: 2.5) AS double,
                       \(bind: true) AS flag, \(bind: Data([0, 1, 254, 255])) AS bytes, CAST(\(bind: missing) AS TEXT) AS missing,
                       \(bind: present) AS present
                """
            for _ in 0..<3 {
                let row = try #require(try await database.read { sql in try await sql.reusable(query).first() })
                #expect(try row.decode(column: "text", as: String.self) == "O'Brien ✓")
                #expect(try row.decode(column: "int", as: Int.self) == 42)
                #expect(try row.decode(column: "int64", as: Int64.self) == 1 << 40)
                #expect(try row.decode(column: "double", as: Double.self) == 2.5)
                #expect(try row.decode(column: "flag", as: Bool.self))
                #expect(try row.decode(column: "bytes", as: Data.self) == Data([0, 1, 254, 255]))
                #expect(try row.decode(column: "missing", as: String?.self) == nil)
                #expect(try row.decode(column: "present", as: Int.self) == 7)
            }
        }
    }

    @Test("on PostgreSQL a reusable statement is prepared once per session, then only run", arguments: postgres)
    func preparedOnce(backend: TestBackend) async throws {
        try await TestDatabase.with(backend, postgresConnections: 1) { database, _ in
            for id in ["a", "b", "c"] {
                _ = try await database.read { sql in try await sql.reusable("SELECT id FROM tickets WHERE id = \(bind: id)").all() }
            }
            let statements = try await Self.prepared(on: database).filter { $0.statement.contains("tickets") }
            #expect(statements.map(\.statement) == ["SELECT id FROM tickets WHERE id = $1"])
            #expect(statements.map(\.runs) == [3])
        }
    }

    @Test("audit lines of one change are prepared for a few rows, and sent unprepared beyond", arguments: postgres)
    func auditRowsCap(backend: TestBackend) async throws {
        try await TestDatabase.with(backend, postgresConnections: 1) { database, _ in
            for number in 0..<20 { try await MigrationTests.insertTicket(id: "T-\(number)", dedupKey: "key-\(number)", into: database) }
            for count in [2, 3, 9, 20] {
                try await database.transaction { sql in
                    try await TicketStore.appendAudits((0..<count).map { ("T-\($0)", "Noted", nil) }, on: sql)
                }
            }
            let audits = try await Self.prepared(on: database).filter { $0.statement.contains("audit_trail") }
            #expect(audits.count == 2)
            #expect(audits.allSatisfy { !$0.statement.contains("$25") })
            let written = try await database.read { sql in
                try await sql.raw("SELECT COUNT(*) AS count FROM audit_trail WHERE pipeline IS NULL AND action = 'Noted'").first()?.decode(column: "count", as: Int.self)
            }
            #expect(written == 2 + 3 + 9 + 20)
        }
    }

    @Test("with prepared statements off (for a pooler that cannot keep them) nothing is prepared", arguments: postgres)
    func preparedStatementsOff(backend: TestBackend) async throws {
        try await TestDatabase.with(backend, postgresConnections: 1, preparedStatements: false) { database, _ in
            let queue = JobQueue(database: database)
            try await queue.enqueue(kind: "analyze", payload: "{}")
            let job = try #require(try await queue.claim(owner: "w").first)
            #expect(try await queue.complete(job))
            #expect(try await Self.prepared(on: database).isEmpty)
        }
    }

    @Test("the pool opens no more PostgreSQL connections than it is given", arguments: postgres)
    func poolSize(backend: TestBackend) async throws {
        try await TestDatabase.with(backend, postgresConnections: 2) { database, _ in
            let sessions = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await database.read { sql in
                            try await sql.raw("SELECT pg_backend_pid() AS pid, pg_sleep(0.05)").first()?.decode(column: "pid", as: Int.self) ?? 0
                        }
                    }
                }
                return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
            }
            #expect((1...2).contains(sessions.count))
        }
    }

    @Test("a value left NULL makes a statement of its own, so a later value is never bound to a type the server guessed", arguments: postgres)
    func nullsAreTheirOwnStatement(backend: TestBackend) async throws {
        try await TestDatabase.with(backend, postgresConnections: 1) { database, _ in
            for number in [nil, 5, nil, 6] as [Int?] {
                let row = try await database.read { sql in
                    try await sql.reusable("SELECT CAST(\(bind: number) AS INTEGER) + 1 AS next").first()
                }
                #expect(try row?.decode(column: "next", as: Int?.self) == number.map { $0 + 1 })
            }
            #expect(try await Self.prepared(on: database).filter { $0.statement.contains("CAST") }.map(\.runs) == [2, 2])
        }
    }

    @Test("a statement whose preparation failed is prepared again under a new name", arguments: postgres)
    func failedPreparationIsRetried(backend: TestBackend) async throws {
        try await TestDatabase.with(backend, postgresConnections: 1) { database, _ in
            let lookup: SQLQueryString = "SELECT COUNT(*) AS count FROM tickets WHERE pipeline = \(bind: "sales")"
            try await database.autocommit { sql in
                try await sql.raw("BEGIN").run()
                await #expect(throws: (any Error).self) { try await sql.raw("SELECT 1 / 0").run() }
                await #expect(throws: (any Error).self, "prepared inside a transaction the error aborted") {
                    try await sql.reusable(lookup).run()
                }
                try await sql.raw("ROLLBACK").run()
            }
            let count = try await database.read { sql in try await sql.reusable(lookup).first()?.decode(column: "count", as: Int.self) }
            #expect(count == 0)
        }
    }

    @Test("a broken constraint says nothing of the statement: it keeps its name", arguments: postgres)
    func constraintKeepsTheName(backend: TestBackend) async throws {
        try await TestDatabase.with(backend, postgresConnections: 1) { database, _ in
            for (dedupKey, expectedToFail) in [("k-1", false), ("k-1", true), ("k-2", false)] {
                let insert: SQLQueryString = """
                    INSERT INTO guess_failures (scope, subject, window_started, failures) VALUES ('test', \(bind: dedupKey), '2026-12-01', 1)
                    """
                if expectedToFail {
                    await #expect(throws: (any Error).self) { try await database.autocommit { sql in try await sql.reusable(insert).run() } }
                } else {
                    try await database.autocommit { sql in try await sql.reusable(insert).run() }
                }
            }
            #expect(try await Self.prepared(on: database).filter { $0.statement.contains("guess_failures") }.count == 1)
        }
    }

    @Test("a prepared SELECT * recovers when another server adds a column", arguments: postgres)
    func columnAddedElsewhere(backend: TestBackend) async throws {
        try await TestDatabase.with(backend, postgresConnections: 1) { database, testDatabase in
            try await database.autocommit { sql in
                try await sql.raw("CREATE TABLE notes (id TEXT PRIMARY KEY)").run()
                try await sql.raw("INSERT INTO notes (id) VALUES ('n-1')").run()
            }
            let read: SQLQueryString = "SELECT * FROM notes WHERE id = \(bind: "n-1")"
            for _ in 0..<2 {
                _ = try await database.read { sql in try await sql.reusable(read).first() }
            }
            let other = try await testDatabase.open(migrated: false)
            try await other.autocommit { sql in try await sql.raw("ALTER TABLE notes ADD COLUMN author TEXT DEFAULT 'ops'").run() }
            await other.close()

            // PostgreSQL refuses a prepared statement whose columns changed; the next run prepares it afresh.
            _ = try? await database.read { sql in try await sql.reusable(read).first() }
            let row = try #require(try await database.read { sql in try await sql.reusable(read).first() })
            #expect(try row.decode(column: "author", as: String.self) == "ops")
        }
    }

    @Test("the job claim keeps one plan instead of being planned on every run", arguments: postgres)
    func claimUsesOnePlan(backend: TestBackend) async throws {
        try await TestDatabase.with(backend, postgresConnections: 1) { database, _ in
            let queue = JobQueue(database: database)
            // A queue with some history: PostgreSQL weighs a plan against the table's statistics.
            try await database.transaction { sql in
                try await queue.enqueue(kind: "analyze", payloads: (0..<3_000).map { ("\($0)", "job-\($0)") }, on: sql)
                try await sql.raw("ANALYZE jobs").run()
            }
            for _ in 0..<12 {
                let job = try #require(try await queue.claim(owner: "w", afterWork: true).first)
                #expect(try await queue.complete(job))
            }
            let claim = try #require(try await Self.prepared(on: database).first { $0.statement.contains("SET state = 'running'") })
            #expect(claim.runs >= 12)
            #expect(claim.genericPlans > 0, "PostgreSQL planned the claim on each of its \(claim.runs) runs")
        }
    }
}
