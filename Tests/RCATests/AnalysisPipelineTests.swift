import Foundation
import Hummingbird
import HummingbirdTesting
import RCACore
import RCAServer
import RCAStore
import RCATesting
import SQLKit
import Testing

/// Posts webhooks to a full application (web and workers) and waits for their analyses.
struct PipelineHarness {
    let database: Database
    let environment: [String: String]

    /// Runs `body` against a live app; `settle` waits until a ticket's analysis is over.
    func run<T: Sendable>(_ body: @Sendable (any TestClientProtocol, PipelineHarness) async throws -> T) async throws -> T {
        let app = buildApplication(try WebhookHarness.dependencies(database, environment: ["ROLE": "all"].merging(environment) { $1 }))
        return try await app.test(.router) { client in try await body(client, self) }
    }

    func post(_ client: any TestClientProtocol, generic fields: [String: Any]) async throws -> String {
        let body = try JSONSerialization.data(withJSONObject: fields)
        return try #require(try WebhookHarness.answer(try await WebhookHarness.post(client, "/webhook/generic", body)).ticket_ids.first)
    }

    @discardableResult
    func settle(_ id: String) async throws -> TicketRecord {
        try await TicketStore(database: database).settled([id])[0]
    }

    func actions(_ id: String) async throws -> [String] {
        try await TicketStore(database: database).audit(ticketID: id).map(\.action)
    }
}

@Suite("Analysis in the server: model engines, cache, recurrences, related tickets, ownership", .serialized)
struct AnalysisPipelineTests {
    @Test("a burst of one failure across pipelines costs one model call; the rest reuse it", arguments: TestBackend.enabled)
    func oneModelCallPerFailure(backend: TestBackend) async throws {
        let fake = try await ModelFake.start(.openai)
        defer { Task { await fake.server.stop() } }
        fake.always(try fake.reply(SampleFailure.answer(), tokens: 640))
        try await TestDatabase.with(backend) { database, _ in
            let harness = PipelineHarness(database: database, environment: fake.environment.merging(["WORKER_CONCURRENCY": "4"]) { $1 })
            let ids = try await harness.run { client, harness in
                var ids: [String] = []
                for index in 0..<6 {
                    ids.append(try await harness.post(client, generic: ["resource": "pipeline_\(index)", "run_id": "run-\(index)", "error_message": SampleFailure.text]))
                }
                for id in ids { try await harness.settle(id) }
                return ids
            }
            #expect(fake.calls == 1)
            let tickets = TicketStore(database: database)
            var reused = 0
            for id in ids {
                let ticket = try #require(try await tickets.find(id: id))
                #expect(ticket.analysisEngine == "openai")
                #expect(ticket.category == "missing_input_data")
                if try await harness.actions(id).contains("RCA Reused") { reused += 1 }
            }
            #expect(reused == 5)
            let budget = try await DatabaseModelBudget(database: database, limits: .init(callsPerDay: 0, tokensPerDay: 0)).today()
            #expect(budget.calls == 1 && budget.tokens == 640)
        }
    }

    @Test("while one ticket of a failure waits for the model, another whose text the stored analysis fits is stored at once, not after it",
          arguments: TestBackend.enabled)
    func cacheHitsDoNotQueue(backend: TestBackend) async throws {
        let fake = try await ModelFake.start(.openai)
        defer { Task { await fake.server.stop() } }
        let otherDay = SampleFailure.text.replacingOccurrences(of: "sales/2025/11/29.csv", with: "sales/2025/11/30.csv")
        #expect(Fingerprint.of(source: .generic, errorText: otherDay) == Fingerprint.of(source: .generic, errorText: SampleFailure.text))
        fake.enqueue(try fake.reply(SampleFailure.answer()))
        var slow = try fake.reply(SampleFailure.answer(evidence: ["The required Blob is missing", "BlobPrefix: sales/2025/11/30.csv"]))
        slow.delay = .seconds(3)
        fake.enqueue(slow)
        try await TestDatabase.with(backend) { database, _ in
            let harness = PipelineHarness(database: database, environment: fake.environment.merging(["WORKER_CONCURRENCY": "4"]) { $1 })
            let tickets = TicketStore(database: database)
            let (waiting, reusing) = try await harness.run { client, harness in
                try await harness.settle(try await harness.post(client, generic: ["resource": "sales_daily_load", "error_message": SampleFailure.text]))
                let waiting = try await harness.post(client, generic: ["resource": "sales_daily_load", "error_message": otherDay])
                try await eventually(10, "the second ticket's model call began") { fake.calls == 2 }
                let reusing = try await harness.post(client, generic: ["resource": "sales_hourly_load", "error_message": SampleFailure.text])
                try await harness.settle(reusing)
                #expect(try await tickets.find(id: waiting)?.analysisState == "pending", "the model is still answering the other ticket")
                try await harness.settle(waiting)
                return (waiting, reusing)
            }
            #expect(fake.calls == 2)
            #expect(try await harness.actions(reusing).contains("RCA Reused"))
            #expect(try await tickets.find(id: waiting)?.analysisEngine == "openai")
        }
    }

