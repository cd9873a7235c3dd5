import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import RCACore
import RCAServer
import RCASources
import RCAStore
import RCATesting
import Testing

@Suite("Databricks enrichment", .serialized)
struct DatabricksEnrichmentTests {
    static let token = "dapi-test-token-never-shown"
    static let runsGet = "/api/2.1/jobs/runs/get"
    static let getOutput = "/api/2.1/jobs/runs/get-output"
    static let failureBody = Data(#"{"event_type":"jobs.on_failure","workspace_id":1234,"run":{"run_id":11223344},"job":{"job_id":42,"name":"orders_pipeline"}}"#.utf8)

    /// Posts a Databricks failure to an app whose enrichment points at `fake`,
    /// lets the workers run, and returns the ticket once analysis settled.
    static func ingestAndAnalyze(
        _ backend: TestBackend,
        fake: ScriptedAnswers,
        environment: [String: String] = [:],
        until settled: @escaping @Sendable (TicketRecord) -> Bool = { $0.analysisState != "pending" }
    ) async throws -> (TicketRecord, [AuditEntry]) {
        let server = try await LocalHTTPServer.start(fake.router(paths: [runsGet, getOutput]))
        defer { Task { await server.stop() } }
        return try await TestDatabase.with(backend) { database, _ in
            let configuration = try ServerConfiguration(
                environment: ["PORT": "0", "DATABRICKS_HOST": server.baseURL, "DATABRICKS_TOKEN": token, "ENRICHMENT_TIMEOUT_SECONDS": "1"]
                    .merging(environment) { $1 }
            )
            let dependencies = try AppDependencies(
                configuration: configuration,
                database: database,
                webhookToken: WebhookHarness.token, jwtSecret: WebhookHarness.jwtSecret,
                enrichers: makeEnrichers(configuration),
                enrichmentRetryDelay: .milliseconds(100),
                logger: TestDatabase.quietLogger
            )
            let app = buildApplication(dependencies)
            return try await app.test(.router) { client in
                let answer = try WebhookHarness.answer(try await WebhookHarness.post(client, "/databricks-monitor", failureBody))
                let ticketID = try #require(answer.ticket_ids.first)
                let tickets = TicketStore(database: database)
                let deadline = ContinuousClock.now + .seconds(60)
                while ContinuousClock.now < deadline {
                    if let ticket = try await tickets.find(id: ticketID), settled(ticket) {
                        return (ticket, try await tickets.audit(ticketID: ticketID))
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                throw ProcessTimeout(description: "analysis of \(ticketID) did not settle")
            }
        }
    }

    static func runsGetAnswer() throws -> ScriptedAnswers.Answer {
        .init(body: String(decoding: try Fixture.data("databricks/jobs-2.1-runs-get.response.json"), as: UTF8.self))
    }

    @Test("the error comes from runs/get and runs/get-output, every failed task reported, with the trace", arguments: TestBackend.enabled)
    func success(backend: TestBackend) async throws {
        let fake = ScriptedAnswers()
        fake.always(Self.runsGet, try Self.runsGetAnswer())
        fake.enqueue(Self.getOutput, .init(body: String(decoding: try Fixture.data("databricks/jobs-2.1-runs-get-output.response.json"), as: UTF8.self)))
        fake.always(Self.getOutput, .init(.badRequest, body: #"{"error_code":"INVALID_PARAMETER_VALUE","message":"Retrieving the output of runs with multiple tasks is not supported."}"#))

        let (ticket, audit) = try await Self.ingestAndAnalyze(backend, fake: fake)

        #expect(ticket.analysisState == "done")
        let text = try #require(ticket.errorMessage)
        #expect(text.hasPrefix("[Task: Orders_Ingest] ZeroDivisionError: integer division or modulo by zero | [Task: Sessionize] Library installation failed"))
        #expect(!text.contains("Match"), "a task skipped because of another's failure is not a cause")
        #expect(text.contains("Trace of task Orders_Ingest:"))
        #expect(ticket.detailValues["cluster_id"] == "0923-164208-meows279")
        #expect(ticket.detailValues["run_page_url"] == "https://my-workspace.cloud.databricks.com/#job/11223344/run/123")
        #expect(ticket.detailValues["failed_tasks"] == "Orders_Ingest, Sessionize")
        #expect(audit.map(\.action) == ["Ticket Created", "Error Enriched", "RCA Generated"])
        #expect(audit.last?.details?.contains("decided by rule databricks-library-install") == true, "the audit says what decided")
        #expect(ticket.category == "dependency_or_library_failure")
        #expect(ticket.errorType == "LIBRARY_INSTALLATION_FAILED")
        #expect(ticket.rcaResult == "A library could not be installed on the cluster, so the task could not start")
        #expect(ticket.priority == "P2" && ticket.slaSeconds == 1800)
        #expect(ticket.analysisEngine == "rules")
        #expect(ticket.evidence?.contains("Library installation failed") == true)
        #expect(fake.received.first?.query == "run_id=11223344")
        #expect(fake.received.allSatisfy { $0.authorization == "Bearer \(Self.token)" })
        #expect(fake.received.filter { $0.path == Self.getOutput }.compactMap(\.query) == ["run_id=2112892", "run_id=2112902"])
    }

    @Test("429 with Retry-After is honoured and retried, then the enrichment succeeds")
    func rateLimitedThenSuccess() async throws {
        let fake = ScriptedAnswers()
        fake.enqueue(Self.runsGet, .init(.tooManyRequests, body: #"{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"rate limit"}"#, headers: [.retryAfter: "1"]))
        fake.always(Self.runsGet, try Self.runsGetAnswer())
        fake.always(Self.getOutput, .init(body: #"{"error":"FileNotFoundError: [Errno 2] No such file or directory: '/dbfs/mnt/raw/orders/2026-11-29.csv'"}"#))

        let (ticket, audit) = try await Self.ingestAndAnalyze(.sqlite, fake: fake)

        #expect(ticket.errorMessage?.contains("FileNotFoundError: [Errno 2] No such file or directory") == true)
        #expect(audit.map(\.action) == ["Ticket Created", "Error Enriched", "RCA Generated"])
        #expect(fake.count(Self.runsGet) == 2)
    }

    @Test("authentication failure, a missing run, persistent 500s and timeouts keep the ticket with the webhook's text and say why", arguments: [
        (ScriptedAnswers.Answer(.unauthorized, body: #"{"error_code":"401","message":"Unauthorized"}"#), "authentication failed (HTTP 401"),
        (ScriptedAnswers.Answer(.badRequest, body: #"{"error_code":"INVALID_PARAMETER_VALUE","message":"Run 11223344 does not exist."}"#), "Run 11223344 does not exist."),
        (ScriptedAnswers.Answer(.internalServerError, body: #"{"error_code":"INTERNAL_ERROR"}"#), "the service answered 500"),
        (ScriptedAnswers.Answer(body: "{}", delay: .seconds(3)), "the service did not answer in time"),
    ])
    func failures(answer: ScriptedAnswers.Answer, reason: String) async throws {
        let fake = ScriptedAnswers()
        fake.always(Self.runsGet, answer)

        let (ticket, audit) = try await Self.ingestAndAnalyze(.sqlite, fake: fake)

        #expect(ticket.analysisState == "done")
        #expect(ticket.errorMessage?.hasPrefix("Databricks job orders_pipeline run 11223344 failed") == true)
        let failure = try #require(audit.first { $0.action == "Enrichment Failed" })
        #expect(failure.details?.contains(reason) == true, "\(failure.details ?? "")")
        #expect(failure.details?.contains(Self.token) == false)
    }

    @Test("without DATABRICKS_HOST the ticket is analyzed with the webhook's text and the audit says how to turn enrichment on")
    func notConfigured() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let app = buildApplication(try WebhookHarness.dependencies(database, environment: ["ROLE": "all"]))
            try await app.test(.router) { client in
                let answer = try WebhookHarness.answer(try await WebhookHarness.post(client, "/databricks-monitor", Self.failureBody))
                let ticketID = try #require(answer.ticket_ids.first)
                let tickets = TicketStore(database: database)
                #expect(try await tickets.settled([ticketID]).first?.analysisState == "done")
                let skipped = try await tickets.audit(ticketID: ticketID).first { $0.action == "Enrichment Skipped" }
                #expect(skipped?.details == "Databricks Jobs API is not configured (set DATABRICKS_HOST and DATABRICKS_TOKEN); analysis uses the webhook's own text")
            }
        }
    }

    @Test("DATABRICKS_HOST and DATABRICKS_TOKEN go together")
    func configurationPairs() {
        #expect(throws: ConfigurationError(variable: "DATABRICKS_TOKEN", problem: "is required when DATABRICKS_HOST is set")) {
            try ServerConfiguration(environment: ["DATABRICKS_HOST": "https://adb-1.azuredatabricks.net"])
        }
        #expect(throws: ConfigurationError(variable: "DATABRICKS_HOST", problem: "is required when DATABRICKS_TOKEN is set")) {
            try ServerConfiguration(environment: ["DATABRICKS_TOKEN": "dapi123"])
        }
    }
}

@Suite("Analysis job failures")
struct AnalysisFailureTests {
    @Test("a ticket whose analysis job runs out of attempts shows the error and an audit line", arguments: TestBackend.enabled)
    func exhaustedAttempts(backend: TestBackend) async throws {
        let fake = ScriptedAnswers()
        fake.always(DatabricksEnrichmentTests.runsGet, .init(.serviceUnavailable, body: #"{"error_code":"TEMPORARILY_UNAVAILABLE"}"#))

        // The answer is a prompt 503; the 1 s timeout of the other enrichment
        // tests could turn a slow answer on a loaded machine into a timeout.
        let (ticket, audit) = try await DatabricksEnrichmentTests.ingestAndAnalyze(
            backend, fake: fake, environment: ["JOB_MAX_ATTEMPTS": "1", "ENRICHMENT_TIMEOUT_SECONDS": "10"]
        )

        #expect(ticket.analysisState == "failed")
        #expect(ticket.analysisError == "Databricks Jobs API: the service answered 503")
        #expect(audit.map(\.action) == ["Ticket Created", "Analysis Failed"])
    }
}
