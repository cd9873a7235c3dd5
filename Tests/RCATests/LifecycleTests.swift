import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RCACore
import RCANotify
import RCASources
@testable import RCAServer
@testable import RCAStore
import RCATesting
import SQLKit
import Testing

/// The on-call lifecycle (acknowledge ≠ resolve), owners, notes, bulk
/// changes, list filters, the sender's severity and labels, and the links
/// to the platforms a failure came from.
@Suite("On-call lifecycle, owners, notes and filters", .serialized)
struct LifecycleTests {
    typealias H = APIHarness

    @Test("the workflow: acknowledge, start, resolve from any active state; back to open from each; nothing else")
    func workflowSteps() {
        let allowed = TicketStatus.allCases.flatMap { from in TicketStatus.allCases.filter { TicketWorkflow.allows(from: from, to: $0) }.map { "\(from.rawValue)→\($0.rawValue)" } }
        #expect(Set(allowed) == [
            "open→acknowledged", "open→in_progress", "open→resolved",
            "acknowledged→in_progress", "acknowledged→resolved", "acknowledged→open",
            "in_progress→acknowledged", "in_progress→resolved", "in_progress→open",
            "resolved→open",
        ])
        #expect(TicketStatus.allCases.filter(\.slaClockRuns) == [.open])
    }

    static func analysis(_ severity: Severity, _ confidence: Confidence) -> RootCauseAnalysis {
        RootCauseAnalysis(
            rootCause: "r", errorType: "java.lang.OutOfMemoryError", affectedEntity: "x", severity: severity, confidence: confidence,
            recommendations: [], autoHealPossible: false, category: .outOfMemory, evidence: [], engine: .rules
        )
    }

    @Test("the sender's severity is the floor; the analysis raises it only with High confidence, and says why whenever the two differ")
    func severityDecisions() {
        let raised = SeverityDecision(reported: .low, analysis: Self.analysis(.high, .high))
        #expect(raised.severity == .high)
        #expect(raised.reason == "raised from the sender's Low to High: the rules analysis found out_of_memory (java.lang.OutOfMemoryError) with High confidence")
        let kept = SeverityDecision(reported: .low, analysis: Self.analysis(.high, .medium))
        #expect(kept.severity == .low && kept.reason == "kept at the sender's Low: the analysis suggests High with only Medium confidence")
        let floor = SeverityDecision(reported: .critical, analysis: Self.analysis(.medium, .high))
        #expect(floor.severity == .critical && floor.reason?.hasPrefix("kept at Critical as the sender reported it") == true)
        #expect(SeverityDecision(reported: nil, analysis: Self.analysis(.medium, .low)) == SeverityDecision(reported: .medium, analysis: Self.analysis(.medium, .low)))
        #expect(SeverityDecision(reported: nil, analysis: Self.analysis(.medium, .low)).reason == nil)
    }

    @Test("an alert's own team, owner and cost-center labels win over name rules; an operator's tag rule wins over both")
    func ownershipLabels() throws {
        let map = try OwnershipMap.load(Data(#"""
            {"rules": [
              {"name": "sales_*", "team": "Sales Analytics", "owner": "sales@example.com", "cost_center": "CC-1"},
              {"tags": {"env": "prod", "team": "streaming"}, "team": "Streaming Platform", "owner": "stream-lead@example.com"}
            ]}
            """#.utf8))
        #expect(map.owner(of: "sales_load", tags: [:]) == Ownership(team: "Sales Analytics", owner: "sales@example.com", costCenter: "CC-1"))
        #expect(map.owner(of: "sales_load", tags: ["team": "streaming"]) == Ownership(team: "streaming"))
        #expect(map.owner(of: "sales_load", tags: ["Team": "streaming", "Owner": "ana@example.com", "cost_center": "CC-9"])
            == Ownership(team: "streaming", owner: "ana@example.com", costCenter: "CC-9"))
        #expect(map.owner(of: "sales_load", tags: ["owner": "ana@example.com"]) == Ownership(team: "Sales Analytics", owner: "ana@example.com", costCenter: "CC-1"),
                "an owner label alone keeps the rule's team")
        #expect(map.owner(of: "sales_load", tags: ["team": "streaming", "env": "prod"]) == Ownership(team: "Streaming Platform", owner: "stream-lead@example.com"))
        #expect(map.owner(of: "sales_load", tags: ["team": "  "]) == Ownership(team: "Sales Analytics", owner: "sales@example.com", costCenter: "CC-1"),
                "an empty label is no label")
    }

    @Test("links to the source's pages are built from validated ids on configured or vendor hosts only")
    func contextLinks() throws {
        let workspace = try VendorEndpoint("https://adb-123.4.azuredatabricks.net")
        let factory = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-data/providers/Microsoft.DataFactory/factories/adf-prod"
        let alert = "/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.AlertsManagement/alerts/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
        let links = ContextLinks.links(
            source: "databricks", runID: "455644833",
            details: ["job_id": "1234", "cluster_id": "1121-055905-q5xcz4bm", "alert_id": alert, "target_resource_id": factory,
                      "generator_url": "http://prometheus:9090/graph?g0.expr=up"],
            databricksWorkspace: workspace
        )
        #expect(links.map(\.url) == [
            "https://adb-123.4.azuredatabricks.net/#job/1234/run/455644833",
            "https://adb-123.4.azuredatabricks.net/#setting/clusters/1121-055905-q5xcz4bm/configuration",
            "https://portal.azure.com/#view/Microsoft_Azure_Monitoring_Alerts/AlertDetails.ReactView/alertId/" + ContextLinks.encoded(alert),
            "https://portal.azure.com/#@/resource\(factory)/overview",
            "http://prometheus:9090/graph?g0.expr=up",
        ])
        #expect(links.last?.label == "Prometheus graph on prometheus")
        let adf = ContextLinks.links(
            source: "adf", runID: "2f5fe2c8-ad1b-4a05-9e84-2a2fbf1d2b5c", details: ["target_resource_id": factory], databricksWorkspace: nil
        )
        #expect(adf.first?.url == "https://adf.azure.com/monitoring/pipelineruns/2f5fe2c8-ad1b-4a05-9e84-2a2fbf1d2b5c?factory=" + ContextLinks.encoded(factory))
        let hostile = ContextLinks.links(
            source: "databricks", runID: "1@evil.example",
            details: ["job_id": "../../x", "cluster_id": "a/../b?c", "alert_id": "/subscriptions/x/../alerts/y", "target_resource_id": "@evil.example/x",
                      "generator_url": "javascript:alert(1)"],
            databricksWorkspace: workspace
        )
        #expect(hostile.isEmpty, "\(hostile)")
        #expect(ContextLinks.links(source: "databricks", runID: "455644833", details: [:], databricksWorkspace: nil).isEmpty,
                "no Databricks link without a configured workspace")
    }

    @Test("migration 12 turns the prototype's closing 'acknowledged' into resolved with its times, and stops the clock of tickets in progress", arguments: TestBackend.enabled)
    func migration(backend: TestBackend) async throws {
        let testDatabase = try await TestDatabase.make(backend)
        let database = try await testDatabase.open(migrated: false)
        do {
            try await database.transaction { sql in
                try await sql.raw("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)").run()
                for migration in Migrator.all where migration.version < 12 {
                    for statement in migration.statements(database.dialect) { try await sql.raw(SQLQueryString(statement)).run() }
                    try await sql.raw("INSERT INTO schema_migrations VALUES (\(bind: migration.version), \(bind: migration.name), '2026-12-01T00:00:00.000Z')").run()
                }
                let columns = "id, timestamp, status, source, dedup_key, first_seen, last_seen, updated_at, sla_status, sla_deadline, ack_user, ack_ts, ack_seconds, in_progress_user, in_progress_ts, response_seconds"
                let t = "2026-12-01T10:00:00.000Z"
                try await sql.raw("INSERT INTO tickets (\(unsafeRaw: columns)) VALUES ('closed', \(bind: t), 'acknowledged', 'generic', 'k1', \(bind: t), \(bind: t), \(bind: t), 'Met', '2026-12-01T11:00:00.000Z', 'ana@example.com', '2026-12-01T10:40:00.000Z', 2400, 'bo@example.com', '2026-12-01T10:05:00.000Z', 300)").run()
                try await sql.raw("INSERT INTO tickets (\(unsafeRaw: columns)) VALUES ('working', \(bind: t), 'in_progress', 'generic', 'k2', \(bind: t), \(bind: t), \(bind: t), 'Pending', '2026-12-01T10:30:00.000Z', NULL, NULL, NULL, 'bo@example.com', '2026-12-01T10:10:00.000Z', 600)").run()
                try await sql.raw("INSERT INTO tickets (\(unsafeRaw: columns)) VALUES ('late', \(bind: t), 'in_progress', 'generic', 'k3', \(bind: t), \(bind: t), \(bind: t), 'Pending', '2026-12-01T10:30:00.000Z', NULL, NULL, NULL, 'bo@example.com', '2026-12-01T10:45:00.000Z', 2700)").run()
                try await sql.raw("INSERT INTO tickets (\(unsafeRaw: columns)) VALUES ('waiting', \(bind: t), 'open', 'generic', 'k4', \(bind: t), \(bind: t), \(bind: t), 'Pending', '2026-12-01T10:30:00.000Z', NULL, NULL, NULL, NULL, NULL, NULL)").run()
            }
            #expect(try await Migrator(database: database).migrate() == Array(12...Migrator.latestVersion))
            let items = try await TicketQueries(database: database)
            let closed = try #require(try await items.item(id: "closed"))
            #expect(closed.status == "resolved" && closed.resolvedUser == "ana@example.com" && closed.resolvedTs == "2026-12-01T10:40:00.000Z")
            #expect(closed.resolveSeconds == 2400 && closed.ackSeconds == 300 && closed.ackUser == "bo@example.com" && closed.assignee == "bo@example.com",
                    "the first response was the acknowledgement; the close, the resolution")
            let working = try #require(try await items.item(id: "working"))
            #expect(working.status == "in_progress" && working.slaStatus == "Met" && working.ackSeconds == 600 && working.assignee == "bo@example.com")
            #expect(try await items.item(id: "late")?.slaStatus == "Breached", "work started after the deadline")
            #expect(try await items.item(id: "waiting")?.slaStatus == "Pending")
            await #expect(throws: (any Error).self, "the widened check still refuses other statuses") {
                try await database.transaction { sql in try await sql.raw("UPDATE tickets SET status = 'closed' WHERE id = 'waiting'").run() }
            }
            try await database.transaction { sql in try await sql.raw("UPDATE tickets SET status = 'acknowledged' WHERE id = 'waiting'").run() }
        } catch {
            await database.close()
            await testDatabase.destroy()
            throw error
        }
        await database.close()
        await testDatabase.destroy()
    }

    @Test("acknowledging or starting work stops the SLA clock: only open tickets are marked Breached", arguments: TestBackend.enabled)
    func clockStops(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let harness = try await H.make(database)
            let ids = try await buildApplication(harness.dependencies).test(.router) { client in
                try await harness.alerts(client, (1...3).map { ["resource": "load_\($0)", "error_message": "java.lang.OutOfMemoryError: Java heap space"] })
            }
            let workflow = TicketWorkflow(database: database)
            try await workflow.change(ticketID: ids[0], to: .acknowledged, by: "ana@example.com")
            try await workflow.change(ticketID: ids[1], to: .inProgress, by: "ana@example.com")
            let monitor = SLAMonitor(
                database: database, interval: .seconds(60), events: LiveEvents(),
                outbox: Outbox(queue: JobQueue(database: database), notifiers: []), logger: TestDatabase.quietLogger
            )
            #expect(try await monitor.markBreaches(now: Date().addingTimeInterval(86_400)) == [ids[2]])
            let items = TicketQueries(database: database)
            #expect(try await items.item(id: ids[0])?.slaStatus == "Met")
            #expect(try await items.item(id: ids[1])?.slaStatus == "Met")
            #expect(try await items.item(id: ids[1])?.assignee == "ana@example.com", "starting work takes the ticket")
            try await workflow.change(ticketID: ids[0], to: .open, by: "ana@example.com")
            let released = try #require(try await items.item(id: ids[0]))
            #expect(released.slaStatus == "Pending" && released.assignee == nil && released.ackSeconds == nil, "released, the clock runs again")
            #expect(try await monitor.markBreaches(now: Date().addingTimeInterval(86_400)) == [ids[0]])
        }
    }

    @Test("owners and notes: assigned to responders only, audited, shown on the ticket; a recurrence refuses both", arguments: TestBackend.enabled)
    func ownersAndNotes(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let harness = try await H.make(database)
            try await buildApplication(harness.dependencies).test(.router) { client in
                let id = try #require(try await harness.alerts(client, [["resource": "orders_load", "error_message": "java.lang.OutOfMemoryError: Java heap space"]]).first)
                let responder = try await H.token(client, .responder)
                let viewer = try await H.token(client, .viewer)
                let assignees = try H.object(try await H.call(client, .get, "/api/assignees", token: viewer))
                #expect((assignees["assignees"] as? [[String: Any]])?.compactMap { $0["email"] as? String }.sorted() == ["admin@example.com", "responder@example.com"])
                #expect(try await H.call(client, .post, "/api/tickets/\(id)/assign", token: viewer, json: ["assignee": "responder@example.com"]).status == .forbidden)
                let toViewer = try await H.call(client, .post, "/api/tickets/\(id)/assign", token: responder, json: ["assignee": "viewer@example.com"])
                #expect(toViewer.status == .badRequest)
                #expect((try H.object(toViewer)["error"] as? String)?.contains("not an enabled responder or admin") == true)
                let assigned = try H.object(try await H.call(client, .post, "/api/tickets/\(id)/assign", token: responder, json: ["assignee": "Admin@Example.com"]))
                #expect(assigned["assignee"] as? String == "admin@example.com" && (assigned["previous"] as? String) == nil)
                let taken = try H.object(try await H.call(client, .post, "/api/tickets/\(id)/assign", token: responder, json: ["assignee": "responder@example.com"]))
                #expect(taken["previous"] as? String == "admin@example.com")

                #expect(try await H.call(client, .post, "/api/tickets/\(id)/notes", token: responder, json: ["text": "   "]).status == .badRequest)
                #expect(try await H.call(client, .post, "/api/tickets/\(id)/notes", token: viewer, json: ["text": "hi"]).status == .forbidden)
                #expect(try await H.call(client, .post, "/api/tickets/NOPE/notes", token: responder, json: ["text": "hi"]).status == .notFound)
                let note = try H.object(try await H.call(client, .post, "/api/tickets/\(id)/notes", token: responder, json: ["text": "restarted the <b>driver</b>"]))
                #expect(note["user"] as? String == "responder@example.com" && note["text"] as? String == "restarted the <b>driver</b>")

                let detail = try H.object(try await H.call(client, .get, "/api/tickets/\(id)", token: viewer))
                #expect((detail["ticket"] as? [String: Any])?["assignee"] as? String == "responder@example.com")
                #expect((detail["notes"] as? [[String: Any]])?.compactMap { $0["details"] as? String } == ["restarted the <b>driver</b>"])
                let actions = try #require(detail["audit"] as? [[String: Any]]).compactMap { $0["action"] as? String }
                #expect(actions.suffix(3) == ["Assigned", "Assigned", "Note"])
                let audit = try H.object(try await H.call(client, .get, "/api/audit-trail?user=responder@example.com&action=Note&since=2020-01-01T00:00:00Z", token: viewer))
                #expect((audit["entries"] as? [[String: Any]])?.compactMap { $0["ticket_id"] as? String } == [id])
                let later = try H.object(try await H.call(client, .get, "/api/audit-trail?user=responder@example.com&since=2099-01-01T00:00:00Z", token: viewer))
                #expect((later["entries"] as? [[String: Any]])?.isEmpty == true)
                #expect(try await H.call(client, .get, "/api/audit-trail?until=soon", token: viewer).status == .badRequest)
                let unassigned = try H.object(try await H.call(client, .post, "/api/tickets/\(id)/assign", token: responder, json: ["assignee": NSNull()]))
                #expect((unassigned["assignee"] as? String) == nil && unassigned["previous"] as? String == "responder@example.com")

                try await database.transaction { sql in try await sql.raw("UPDATE tickets SET recurrence_of = 'OTHER' WHERE id = \(bind: id)").run() }
                #expect(try await H.call(client, .post, "/api/tickets/\(id)/notes", token: responder, json: ["text": "x"]).status == .conflict)
            }
        }
    }

    @Test("the summary counts what nobody has acknowledged by priority (the title's open P1s), resolved tickets apart, and pipelines by occurrences")
    func summaryCounts() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = try await H.make(database)
            try await buildApplication(harness.dependencies).test(.router) { client in
                let failures = ["FATAL: password authentication failed for user \"etl\"", "java.lang.OutOfMemoryError: Java heap space", "Connection refused"]
                let ids = try await harness.alerts(client, failures.enumerated().map { index, text in
                    ["resource": "ledger_close", "run_id": "r\(index)", "error_message": text, "severity": "Critical"]
                })
                let repeated = try await harness.alerts(client, [["resource": "ledger_close", "run_id": "r0", "error_message": failures[0], "severity": "Critical"]])
                #expect(repeated == [ids[0]], "the same run again is an occurrence of its ticket")
                let workflow = TicketWorkflow(database: database)
                try await workflow.change(ticketID: ids[0], to: .acknowledged, by: "ana@example.com")
                try await workflow.change(ticketID: ids[1], to: .resolved, by: "ana@example.com")
                let summary = try H.object(try await H.call(client, .get, "/api/summary", token: try await H.token(client, .viewer)))
                #expect(summary["open_by_priority"] as? [String: Int] == ["P1": 1])
                #expect(summary["open"] as? Int == 1 && summary["acknowledged"] as? Int == 1 && summary["resolved"] as? Int == 1)
                let pipelines = try #require(summary["by_pipeline"] as? [[String: Any]])
                #expect(pipelines.first?["name"] as? String == "ledger_close" && pipelines.first?["occurrences"] as? Int == 4 && pipelines.first?["open"] as? Int == 2)
            }
        }
    }

    @Test("bulk acknowledge and resolve change each ticket on its own and list what was refused", arguments: TestBackend.enabled)
    func bulk(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let harness = try await H.make(database)
            try await buildApplication(harness.dependencies).test(.router) { client in
                let ids = try await harness.alerts(client, (1...3).map { ["resource": "storm_\($0)", "error_message": "Connection refused to host db-\($0)"] })
                let responder = try await H.token(client, .responder)
                #expect(try await H.call(client, .post, "/api/tickets/bulk-status", token: responder, json: ["ticket_ids": [], "status": "acknowledged"]).status == .badRequest)
                let acknowledged = try H.object(try await H.call(
                    client, .post, "/api/tickets/bulk-status", token: responder, json: ["ticket_ids": ids + [ids[0], "NOPE"], "status": "acknowledged"]
                ))
                #expect((acknowledged["applied"] as? [[String: Any]])?.compactMap { $0["ticket_id"] as? String } == ids, "each id once")
                #expect((acknowledged["refused"] as? [[String: Any]])?.compactMap { $0["ticket_id"] as? String } == ["NOPE"])
                let resolved = try H.object(try await H.call(
                    client, .post, "/api/tickets/bulk-status", token: responder, json: ["ticket_ids": ids, "status": "resolved", "note": "the database is back"]
                ))
                #expect((resolved["applied"] as? [[String: Any]])?.count == 3)
                let again = try H.object(try await H.call(client, .post, "/api/tickets/bulk-status", token: responder, json: ["ticket_ids": [ids[0]], "status": "resolved"]))
                #expect(((again["refused"] as? [[String: Any]])?.first?["error"] as? String)?.contains("cannot go from resolved to resolved") == true)
                let item = try #require(try await TicketQueries(database: database).item(id: ids[2]))
                #expect(item.status == "resolved" && item.resolutionNote == "the database is back" && item.ackUser == "responder@example.com")
            }
        }
    }

    @Test("filters narrow every list and its CSV alike; the All list finds a ticket whatever its status; bad filters are 400", arguments: TestBackend.enabled)
    func filters(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let harness = try await H.make(database)
            try await buildApplication(harness.dependencies).test(.router) { client in
                let ids = try await harness.alerts(client, [
                    ["resource": "alpha_load", "error_message": "java.lang.OutOfMemoryError: Java heap space", "severity": "Critical"],
                    ["resource": "beta_load", "error_message": "Connection refused", "severity": "Low"],
                    ["resource": "gamma_load", "error_message": "Connection refused", "severity": "Low"],
                ])
                let responder = try await H.token(client, .responder)
                _ = try await H.call(client, .post, "/api/tickets/\(ids[2])/assign", token: responder, json: ["assignee": "responder@example.com"])
                _ = try await H.call(client, .post, "/api/tickets/\(ids[1])/status", token: responder, json: ["status": "resolved"])
                func listed(_ path: String) async throws -> [String] {
                    let page = try H.object(try await H.call(client, .get, path, token: responder))
                    return (page["tickets"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
                }
                #expect(Set(try await listed("/api/open-tickets")) == [ids[0], ids[2]])
                #expect(try await listed("/api/open-tickets?severity=Critical") == [ids[0]])
                #expect(try await listed("/api/open-tickets?assignee=responder@example.com") == [ids[2]])
                #expect(try await listed("/api/open-tickets?assignee=none") == [ids[0]])
                #expect(try await listed("/api/open-tickets?team=gamma") == [ids[2]])
                #expect(try await listed("/api/all-tickets?q=beta") == [ids[1]], "a search across lists finds the resolved ticket")
                #expect(try await listed("/api/open-tickets?since=2099-01-01T00:00:00Z").isEmpty)
                #expect(Set(try await listed("/api/all-tickets?until=2099-01-01T00:00:00Z&source=generic")) == Set(ids))
                #expect(try await H.call(client, .get, "/api/open-tickets?severity=Urgent", token: responder).status == .badRequest)
                #expect(try await H.call(client, .get, "/api/open-tickets?since=yesterday", token: responder).status == .badRequest)
                #expect(try await H.call(client, .get, "/api/open-tickets?sla_status=Late", token: responder).status == .badRequest)

                let csv = try await H.call(client, .get, "/api/export/all-tickets?severity=High&q=load", token: responder)
                #expect(csv.status == .ok)
                let lines = String(buffer: csv.body).components(separatedBy: "\r\n").filter { !$0.isEmpty }
                #expect(lines.count == 3, "a header and the two tickets the analysis raised from Low to High")
                #expect(lines.dropFirst().allSatisfy { $0.contains(",High,") })
                #expect(lines.first?.contains("Resolution Note") == true)
                #expect(try await H.call(client, .get, "/api/export/open-tickets?priority=P0", token: responder).status == .badRequest)
            }
        }
    }

    @Test("a list of several statuses pages through all of them once, in order, whatever the sort", arguments: TestBackend.enabled)
    func pagesAcrossStatuses(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let harness = try await H.make(database)
            try await buildApplication(harness.dependencies).test(.router) { client in
                let severities = ["Critical", "Low", "High", "Medium", "Low", "Critical", "High"]
                let ids = try await harness.alerts(client, severities.enumerated().map { index, severity in
                    ["resource": "page_\(index)", "error_message": "Connection refused to host db-\(index)", "severity": severity]
                })
                let workflow = TicketWorkflow(database: database)
                for id in [ids[1], ids[2], ids[5]] { try await workflow.change(ticketID: id, to: .acknowledged, by: "ana@example.com") }
                try await workflow.change(ticketID: ids[6], to: .resolved, by: "ana@example.com")
                let viewer = try await H.token(client, .viewer)
                for sort in ["priority", "newest", "oldest"] {
                    var seen: [[String: Any]] = []
                    var cursor: String?
                    repeat {
                        let page = try H.object(try await H.call(
                            client, .get, "/api/open-tickets?limit=2&sort=\(sort)\(cursor.map { "&cursor=\($0)" } ?? "")", token: viewer
                        ))
                        seen += page["tickets"] as? [[String: Any]] ?? []
                        cursor = page["next_cursor"] as? String
                    } while cursor != nil
                    let listed = seen.compactMap { $0["id"] as? String }
                    #expect(listed.count == 6 && Set(listed) == Set(ids.prefix(6)), "\(sort): \(listed)")
                    let keys = seen.map { ticket -> [String] in
                        let seenAt = ticket["first_seen"] as? String ?? "", id = ticket["id"] as? String ?? ""
                        return sort == "priority" ? [ticket["priority"] as? String ?? "P9", seenAt, id] : [seenAt, id]
                    }
                    let ordered = sort == "newest" ? keys.sorted { $0.lexicographicallyPrecedes($1) }.reversed() : keys.sorted { $0.lexicographicallyPrecedes($1) }
                    #expect(keys == Array(ordered), "\(sort) order")
                }
            }
        }
    }

    @Test("end to end: a sender's Low stays Low unless a sure analysis raises it, with its reason; Alertmanager's team label and start time count", arguments: TestBackend.enabled)
    func sendersWord(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let harness = try await H.make(database)
            let startsAt = Timestamp.string(from: Date().addingTimeInterval(-720))
            let manager = try JSONSerialization.data(withJSONObject: [
                "version": "4", "groupKey": "{}:{alertname=\"SparkJobFailed\"}", "status": "firing", "receiver": "rca",
                "alerts": [[
                    "status": "firing", "startsAt": startsAt, "fingerprint": "a1b2c3d4e5f60718",
                    "generatorURL": "http://prometheus.internal:9090/graph?g0.expr=spark_failed",
                    "labels": ["alertname": "SparkJobFailed", "severity": "warning", "team": "streaming", "pipeline": "sales_stream_load"],
                    "annotations": ["summary": "Spark job failed", "description": "the job was cancelled by the user"],
                ]],
            ])
            let ids = try await buildApplication(harness.dependencies).test(.router) { client in
                var ids = try await harness.alerts(client, [
                    ["resource": "kept_low", "error_message": "step 4 ended with status 3", "severity": "Low"],
                    ["resource": "raised", "error_message": "java.lang.OutOfMemoryError: Java heap space", "severity": "Low"],
                ])
                ids += try WebhookHarness.answer(try await WebhookHarness.post(client, "/alertmanager", manager)).ticket_ids
                try await TicketStore(database: database).settled([ids[2]])
                return ids
            }
            let items = TicketQueries(database: database)
            let kept = try #require(try await items.item(id: ids[0]))
            #expect(kept.severity == "Low" && kept.priority == "P4" && kept.reportedSeverity == "Low")
            #expect(kept.severityReason == "kept at the sender's Low: the analysis suggests Medium with only Low confidence")
            let raised = try #require(try await items.item(id: ids[1]))
            #expect(raised.reportedSeverity == "Low" && raised.severity == "High" && raised.priority == "P2")
            #expect(raised.severityReason == "raised from the sender's Low to High: the rules analysis found out_of_memory (OutOfMemoryError) with High confidence")
            #expect(try await TicketStore(database: database).audit(ticketID: ids[1]).contains { $0.action == "Severity Decided" && $0.details == raised.severityReason })
            #expect(try await TicketStore(database: database).find(id: ids[1])?.decidedBy == "rule spark-oom", "what decided the analysis is kept on the ticket")
            let fromManager = try #require(try await items.item(id: ids[2]))
            #expect(fromManager.finopsTeam == "streaming", "the team label wins over the name's prefix (sales)")
            #expect(fromManager.timestamp == startsAt && fromManager.firstSeen > startsAt, "when it fired, beside when we received it")
            #expect(fromManager.reportedSeverity == "Medium" && fromManager.severity == "Medium" && fromManager.severityReason == nil,
                    "warning is Medium, and so is the analysis: nothing to explain")
            let detail = try await buildApplication(harness.dependencies).test(.router) { client in
                try H.object(try await H.call(client, .get, "/api/tickets/\(ids[2])", token: try await H.token(client, .viewer)))
            }
            let ticket = try #require(detail["ticket"] as? [String: Any])
            #expect(ticket["occurred_at"] as? String == startsAt)
            #expect((detail["context_links"] as? [[String: Any]])?.first?["label"] as? String == "Prometheus graph on prometheus.internal")
        }
    }
}