    @Test("a model that is down leaves the rules engine's analysis and an audit line saying why", arguments: TestBackend.enabled)
    func fallbackIsAudited(backend: TestBackend) async throws {
        let fake = try await ModelFake.start(.gemini)
        defer { Task { await fake.server.stop() } }
        fake.always(try fake.overloaded())
        try await TestDatabase.with(backend) { database, _ in
            let harness = PipelineHarness(database: database, environment: fake.environment.merging(["MODEL_MAX_ATTEMPTS": "1"]) { $1 })
            let id = try await harness.run { client, harness in
                let id = try await harness.post(client, generic: ["resource": "sales_daily_load", "error_message": SampleFailure.text])
                try await harness.settle(id)
                return id
            }
            let ticket = try #require(try await TicketStore(database: database).find(id: id))
            #expect(ticket.analysisEngine == "rules")
            #expect(ticket.errorType == "UserErrorSourceBlobNotExists")
            let fallback = try #require(try await TicketStore(database: database).audit(ticketID: id).first { $0.action == "RCA Fallback" })
            #expect(fallback.details?.contains("gemini: the model service answered 503: The model is overloaded") == true)
        }
    }

    @Test("an analysis that another worker stored while the model was answering is kept; the late one is dropped and its job is done",
          arguments: TestBackend.enabled)
    func lateAnalysisIsDropped(backend: TestBackend) async throws {
        let fake = try await ModelFake.start(.openai)
        defer { Task { await fake.server.stop() } }
        var slow = try fake.reply(SampleFailure.answer())
        slow.delay = .seconds(1)
        fake.always(slow)
        try await TestDatabase.with(backend) { database, _ in
            let harness = PipelineHarness(database: database, environment: fake.environment)
            let id = try await harness.run { client, harness in
                let id = try await harness.post(client, generic: ["resource": "sales_daily_load", "error_message": SampleFailure.text])
                try await eventually(10, "the model was asked") { fake.calls == 1 }
                try await database.transaction { sql in
                    try await sql.raw(
                        "UPDATE tickets SET analysis_state = 'done', rca_result = 'stored by another worker' WHERE id = \(bind: id)"
                    ).run()
                }
                let queue = JobQueue(database: database)
                try await eventually(10, "the late analysis's job finished") {
                    try await queue.jobs(kind: IngestionStore.analyzeJobKind).map(\.state) == ["done"]
                }
                return id
            }
            let ticket = try #require(try await TicketStore(database: database).find(id: id))
            #expect(ticket.rcaResult == "stored by another worker")
            #expect(ticket.analysisEngine == nil)
            #expect(try await harness.actions(id) == ["Ticket Created"])
        }
    }

