import Foundation
import Hummingbird
import HummingbirdTesting
import RCACore
import RCAServer
import RCAStore
import RCATesting
import SQLKit
import Testing

@Suite("SLA monitor")
struct SLAMonitorTests {
    @Test("a ticket not acknowledged by its deadline is marked Breached once, with an audit line; acknowledged ones are not", arguments: TestBackend.enabled)
    func breach(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let app = buildApplication(try WebhookHarness.dependencies(database, environment: ["ROLE": "all", "SLA_CHECK_SECONDS": "3600"]))
            let ids = try await app.test(.router) { client in
                var ids: [String] = []
                for fixture in ["constructed/adf-log-v2-dimensions.json", "databricks/webhook-jobs.on_failure.job-run.json"] {
                    let endpoint = fixture.hasPrefix("databricks") ? "/databricks-monitor" : "/azure-monitor"
                    ids += try WebhookHarness.answer(try await WebhookHarness.post(client, endpoint, try Fixture.data(fixture))).ticket_ids
                }
                try await TicketStore(database: database).settled(ids)
                return ids
            }
            let acknowledged = ids[1]
            try await database.transaction { sql in
                try await sql.raw("UPDATE tickets SET status = 'acknowledged' WHERE id = \(bind: acknowledged)").run()
            }
            let events = LiveEvents()
            var feed = events.subscribe().makeAsyncIterator()
            let monitor = SLAMonitor(
                database: database, interval: .seconds(60), events: events,
                outbox: Outbox(queue: JobQueue(database: database), notifiers: []), logger: TestDatabase.quietLogger
            )
            let tickets = TicketStore(database: database)

            #expect(try await monitor.markBreaches(now: Date()).isEmpty, "nothing is due yet")
            let breached = try await monitor.markBreaches(now: Date().addingTimeInterval(2 * 3600))
            #expect(breached == [ids[0]])
            let announced = await feed.next()
            #expect(announced?.type == .slaBreached && announced?.ticketID == ids[0], "the breach is announced to dashboards when it happens")
            #expect(try await tickets.find(id: ids[0])?.slaStatus == "Breached")
            #expect(try await tickets.audit(ticketID: ids[0]).last?.details == "P2 ticket not acknowledged within 30 min")
            #expect(try await tickets.find(id: acknowledged)?.slaStatus == "Pending")
            #expect(try await monitor.markBreaches(now: Date().addingTimeInterval(3 * 3600)).isEmpty, "a breach is written once")
        }
    }
}

@Suite("Analysis cache")
struct AnalysisCacheTests {
    static func analyzeInTurn(_ messages: [(run: String, text: String)], database: Database) async throws -> [String] {
        let app = buildApplication(try WebhookHarness.dependencies(database, environment: ["ROLE": "all"]))
        let tickets = TicketStore(database: database)
        return try await app.test(.router) { client in
            var ids: [String] = []
            for message in messages {
                let body = try JSONSerialization.data(withJSONObject: ["resource": "daily_orders", "run_id": message.run, "error_message": message.text])
                let id = try #require(try WebhookHarness.answer(try await WebhookHarness.post(client, "/webhook/generic", body)).ticket_ids.first)
                try await tickets.settled([id])
                ids.append(id)
            }
            return ids
        }
    }

    @Test("a repeat of a known failure in another run reuses the first ticket's analysis and says so", arguments: TestBackend.enabled)
    func reuse(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let text = "ModuleNotFoundError: No module named 'great_expectations'"
            let ids = try await Self.analyzeInTurn([("r-1", text), ("r-2", text)], database: database)
            let tickets = TicketStore(database: database)
            let first = try #require(try await tickets.find(id: ids[0]))
            let second = try #require(try await tickets.find(id: ids[1]))
            #expect(first.detailValues["rca_cached_from"] == nil)
            #expect(second.detailValues["rca_cached_from"] == ids[0])
            #expect(second.rcaResult == first.rcaResult && second.category == first.category && second.confidence == first.confidence)
            #expect(try await tickets.audit(ticketID: ids[1]).map(\.action).contains("RCA Reused"))
        }
    }

    @Test("the same failure naming another file gets a fresh analysis that names the right file")
    func freshWhenEvidenceDiffers() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let ids = try await Self.analyzeInTurn([
                ("r-1", "FileNotFoundError: [Errno 2] No such file or directory: '/dbfs/mnt/raw/2026/11/29/orders.csv'"),
                ("r-2", "FileNotFoundError: [Errno 2] No such file or directory: '/dbfs/mnt/raw/2026/11/30/orders.csv'"),
            ], database: database)
            let tickets = TicketStore(database: database)
            let second = try #require(try await tickets.find(id: ids[1]))
            #expect(second.detailValues["rca_cached_from"] == nil)
            #expect(second.rcaResult == "The input /dbfs/mnt/raw/2026/11/30/orders.csv does not exist")
            #expect(try await tickets.find(id: ids[0])?.evidence != nil)
        }
    }
}
