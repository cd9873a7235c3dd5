import Foundation
import RCACore
import RCAStore
import RCATesting
import SQLKit
import Testing

@Suite("Migrations")
struct MigrationTests {
    @Test("a new database is migrated to the latest version, and again is a no-op", arguments: TestBackend.enabled)
    func migrateTwice(backend: TestBackend) async throws {
        try await TestDatabase.with(backend, migrated: false) { database, _ in
            let migrator = Migrator(database: database)
            #expect(try await migrator.currentVersion() == nil)
            await #expect(throws: DatabaseError.self) { try await migrator.checkReady() }

            #expect(try await migrator.migrate() == Array(1...Migrator.latestVersion))
            #expect(try await migrator.migrate() == [])
            #expect(try await migrator.currentVersion() == Migrator.latestVersion)
            try await migrator.checkReady()
        }
    }

    @Test("processes migrating the same database at once apply each migration once", arguments: TestBackend.enabled)
    func concurrentMigrators(backend: TestBackend) async throws {
        let testDatabase = try await TestDatabase.make(backend)
        var databases: [Database] = []
        for _ in 1...4 { databases.append(try await testDatabase.open(migrated: false)) }
        let outcome: Result<[Int], any Error>
        do {
            outcome = .success(try await withThrowingTaskGroup(of: [Int].self) { group in
                for database in databases {
                    group.addTask { try await Migrator(database: database).migrate() }
                }
                return try await group.reduce(into: [Int]()) { $0 += $1 }
            })
        } catch {
            outcome = .failure(error)
        }
        for database in databases { await database.close() }
        await testDatabase.destroy()
        let applied = try outcome.get()
        #expect(applied.sorted() == Array(1...Migrator.latestVersion), "each migration applied once, by whichever process got there first")
    }