    @Test("the same failure of an open ticket is folded into it; after the ticket is closed it opens a new one linked to it", arguments: TestBackend.enabled)
    func recurrence(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let harness = PipelineHarness(database: database, environment: [:])
            let text = "java.lang.OutOfMemoryError: Java heap space at org.apache.spark.sql.execution.SortExec"
            let tickets = TicketStore(database: database)
            let ids = try await harness.run { client, harness in
                var ids: [String] = []
                for run in ["r-1", "r-2", "r-3"] {
                    let id = try await harness.post(client, generic: ["resource": "daily_orders", "run_id": run, "error_message": text])
                    try await harness.settle(id)
                    ids.append(id)
                }
                let first = ids[0]
                try await database.transaction { sql in
                    try await sql.raw("UPDATE tickets SET status = 'resolved' WHERE id = \(bind: first)").run()
                }
                let reopened = try await harness.post(client, generic: ["resource": "daily_orders", "run_id": "r-4", "error_message": text])
                try await harness.settle(reopened)
                return ids + [reopened]
            }
            let first = try #require(try await tickets.find(id: ids[0]))
            let third = try #require(try await tickets.find(id: ids[2]))
            #expect(first.occurrenceCount == 3)
            #expect(first.lastSeen == third.lastSeen)
            #expect(try await harness.actions(ids[0]).filter { $0 == "Recurred" }.count == 2)
            for id in ids[1...2] {
                let recurrence = try #require(try await tickets.find(id: id))
                #expect(recurrence.recurrenceOf == ids[0])
                #expect(recurrence.slaDeadline == nil)
                #expect(recurrence.slaStatus == nil)
                #expect(try await harness.actions(id).contains("Recurrence Linked"))
            }
            let reopened = try #require(try await tickets.find(id: ids[3]))
            #expect(reopened.recurrenceOf == nil)
            #expect(reopened.slaDeadline != nil)
            #expect(try await harness.actions(ids[3]).contains("Recurred After Fix"))
            let links = try await TicketLinks(database: database).links(of: ids[3])
            #expect(links.contains { $0.ticketID == ids[0] && $0.relation == .recurredAfterFix && $0.outgoing })
            #expect(try await TicketLinks(database: database).links(of: ids[0]).filter { $0.relation == .recurrenceOf && !$0.outgoing }.count == 2)
        }
    }

    @Test("with RECURRENCE_LINKING=false every run keeps its own ticket")
    func recurrenceOff() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = PipelineHarness(database: database, environment: ["RECURRENCE_LINKING": "false"])
            let ids = try await harness.run { client, harness in
                var ids: [String] = []
                for run in ["r-1", "r-2"] {
                    let id = try await harness.post(client, generic: ["resource": "daily_orders", "run_id": run, "error_message": "ConcurrentAppendException: Files were added to partition [date=2026-11-29] by a concurrent update"])
                    try await harness.settle(id)
                    ids.append(id)
                }
                return ids
            }
            let second = try #require(try await TicketStore(database: database).find(id: ids[1]))
            #expect(second.recurrenceOf == nil)
            #expect(second.slaDeadline != nil)
        }
    }

    @Test("a Data Factory error naming a Databricks run is linked with that run's ticket, whichever arrives first", arguments: TestBackend.enabled)
    func namedRun(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let harness = PipelineHarness(database: database, environment: [:])
            @Sendable func adfText(_ run: String) -> String {
                "Operation on target Run_Notebook failed: Databricks execution failed with error state: FAILED. Run page url: https://adb-1234567890123456.7.azuredatabricks.net/?o=1234567890123456#job/42/run/\(run)"
            }
            @Sendable func databricks(_ run: String) -> Data {
                Data(#"{"event_type":"jobs.on_failure","workspace_id":1234,"run":{"run_id":\#(run)},"job":{"job_id":42,"name":"orders_notebook"}}"#.utf8)
            }
            let (runFirst, adfAfter, adfFirst, runAfter) = try await harness.run { client, harness in
                let runFirst = try #require(try WebhookHarness.answer(try await WebhookHarness.post(client, "/databricks-monitor", databricks("11223344"))).ticket_ids.first)
                try await harness.settle(runFirst)
                let adfAfter = try await harness.post(client, generic: ["resource": "adf_orders", "error_message": adfText("11223344")])
                try await harness.settle(adfAfter)
                let adfFirst = try await harness.post(client, generic: ["resource": "adf_returns", "error_message": adfText("99887766")])
                try await harness.settle(adfFirst)
                let runAfter = try #require(try WebhookHarness.answer(try await WebhookHarness.post(client, "/databricks-monitor", databricks("99887766"))).ticket_ids.first)
                try await harness.settle(runAfter)
                return (runFirst, adfAfter, adfFirst, runAfter)
            }
            let links = TicketLinks(database: database)
            func named(_ id: String) async throws -> [TicketLink] {
                try await links.links(of: id).filter { $0.relation == .namesRun }
            }
            #expect(try await named(adfAfter).map(\.ticketID) == [runFirst])
            #expect(try await named(runFirst).map(\.outgoing) == [false])
            #expect(try await named(runAfter).map(\.ticketID) == [adfFirst])
            #expect(try await named(adfFirst).map(\.outgoing) == [true])
        }
    }

    @Test("a cluster termination is linked with job failures on that cluster at the time", arguments: TestBackend.enabled)
    func sameCluster(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let harness = PipelineHarness(database: database, environment: [:])
            let (clusterTicket, jobTicket, lateTicket) = try await harness.run { client, harness in
                let ids = try WebhookHarness.answer(
                    try await WebhookHarness.post(client, "/azure-monitor-alert", try Fixture.data("constructed/databricks-clusters-log-alert.json"))
                ).ticket_ids
                var cluster: TicketRecord?
                for id in ids {
                    let ticket = try await harness.settle(id)
                    if ticket.clusterID == "1121-055905-q5xcz4bm" { cluster = ticket }
                }
                let clusterTicket = try #require(cluster)
                let seen = try #require(Timestamp.date(from: clusterTicket.timestamp))
                let job = try await harness.post(client, generic: [
                    "resource": "nightly_etl", "error_message": "Task failed: the cluster terminated during the run",
                    "occurred_at": Timestamp.string(from: seen.addingTimeInterval(-600)), "details": ["cluster_id": "1121-055905-q5xcz4bm"],
                ])
                try await harness.settle(job)
                let earlier = try await harness.post(client, generic: [
                    "resource": "weekly_etl", "error_message": "Task failed: the cluster terminated during the run",
                    "occurred_at": Timestamp.string(from: seen.addingTimeInterval(-86_400)), "details": ["cluster_id": "1121-055905-q5xcz4bm"],
                ])
                try await harness.settle(earlier)
                return (clusterTicket.id, job, earlier)
            }
            let links = TicketLinks(database: database)
            #expect(try await links.links(of: jobTicket).map(\.ticketID) == [clusterTicket])
            #expect(try await links.links(of: clusterTicket).contains { $0.ticketID == jobTicket && $0.relation == .sameCluster })
            #expect(try await links.links(of: lateTicket).isEmpty, "a day earlier is not the same incident")
        }
    }

    @Test("owners come from the ownership file by name pattern or tag, else from the name's prefix")
    func ownership() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ownership-\(UUID().uuidString).json")
        try Data(
            #"""
            {"owner_email_domain": "example.com",
             "rules": [
               {"name": "sales_*", "team": "Sales Analytics", "owner": "sales-data@example.com", "cost_center": "CC-SALES-01"},
               {"tags": {"team": "finance"}, "team": "Finance", "owner": "fin-ops@example.com", "cost_center": "CC-FIN-07"}
             ]}
            """#.utf8
        ).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = PipelineHarness(database: database, environment: ["OWNERSHIP_FILE": file.path])
            let ids = try await harness.run { client, harness in
                var ids: [String] = []
                for (resource, details) in [("sales_daily_load", [String: String]()), ("billing_export", ["tag.Team": "Finance"]), ("inventory-refresh", [:]), ("Nightly", [:])] {
                    let id = try await harness.post(client, generic: ["resource": resource, "error_message": "Connection reset by peer", "details": details])
                    try await harness.settle(id)
                    ids.append(id)
                }
                return ids
            }
            let tickets = TicketStore(database: database)
            let owners = try await ids.asyncMap { id in
                let ticket = try #require(try await tickets.find(id: id))
                return [ticket.finopsTeam, ticket.finopsOwner, ticket.finopsCostCenter]
            }
            #expect(owners[0] == ["Sales Analytics", "sales-data@example.com", "CC-SALES-01"])
            #expect(owners[1] == ["Finance", "fin-ops@example.com", "CC-FIN-07"])
            #expect(owners[2] == ["inventory", "inventory@example.com", nil])
            #expect(owners[3] == [nil, nil, nil])
        }
    }

    @Test("SLA seconds per priority follow SLA_Pn_SECONDS")
    func configurableSLA() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = PipelineHarness(database: database, environment: ["SLA_P2_SECONDS": "600"])
            let ticket = try await harness.run { client, harness in
                try await harness.settle(try await harness.post(client, generic: ["resource": "x_load", "error_message": SampleFailure.text]))
            }
            #expect(ticket.priority == "P2")
            #expect(ticket.slaSeconds == 600)
            let deadline = try #require(ticket.slaDeadline.flatMap(Timestamp.date(from:)))
            let seen = try #require(Timestamp.date(from: ticket.firstSeen))
            #expect(abs(deadline.timeIntervalSince(seen) - 600) < 0.01)
        }
    }
}

@Suite("Model budget in the database")
struct DatabaseModelBudgetTests {
    @Test("calls are granted up to the limit, then refused; tokens count too", arguments: TestBackend.enabled)
    func limits(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let budget = DatabaseModelBudget(database: database, limits: .init(callsPerDay: 2, tokensPerDay: 0))
            #expect(try await budget.reserveCall() == .granted)
            #expect(try await budget.reserveCall() == .granted)
            #expect(try await budget.reserveCall() == .exhausted("the daily model budget of 2 calls is spent"))
            try await budget.record(tokens: 1500)
            let usage = try await budget.today()
            #expect(usage.calls == 2 && usage.tokens == 1500)

            let tokenBound = DatabaseModelBudget(database: database, limits: .init(callsPerDay: 0, tokensPerDay: 1000))
            #expect(try await tokenBound.reserveCall() == .exhausted("the daily model budget of 1000 tokens is spent"))
        }
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
