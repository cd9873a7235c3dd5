import Foundation
import HummingbirdTesting
import Logging
import RCAStore
import RCATesting
import SQLKit
import Synchronization
import Testing

/// Keeps the SQL of every statement a database runs (SQLiteKit logs each one
/// at trace level), once recording is switched on.
final class StatementRecorder: Sendable {
    private struct State {
        var recording = false
        var statements: [String] = []
    }

    private let state = Mutex(State())

    var statements: [String] { state.withLock { $0.statements } }

    func start() { state.withLock { $0.recording = true } }

    fileprivate func record(_ sql: String) {
        state.withLock { if $0.recording { $0.statements.append(sql) } }
    }

    var logger: Logger {
        var logger = Logger(label: "statements") { _ in Handler(recorder: self) }
        logger.logLevel = .trace
        return logger
    }

    private struct Handler: LogHandler {
        let recorder: StatementRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            guard event.message.description == "Executing query", case .string(let sql)? = event.metadata?["sql"] else { return }
            recorder.record(sql)
        }
    }
}

@Suite("Query plans of the ingestion and worker paths")
struct QueryPlanTests {
    /// Tables that grow with every alert: reading them without an index, or
    /// sorting what an index could give in order, gets slower as they fill.
    static let growingTables = ["tickets", "jobs", "audit_trail", "raw_payloads", "deliveries", "ticket_links"]

    @Test("every statement from webhook to Slack and Jira (cache hits and a recurrence included) finds its rows by index and sorts nothing")
    func workerStatementsUseIndexes() async throws {
        let recorder = StatementRecorder()
        try await recorder.runPipeline(workers: 2) { client, harness, slack, jira in
            for (pipeline, run) in [("pl_orders", "r1"), ("pl_invoices", "r2"), ("pl_orders", "r3")] {
                let id = try await harness.post(client, generic: [
                    "resource": pipeline, "run_id": run, "error_message": "java.lang.OutOfMemoryError: Java heap space in stage 4",
                ])
                try await harness.settle(id)
            }
            try await eventually(20, "both tickets reached Slack and Jira, and the recurrence edited its message") {
                slack.posts == 2 && jira.creates.withLock { $0 } == 2 && slack.messages.withLock { $0.contains { $0.updates >= 1 } }
            }
        } inspect: { database in
            try await Self.checkPlans(recorder.statements, on: database)
        }
    }

    /// Checks that each SELECT, UPDATE, DELETE and INSERT … SELECT of
    /// `recorded` reads the growing tables by index and sorts nothing.
    static func checkPlans(_ recorded: [String], on database: Database) async throws {
        let statements = Set(recorded.filter { statement in
            let verb = statement.prefix(6).uppercased()
            return ["SELECT", "UPDATE", "DELETE"].contains(verb) || (verb == "INSERT" && statement.uppercased().contains("SELECT"))
        })
        #expect(statements.count >= 15, "the paths ran: \(statements.count) statements recorded")
        let bodyReads = statements.filter { $0.contains("raw_payloads") && $0.contains("body") }
        #expect(bodyReads.isEmpty, "Slack and Jira deliveries do not read the stored webhook bodies: \(bodyReads)")
        var problems: [String] = []
        for statement in statements.sorted() {
            let plan = try await database.read { sql in
                try await sql.raw("EXPLAIN QUERY PLAN \(unsafeRaw: statement)").all().map { try $0.decode(column: "detail", as: String.self) }
            }
            for step in plan {
                let fullScan = Self.growingTables.contains { step == "SCAN \($0)" || step.hasPrefix("SCAN \($0) ") && !step.contains("USING") }
                // Folding the ticket counters groups the changes of the last
                // two seconds, a set that does not grow with the tables.
                let groupsPendingChanges = statement.hasPrefix("INSERT INTO ticket_counters") && step.contains("GROUP BY")
                if fullScan || step.contains("TEMP B-TREE") && !groupsPendingChanges {
                    problems.append("\(step) in: \(statement.replacingOccurrences(of: "\n", with: " "))")
                }
            }
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }
}

extension StatementRecorder {
    /// Runs the whole pipeline with `workers` workers against fake Slack and
    /// Jira, on a fresh SQLite database whose statements this recorder sees
    /// from the server's start; then, with the fakes stopped, hands the
    /// database to `inspect`.
    func runPipeline(
        workers: Int,
        _ body: @Sendable (any TestClientProtocol, PipelineHarness, FakeSlack, FakeJira) async throws -> Void,
        inspect: (Database) async throws -> Void
    ) async throws {
        let slack = try await FakeSlack.start()
        let jira = try await FakeJira.start()
        let testDatabase = try await TestDatabase.make(.sqlite)
        defer { Task { await testDatabase.destroy() } }
        let database = try await testDatabase.open(migrated: true, logger: logger)
        start()
        let environment = NotificationTests.environment(slack: slack, jira: jira).merging(["WORKER_CONCURRENCY": String(workers)]) { $1 }
        try await PipelineHarness(database: database, environment: environment).run { client, harness in
            try await body(client, harness, slack, jira)
        }
        await slack.server.stop()
        await jira.server.stop()
        try await inspect(database)
        await database.close()
    }
}