    @Test("the schema has every table and the columns the seed and the issues name", arguments: TestBackend.enabled)
    func schemaColumns(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let expected: [String: [String]] = [
                "tickets": [
                    "id", "timestamp", "pipeline", "run_id", "rca_result", "recommendations", "confidence", "severity", "priority",
                    "error_type", "affected_entity", "status", "ack_user", "ack_empid", "ack_ts", "ack_seconds", "sla_seconds",
                    "sla_status", "slack_ts", "slack_channel", "finops_team", "finops_owner", "finops_cost_center", "blob_log_url",
                    "itsm_ticket_id", "logic_app_run_id", "processing_mode", "source", "dedup_key", "fingerprint", "occurrence_count",
                    "first_seen", "last_seen", "source_status", "analysis_state", "updated_at",
                ],
                "audit_trail": [
                    "id", "timestamp", "ticket_id", "pipeline", "run_id", "action", "user_name", "user_empid", "time_taken_seconds",
                    "mttr_minutes", "sla_status", "rca_summary", "finops_team", "finops_owner", "details", "itsm_ticket_id",
                ],
                "users": ["id", "email", "password_hash", "full_name", "created_at", "last_login", "role", "disabled"],
                "raw_payloads": [
                    "id", "received_at", "endpoint", "content_type", "remote_address", "body", "body_size", "parse_status",
                    "parse_error", "ticket_ids",
                ],
                "jobs": [
                    "id", "kind", "payload", "state", "attempts", "max_attempts", "run_after", "lease_owner", "lease_expires_at",
                    "last_error",
                ],
            ]
            for (table, columns) in expected {
                let present = try await Self.columns(of: table, in: database)
                for column in columns {
                    #expect(present.contains(column), "\(table).\(column) is missing")
                }
            }
        }
    }

    @Test("the ticket dedup key is unique and an audit entry needs its ticket", arguments: TestBackend.enabled)
    func constraints(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            try await Self.insertTicket(id: "ADF-1", dedupKey: "adf:run-1", into: database)
            await #expect(throws: (any Error).self) {
                try await Self.insertTicket(id: "ADF-2", dedupKey: "adf:run-1", into: database)
            }
            await #expect(throws: (any Error).self) {
                try await database.transaction { sql in
                    try await sql.raw(
                        "INSERT INTO audit_trail (timestamp, ticket_id, action) VALUES (\(bind: Timestamp.now()), 'NO-SUCH-TICKET', 'Ticket Created')"
                    ).run()
                }
            }
            await #expect(throws: (any Error).self) {
                try await database.transaction { sql in
                    try await sql.raw("UPDATE tickets SET status = 'closed' WHERE id = 'ADF-1'").run()
                }
            }
        }
    }

    @Test("audit entries of several tickets written in one statement keep their order and copy each ticket's pipeline; a missing ticket fails them all",
          arguments: TestBackend.enabled)
    func auditEntriesTogether(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            try await Self.insertTicket(id: "ADF-1", dedupKey: "adf:run-1", into: database)
            try await Self.insertTicket(id: "ADF-2", dedupKey: "adf:run-2", into: database)
            try await database.transaction { sql in
                try await sql.raw("UPDATE tickets SET pipeline = 'DailySales', run_id = 'run-1' WHERE id = 'ADF-1'").run()
            }
            let actions = ["Enrichment Skipped", "RCA Generated", "Recurrence Linked", "Zeta", "Alpha", "Middle"]
            try await database.transaction { sql in
                try await TicketStore.appendAudits(
                    actions.enumerated().map { index, action in (index == 2 ? "ADF-2" : "ADF-1", action, index == 1 ? nil : "note \(index)") }, on: sql
                )
            }
            let store = TicketStore(database: database)
            let first = try await store.audit(ticketID: "ADF-1")
            #expect(first.map(\.action) == ["Enrichment Skipped", "RCA Generated", "Zeta", "Alpha", "Middle"])
            #expect(first.map(\.details) == ["note 0", nil, "note 3", "note 4", "note 5"])
            #expect(try await store.audit(ticketID: "ADF-2").map(\.action) == ["Recurrence Linked"])
            let copied = try await database.read { sql in
                try await sql.raw("SELECT DISTINCT pipeline, run_id FROM audit_trail WHERE ticket_id = 'ADF-1'").all()
            }
            #expect(copied.count == 1)
            #expect(try copied.first?.decode(column: "pipeline", as: String.self) == "DailySales")
            #expect(try copied.first?.decode(column: "run_id", as: String.self) == "run-1")

            await #expect(throws: (any Error).self) {
                try await database.transaction { sql in
                    try await TicketStore.appendAudits([("ADF-1", "Kept?", nil), ("NO-SUCH-TICKET", "Orphan", nil)], on: sql)
                }
            }
            #expect(try await store.audit(ticketID: "ADF-1").count == 5)
        }
    }

    @Test("raw payload bodies are stored byte for byte", arguments: TestBackend.enabled)
    func rawPayloadBytes(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let body = Data([0x7B, 0x00, 0xFF, 0xFE, 0x22, 0x7D] + Array("é\u{0}\n{\"a\":1}".utf8))
            try await database.transaction { sql in
                try await sql.raw(
                    """
                    INSERT INTO raw_payloads (received_at, endpoint, content_type, remote_address, body, body_size, parse_status)
                    VALUES (\(bind: Timestamp.now()), '/azure-monitor', 'application/json', '127.0.0.1', \(bind: body), \(bind: body.count), 'pending')
                    """
                ).run()
            }
            let stored = try await database.read { sql in
                try await sql.raw("SELECT body FROM raw_payloads").first()?.decode(column: "body", as: Data.self)
            }
            #expect(stored == body)
        }
    }

    static func insertTicket(id: String, dedupKey: String, into database: Database) async throws {
        let now = Timestamp.now()
        try await database.transaction { sql in
            try await sql.raw(
                """
                INSERT INTO tickets (id, timestamp, source, dedup_key, first_seen, last_seen, updated_at)
                VALUES (\(bind: id), \(bind: now), 'adf', \(bind: dedupKey), \(bind: now), \(bind: now), \(bind: now))
                """
            ).run()
        }
    }

    static func columns(of table: String, in database: Database) async throws -> Set<String> {
        let dialect = database.dialect
        return try await database.read { sql in
            let rows =
                switch dialect {
                case .sqlite:
                    try await sql.raw("SELECT name FROM pragma_table_info(\(bind: table))").all()
                case .postgres:
                    try await sql.raw(
                        "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = \(bind: table)"
                    ).all()
                }
            return Set(try rows.map { try $0.decode(column: "name", as: String.self) })
        }
    }
}

@Suite("User store")
struct UserStoreTests {
    @Test("accounts are added once per e-mail, whatever its case", arguments: TestBackend.enabled)
    func addOnce(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let users = UserStore(database: database)
            let alice = try await users.add(email: " Alice@Example.com ", passwordHash: "h1", fullName: "Alice", role: .responder)
            #expect(alice.email == "alice@example.com")
            #expect(alice.role == .responder)
            #expect(alice.disabled == false)
            await #expect(throws: UserStoreError.alreadyExists(email: "alice@example.com")) {
                try await users.add(email: "ALICE@example.com", passwordHash: "h2", fullName: nil, role: .viewer)
            }
            #expect(try await users.count() == 1)
        }
    }

    @Test("disable, enable, change role and password", arguments: TestBackend.enabled)
    func updates(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let users = UserStore(database: database)
            try await users.add(email: "bob@example.com", passwordHash: "old", fullName: nil, role: .viewer)

            try await users.setDisabled(email: "bob@example.com", true)
            #expect(try await users.find(email: "bob@example.com")?.disabled == true)
            try await users.setDisabled(email: "BOB@example.com", false)
            #expect(try await users.find(email: "bob@example.com")?.disabled == false)
            try await users.setRole(email: "bob@example.com", .admin)
            try await users.setPasswordHash(email: "bob@example.com", "new")
            let bob = try #require(try await users.find(email: "bob@example.com"))
            #expect(bob.role == .admin)
            #expect(bob.passwordHash == "new")

            await #expect(throws: UserStoreError.notFound(email: "nobody@example.com")) {
                try await users.setDisabled(email: "nobody@example.com", true)
            }
        }
    }

    @Test("racing inserts of the same account create it once", arguments: TestBackend.enabled)
    func racingInserts(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let users = UserStore(database: database)
            let created = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<10 {
                    group.addTask { try await users.insertIfAbsent(email: "admin", passwordHash: "h", fullName: nil, role: .admin) }
                }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(created == 1)
            #expect(try await users.count() == 1)
        }
    }
}

