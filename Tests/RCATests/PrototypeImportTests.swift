import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RCACore
import RCAServer
import RCAStore
import RCATesting
import SQLKit
import SQLiteKit
import Testing

/// A database of the Python prototype, made with the seed's own schema.
struct PrototypeDatabase {
    /// A hash made by Python's `bcrypt.hashpw(b"old-prototype-password", bcrypt.gensalt(12))`.
    static let bcryptHash = "$2b$12$PG12o2ujYgAPUA04cWdD6eXtGdVy8fjNMqNPRKtQe9qaQvIurRVfK"
    static let password = "old-prototype-password"
    static let adfRunID = "6cd1f2b8-7b0a-4d2f-9a53-3f1e2f0b9c11"

    static let schema = [
        """
        CREATE TABLE tickets (
            id TEXT PRIMARY KEY, timestamp TEXT, pipeline TEXT, run_id TEXT, rca_result TEXT, recommendations TEXT,
            confidence TEXT, severity TEXT, priority TEXT, error_type TEXT, affected_entity TEXT, status TEXT,
            ack_user TEXT, ack_empid TEXT, ack_ts TEXT, ack_seconds INTEGER, sla_seconds INTEGER, sla_status TEXT,
            slack_ts TEXT, slack_channel TEXT, finops_team TEXT, finops_owner TEXT, finops_cost_center TEXT,
            blob_log_url TEXT, itsm_ticket_id TEXT, logic_app_run_id TEXT, processing_mode TEXT
        )
        """,
        "CREATE UNIQUE INDEX idx_tickets_run_id ON tickets(run_id) WHERE run_id IS NOT NULL",
        """
        CREATE TABLE audit_trail (
            id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT NOT NULL, ticket_id TEXT NOT NULL, pipeline TEXT,
            run_id TEXT, action TEXT NOT NULL, user_name TEXT, user_empid TEXT, time_taken_seconds INTEGER,
            mttr_minutes REAL, sla_status TEXT, rca_summary TEXT, finops_team TEXT, finops_owner TEXT, details TEXT,
            itsm_ticket_id TEXT
        )
        """,
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT UNIQUE NOT NULL, password_hash TEXT NOT NULL,
            full_name TEXT, created_at TEXT NOT NULL, last_login TEXT
        )
        """,
    ]

    /// Python's `datetime.utcnow().isoformat()`: no zone, microseconds.
    static func pythonTime(_ date: Date) -> String {
        String(Timestamp.string(from: date).dropLast()) + "456"
    }

    /// Four tickets as the prototype wrote them (one with a status it never had), their audit lines and two accounts.
    static func statements(now: Date) -> [String] {
        let recent = pythonTime(now.addingTimeInterval(-300))
        let old = pythonTime(now.addingTimeInterval(-7200))
        return [
            """
            INSERT INTO tickets (id, timestamp, pipeline, run_id, rca_result, recommendations, confidence, severity, priority, error_type,
                                 status, sla_seconds, sla_status, slack_ts, slack_channel, finops_team, finops_owner, itsm_ticket_id, processing_mode)
            VALUES ('ADF-20251129T143022-a3f2c1', '\(recent)', 'DataIngestionPipeline', '\(adfRunID)', 'Source blob is missing',
                    '["Check the upstream export","Re-run the pipeline"]', 'High', 'High', 'P2', 'UserErrorSourceBlobNotExists',
                    'open', 3600, 'Pending', '1732890622.000100', 'C0RCA', 'DataIngestion', 'dataingestion@company.com', 'PROJ-456', 'azure_monitor_alert')
            """,
            """
            INSERT INTO tickets (id, timestamp, pipeline, run_id, rca_result, status, ack_user, ack_empid, ack_ts, ack_seconds, sla_seconds, sla_status)
            VALUES ('DBX-20251129T041848-b1', '2025-11-29 04:18:48', 'Production Cluster', '1121-055905-q5xcz4bm_DRIVER_UNREACHABLE_20251129041848',
                    'The driver stopped answering', 'acknowledged', 'john@company.com', 'E123', '2025-11-29T04:38:48.5+00:00', 1200, 900, 'Breached')
            """,
            """
            INSERT INTO tickets (id, timestamp, pipeline, run_id, status, sla_seconds, sla_status, recommendations)
            VALUES ('DBX-20251129T050000-c2', '\(old)', 'orders_notebook', '11223344', 'in_progress', 900, 'Pending', 'Restart the job')
            """,
            "INSERT INTO tickets (id, timestamp, pipeline, run_id, status) VALUES ('ADF-odd', '\(recent)', 'x', 'run-odd', 'closed')",
            """
            INSERT INTO audit_trail (timestamp, ticket_id, action, details) VALUES
                ('\(recent)', 'ADF-20251129T143022-a3f2c1', 'Ticket Created', 'Severity: High, Priority: P2'),
                ('\(recent)', 'ADF-20251129T143022-a3f2c1', 'Jira Ticket Created', 'Jira ID: PROJ-456'),
                ('2025-11-29 04:38:48', 'DBX-20251129T041848-b1', 'Ticket Closed', 'User: john@company.com'),
                ('\(recent)', 'ADF-odd', 'Ticket Created', NULL)
            """,
            """
            INSERT INTO users (email, password_hash, full_name, created_at, last_login) VALUES
                ('John@Company.com', '\(bcryptHash)', 'John Doe', '2025-11-01T08:00:00', '2025-11-29T04:38:00'),
                ('plain@company.com', 'not-a-hash', NULL, '2025-11-01T08:00:00', NULL)
            """,
        ]
    }

    /// Writes the prototype's database at `path` over one plain SQLite
    /// connection in its default rollback-journal mode, as Python's sqlite3 does.
    static func make(at path: String, now: Date = Date(), statements extra: [String]? = nil) async throws {
        let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: TestDatabase.quietLogger)
        do {
            for statement in schema + (extra ?? statements(now: now)) { try await connection.sql().raw(SQLQueryString(statement)).run() }
        } catch {
            try await connection.close()
            throw error
        }
        try await connection.close()
    }
}

@Suite("Importing the prototype's database", .serialized)
struct PrototypeImportTests {
    static func tables(in folder: URL, now: Date = Date()) async throws -> PrototypeTables {
        let path = folder.appendingPathComponent("prototype-\(UUID().uuidString).db").path
        try await PrototypeDatabase.make(at: path, now: now)
        return try await PrototypeTables.read(sqliteFile: path, logger: TestDatabase.quietLogger)
    }

    @Test("tickets, audit lines and accounts come over with ids, run keys, SLA, references and hashes; a second run adds nothing", arguments: TestBackend.enabled)
    func importsOnce(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, testDatabase in
            // A whole second: the prototype writes microseconds and the store keeps
            // milliseconds, and a fractional `now` can land on either side of a
            // millisecond depending on which is computed from the Double first.
            let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
            let tables = try await Self.tables(in: testDatabase.folder, now: now)
            let report = try await PrototypeImporter(database: database).run(tables, role: .responder, now: now)
            #expect(report.tickets == 3 && report.auditEntries == 3 && report.users == 1 && report.breachedAtImport == 1)
            #expect(report.skipped.map(\.key).sorted() == ["4", "ADF-odd", "plain@company.com"])
            #expect(report.skipped.first { $0.key == "ADF-odd" }?.reason.contains("\"closed\" is not open, in_progress or acknowledged") == true)
            #expect(report.summaryLines.first == "Imported 3 tickets, 3 audit entries and 1 users.")

            let store = TicketStore(database: database)
            let adf = try #require(try await store.find(id: "ADF-20251129T143022-a3f2c1"))
            #expect(adf.dedupKey == "adf:run:\(PrototypeDatabase.adfRunID)" && adf.source == "adf" && adf.status == "open")
            #expect(adf.timestamp == Timestamp.string(from: now.addingTimeInterval(-300)), "microseconds without a zone, read as UTC")
            #expect(adf.slaStatus == "Pending" && adf.slaDeadline == Timestamp.string(from: Timestamp.date(from: adf.timestamp)!.addingTimeInterval(3600)))
            #expect(adf.recommendations == #"["Check the upstream export","Re-run the pipeline"]"#)
            #expect(adf.itsmTicketID == "PROJ-456" && adf.slackTs == "1732890622.000100" && adf.finopsTeam == "DataIngestion")
            #expect(adf.analysisState == "done" && adf.analysisEngine == "prototype" && adf.rcaResult == "Source blob is missing")
            let references = try await DeliveryStore(database: database).records(ticketID: adf.id)
            #expect(Set(references.map { "\($0.channel)=\($0.remoteID ?? "")@\($0.location ?? "")" }) == ["slack=1732890622.000100@C0RCA", "jira=PROJ-456@"])

            let cluster = try #require(try await store.find(id: "DBX-20251129T041848-b1"))
            #expect(cluster.dedupKey == "databricks-cluster:1121-055905-q5xcz4bm_DRIVER_UNREACHABLE_20251129041848")
            #expect(cluster.timestamp == "2025-11-29T04:18:48.000Z" && cluster.status == "resolved" && cluster.slaStatus == "Breached",
                    "the prototype's acknowledged closed a ticket: resolved here")
            let closed = try await database.read { sql in
                try await sql.raw("SELECT ack_ts, ack_seconds, ack_user, resolved_ts, resolve_seconds, resolved_user FROM tickets WHERE id = 'DBX-20251129T041848-b1'").first()
            }
            #expect(try closed?.decode(column: "ack_ts", as: String.self) == "2025-11-29T04:38:48.500Z")
            #expect(try closed?.decode(column: "ack_seconds", as: Int.self) == 1200)
            #expect(try closed?.decode(column: "resolved_ts", as: String.self) == "2025-11-29T04:38:48.500Z")
            #expect(try closed?.decode(column: "resolve_seconds", as: Int.self) == 1200)
            #expect(try closed?.decode(column: "resolved_user", as: String?.self) == closed?.decode(column: "ack_user", as: String?.self))

            let late = try #require(try await store.find(id: "DBX-20251129T050000-c2"))
            #expect(late.dedupKey == "databricks:run:11223344" && late.status == "in_progress")
            #expect(late.slaStatus == "Breached", "past its deadline at import")
            #expect(late.recommendations == #"["Restart the job"]"#)
            #expect(try await store.audit(ticketID: late.id).map(\.action) == ["Imported", "SLA Breached"])
            #expect(try await store.audit(ticketID: adf.id).map(\.action) == ["Ticket Created", "Jira Ticket Created", "Imported"])
            #expect(try await store.audit(ticketID: cluster.id).first?.timestamp == "2025-11-29T04:38:48.000Z")

            let user = try #require(try await UserStore(database: database).find(email: "john@company.com"))
            #expect(user.passwordHash == PrototypeDatabase.bcryptHash && user.role == .responder && user.fullName == "John Doe")
            #expect(user.createdAt == "2025-11-01T08:00:00.000Z" && user.lastLogin == "2025-11-29T04:38:00.000Z")

            let again = try await PrototypeImporter(database: database).run(tables, role: .admin, now: now)
            #expect(again.isEmpty)
            #expect(again.skipped.filter { $0.reason == "a ticket with this id is already here" }.count == 3)
            #expect(again.skipped.contains { $0.table == "users" && $0.reason == "an account with this e-mail is already here" })
            let counts = try await database.read { sql in
                try await sql.raw("SELECT (SELECT COUNT(*) FROM tickets) AS t, (SELECT COUNT(*) FROM audit_trail) AS a, (SELECT COUNT(*) FROM users) AS u").first()
            }
            #expect(try counts?.decode(column: "t", as: Int.self) == 3)
            #expect(try counts?.decode(column: "a", as: Int.self) == 7)
            #expect(try counts?.decode(column: "u", as: Int.self) == 1)
        }
    }

    @Test("a history larger than one batch comes over whole, with each ticket's audit lines; a row repeated in the file is named", arguments: TestBackend.enabled)
    func manyBatches(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let count = PrototypeImporter.batchSize * 2 + 17
            var tickets: [PrototypeTables.Row] = (0..<count).map { index in
                ["id": "ADF-20251129T000000-\(index)", "timestamp": "2025-11-29T00:00:00", "run_id": "run-\(index)", "status": "acknowledged", "pipeline": "pl_\(index % 7)"]
            }
            tickets.append(["id": "ADF-20251129T000000-5", "timestamp": "2025-11-29T00:00:00", "run_id": "run-other", "status": "open"])
            let audit: [PrototypeTables.Row] = (0..<count).flatMap { index in
                ["Ticket Created", "Ticket Closed"].map { ["ticket_id": "ADF-20251129T000000-\(index)", "timestamp": "2025-11-29 00:0\(index % 10):00", "action": $0] }
            }
            let tables = PrototypeTables(tickets: tickets, auditTrail: audit, users: [])
            let report = try await PrototypeImporter(database: database).run(tables, role: .viewer)
            #expect(report.tickets == count && report.auditEntries == count * 2)
            #expect(report.skipped.map { "\($0.table) \($0.key): \($0.reason)" } == ["tickets ADF-20251129T000000-5: its id or run appears earlier in the file"])
            let store = TicketStore(database: database)
            #expect(try await store.audit(ticketID: "ADF-20251129T000000-\(count - 1)").map(\.action) == ["Ticket Created", "Ticket Closed", "Imported"])
            #expect(try await store.find(dedupKey: "adf:run:run-\(PrototypeImporter.batchSize + 3)")?.id == "ADF-20251129T000000-\(PrototypeImporter.batchSize + 3)")
            let again = try await PrototypeImporter(database: database).run(tables, role: .viewer)
            #expect(again.isEmpty && again.skipped.filter { $0.table == "audit_trail" }.count == count * 2)
        }
    }

    @Test("an imported account signs in with its old password; a resent alert of an imported run folds into the imported ticket")
    func importedWorkCarriesOn() async throws {
        try await TestDatabase.with(.sqlite) { database, testDatabase in
            let tables = try await Self.tables(in: testDatabase.folder)
            _ = try await PrototypeImporter(database: database).run(tables, role: .responder)
            let dependencies = try WebhookHarness.dependencies(database, environment: ["ROLE": "all"])
            try await buildApplication(dependencies).test(.router) { (client: any TestClientProtocol) async throws in
                #expect(try await APIHarness.login(client, "john@company.com", password: PrototypeDatabase.password).status == .ok)
                #expect(try await APIHarness.login(client, "john@company.com", password: "wrong-password-123").status == .unauthorized)
                let resent = try await WebhookHarness.post(client, "/azure-monitor", try Fixture.data("constructed/adf-log-v2-dimensions.json"))
                #expect(try WebhookHarness.answer(resent).ticket_ids == ["ADF-20251129T143022-a3f2c1"])
                let prototypeAnswer = try #require(try JSONSerialization.jsonObject(with: Data(resent.body.readableBytesView)) as? [String: Any])
                #expect(prototypeAnswer["status"] as? String == "duplicate_ignored" && prototypeAnswer["ticket_id"] as? String == "ADF-20251129T143022-a3f2c1",
                        "the prototype's answer to a repeat")
                let databricks = Data(#"{"event_type":"jobs.on_failure","workspace_id":1234,"run":{"run_id":11223344},"job":{"job_id":42,"name":"orders_notebook"}}"#.utf8)
                let rerun = try await WebhookHarness.post(client, "/databricks-monitor", databricks)
                #expect(try WebhookHarness.answer(rerun).ticket_ids == ["DBX-20251129T050000-c2"])
            }
            #expect(try await TicketStore(database: database).find(id: "ADF-20251129T143022-a3f2c1")?.occurrenceCount == 2)
        }
    }

    @Test("a file that is not the prototype's database is refused with one line that says what it is")
    func refusals() async throws {
        try await TestDatabase.with(.sqlite) { database, testDatabase in
            let folder = testDatabase.folder
            func refusal(_ path: String) async -> String? {
                do {
                    _ = try await PrototypeTables.read(sqliteFile: path, logger: TestDatabase.quietLogger)
                    return nil
                } catch {
                    return error.description
                }
            }
            let text = folder.appendingPathComponent("notes.txt").path
            try Data("these are notes, not a database\n".utf8).write(to: URL(fileURLWithPath: text))
            #expect(await refusal(text)?.hasPrefix("\(text) is not a SQLite database") == true)
            #expect(await refusal(folder.appendingPathComponent("missing.db").path)?.hasSuffix("does not exist or cannot be read") == true)
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("missing.db").path), "reading made no file")
            guard case .sqlite(let ours) = testDatabase.location else { Issue.record("expected a SQLite test database"); return }
            #expect(await refusal(ours) == "\(ours) is an RCA Assistant database, not the prototype's; point DATABASE_URL at it instead of importing it")
            let other = folder.appendingPathComponent("other.db").path
            try await PrototypeDatabase.make(at: other, statements: ["DROP TABLE users"])
            #expect(await refusal(other) == "\(other) has no users table, so it is not a prototype database")
            _ = database
        }
    }

    @Test("the three tables exported from Azure SQL as CSV import as the SQLite file does")
    func fromCSV() async throws {
        try await TestDatabase.with(.sqlite) { database, testDatabase in
            let folder = testDatabase.folder.appendingPathComponent("export")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            func write(_ name: String, _ text: String) throws {
                try Data(text.utf8).write(to: folder.appendingPathComponent(name))
            }
            try write("tickets.csv", "\u{FEFF}\"id\",\"timestamp\",\"pipeline\",\"run_id\",\"rca_result\",\"status\",\"sla_seconds\",\"sla_status\"\r\n"
                + "\"ADF-20251130T101500-d4\",\"2025-11-30T10:15:00.250000\",\"Sales, daily\",\"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\",\"Line one\nline \"\"two\"\"\",\"acknowledged\",\"1800.0\",\"Met\"\r\n")
            try write("audit_trail.csv", "id,timestamp,ticket_id,action,details,mttr_minutes\n1,2025-11-30 10:15:00,ADF-20251130T101500-d4,Ticket Created,,12.5\n")
            try write("users.csv", "id,email,password_hash,full_name,created_at,last_login\n1,ana@company.com,\(PrototypeDatabase.bcryptHash),Ana,2025-11-01 08:00:00,NULL\n")
            let tables = try PrototypeTables.read(csvDirectory: folder.path)
            let report = try await PrototypeImporter(database: database).run(tables, role: .viewer)
            #expect(report.tickets == 1 && report.auditEntries == 1 && report.users == 1 && report.skipped.isEmpty)
            let ticket = try #require(try await TicketStore(database: database).find(id: "ADF-20251130T101500-d4"))
            #expect(ticket.pipeline == "Sales, daily" && ticket.rcaResult == "Line one\nline \"two\"" && ticket.slaSeconds == 1800)
            #expect(ticket.timestamp == "2025-11-30T10:15:00.250Z" && ticket.dedupKey == "adf:run:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
            let user = try #require(try await UserStore(database: database).find(email: "ana@company.com"))
            #expect(user.role == .viewer && user.lastLogin == nil)

            try write("users.csv", "email,password_hash\n\"ana@company.com\",\"$2b$12$\"x\n")
            #expect(throws: PrototypeImportError.notPrototype("\(folder.path)/users.csv is not a CSV export of the prototype's users table: line 2: text after a closing quote")) {
                try PrototypeTables.read(csvDirectory: folder.path)
            }
            try write("users.csv", "mail,hash\nana@company.com,x\n")
            #expect(throws: PrototypeImportError.notPrototype("\(folder.path)/users.csv has no email, password_hash column, so it is not the prototype's users table")) {
                try PrototypeTables.read(csvDirectory: folder.path)
            }
        }
    }
}

@Suite("import-prototype and doctor on the command line", .serialized)
struct PrototypeCommandTests {
    @Test("import-prototype prints what it imported and skipped; a second run imports nothing; a file that is not a prototype database is one line and exit 1")
    func importCommand() async throws {
        let folder = try CommandLineTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try await PrototypeDatabase.make(at: folder.appendingPathComponent("rca.db").path)

        let first = try await CommandProcess.run(["import-prototype", "rca.db"], environment: [:], directory: folder)
        #expect(first.status == 0, "\(first.stderr)")
        let lines = first.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "Imported 3 tickets, 3 audit entries and 1 users.")
        #expect(lines.contains("1 open tickets were past their SLA and are marked Breached (no notification was sent)."))
        #expect(lines.contains("Skipped tickets: its status \"closed\" is not open, in_progress or acknowledged: 1 (ADF-odd)"))
        #expect(lines.contains("Skipped users: its password hash is not a bcrypt hash, so its password could not be checked: 1 (plain@company.com)"))

        let second = try await CommandProcess.run(["import-prototype", "rca.db"], environment: [:], directory: folder)
        #expect(second.status == 0 && second.stdout.hasPrefix("Imported 0 tickets, 0 audit entries and 0 users.\n"))
        #expect(second.stdout.contains("Skipped tickets: a ticket with this id is already here: 3"))

        try Data("not a database".utf8).write(to: folder.appendingPathComponent("notes.txt"))
        let refused = try await CommandProcess.run(["import-prototype", "notes.txt"], environment: [:], directory: folder)
        #expect(refused.status == 1 && refused.stdout.isEmpty)
        #expect(refused.stderr.hasPrefix("rca-assistant: notes.txt is not a SQLite database") && refused.stderr.split(separator: "\n").count == 1)
    }

    @Test("serve logs a warning for each integration whose check fails, and starts anyway")
    func serveChecksAtStart() async throws {
        let vendors = try await FakeVendors.start()
        defer { Task { await vendors.server.stop() } }
        let folder = try CommandLineTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let environment = vendors.environment.merging(["SLACK_BOT_TOKEN": "xoxb-revoked", "DATABRICKS_TOKEN": "dapi-old"]) { $1 }
        let server = try CommandProcess(["serve", "--port", "0"], environment: environment, directory: folder)
        let output = try await server.waitForOutput(containing: "Webhook")
        #expect(try await httpGet("http://127.0.0.1:\(try CommandLineTests.port(in: output))/ready").status == 200, "it started anyway")
        let deadline = ContinuousClock.now + .seconds(20)
        while !(server.standardError.contains("check SLACK_BOT_TOKEN") && server.standardError.contains("check DATABRICKS_TOKEN")), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        server.signal(SIGTERM)
        _ = try await server.waitForExit()
        let warnings = server.standardError.split(separator: "\n").filter { $0.contains("integration check failed") }
        #expect(warnings.count == 2, "\(server.standardError)")
        #expect(warnings.contains { $0.contains("Slack: problem: the bot token was refused: invalid_auth (check SLACK_BOT_TOKEN)") })
        #expect(warnings.contains { $0.contains("(check DATABRICKS_TOKEN)") })
        #expect(!server.standardError.contains("xoxb-revoked"), "the token itself is not logged")
    }

    @Test("doctor prints a line per integration and exits 1 when one is wrong")
    func doctorCommand() async throws {
        let vendors = try await FakeVendors.start()
        defer { Task { await vendors.server.stop() } }
        let folder = try CommandLineTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try await CommandProcess.run(["migrate"], environment: [:], directory: folder)
        let right = try await CommandProcess.run(["doctor"], environment: vendors.environment, directory: folder)
        #expect(right.status == 0, "\(right.stdout)\(right.stderr)")
        #expect(right.stdout.split(separator: "\n").count == 8 && right.stdout.contains("Jira: ok: signed in as Ops Bot; project ED is visible"))
        let wrong = try await CommandProcess.run(["doctor"], environment: vendors.environment.merging(["JIRA_PROJECT_KEY": "XX"]) { $1 }, directory: folder)
        #expect(wrong.status == 1)
        #expect(wrong.stdout.contains("Jira: problem: signed in as Ops Bot, but project XX is not visible (404) (check JIRA_PROJECT_KEY)"))
    }
}