@Suite("Database locations")
struct DatabaseLocationTests {
    @Test("PostgreSQL URLs are read with their parts and TLS mode")
    func postgres() throws {
        let location = try DatabaseLocation(url: "postgresql://rca:p%40ss@db.internal:6543/alerts?sslmode=require")
        #expect(location == .postgres(PostgresEndpoint(host: "db.internal", port: 6543, username: "rca", password: "p@ss", database: "alerts", tls: .require)))
        guard case .postgres(let endpoint) = location else { return }
        #expect(!endpoint.description.contains("p@ss"), "the password never appears in descriptions")
        #expect(try DatabaseLocation(url: "postgres://u@h/d") == .postgres(PostgresEndpoint(host: "h", username: "u", password: nil, database: "d", tls: .require)))
    }

    @Test("without sslmode, a server on another host requires TLS and one on this machine prefers it", arguments: [
        ("postgres://u@db.internal/d", PostgresEndpoint.TLSMode.require),
        ("postgres://u@10.0.0.5:5432/d", .require),
        ("postgres://u@127.0.0.1/d", .prefer),
        ("postgres://u@localhost/d", .prefer),
        ("postgres://u@[::1]/d", .prefer),
        ("postgres://u@db.internal/d?sslmode=disable", .disable),
    ])
    func defaultTLS(url: String, mode: PostgresEndpoint.TLSMode) throws {
        guard case .postgres(let endpoint) = try DatabaseLocation(url: url) else { Issue.record("not PostgreSQL"); return }
        #expect(endpoint.tls == mode)
    }

    @Test("SQLite URLs name a file")
    func sqlite() throws {
        #expect(try DatabaseLocation(url: "sqlite:///var/lib/rca/rca.sqlite") == .sqlite(path: "/var/lib/rca/rca.sqlite"))
        #expect(try DatabaseLocation(url: "sqlite://data/rca.sqlite") == .sqlite(path: "data/rca.sqlite"))
    }

    @Test("unusable URLs are refused with the reason", arguments: [
        ("mysql://u@h/d", "unsupported scheme"),
        ("postgres://h/d", "no user name"),
        ("postgres://u@h", "no database name"),
        ("postgres://u@h/d?sslmode=verify-everything", "sslmode"),
        ("not a url", "expected postgres://"),
    ])
    func refused(url: String, reason: String) {
        #expect {
            try DatabaseLocation(url: url)
        } throws: { error in
            String(describing: error).contains(reason)
        }
    }
}

@Suite("SQLite write-ahead log")
struct WriteAheadLogTests {
    @Test("under writes that never pause, the WAL file stays bounded instead of growing by every byte written")
    func walStaysBounded() async throws {
        let testDatabase = try await TestDatabase.make(.sqlite)
        let database = try await Database.open(testDatabase.location, logger: TestDatabase.quietLogger, walRestartFrames: 4096)
        guard case .sqlite(let path) = testDatabase.location else { return }
        let wal = path + "-wal"
        try await database.transaction { sql in try await sql.raw("CREATE TABLE filler (body BLOB NOT NULL)").run() }
        let chunk = Data(repeating: 0x5A, count: 32 * 1024)
        let bound = 48 * 1024 * 1024
        var written = 0
        var largestWAL = 0
        let started = ContinuousClock.now
        while written < 3 * bound || ContinuousClock.now - started < .seconds(3) {
            try await database.transaction { sql in
                for _ in 0..<4 { try await sql.raw("INSERT INTO filler (body) VALUES (\(bind: chunk))").run() }
            }
            _ = try await database.read { sql in try await sql.raw("SELECT COUNT(*) AS n FROM filler").first() }
            written += 4 * chunk.count
            let size = (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0
            largestWAL = max(largestWAL, size)
        }
        await database.close()
        await testDatabase.destroy()
        #expect(largestWAL < bound, "the WAL reached \(largestWAL / 1_048_576) MiB after \(written / 1_048_576) MiB written")
    }
}
