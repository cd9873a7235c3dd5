import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RCAAnalysis
import RCACore
import RCAServer
import RCAStore
import RCATesting
import Testing

/// Settings of the Python prototype that its users carry over keep their meaning.
@Suite("Prototype settings", .serialized)
struct PrototypeCompatibilityTests {
    @Test("RCA_API_KEY, the prototype's webhook secret, is the webhook token when WEBHOOK_TOKEN is unset")
    func apiKeyIsTheWebhookToken() async throws {
        let testDatabase = try await TestDatabase.make(.sqlite)
        defer { Task { await testDatabase.destroy() } }
        let key = "prototype-api-key-0123456789"
        let configuration = try StartupTests.configuration(for: testDatabase, extra: ["RCA_API_KEY": key])
        let prepared = try await ServerStartup.prepare(configuration, logger: TestDatabase.quietLogger, hasher: PasswordHasher(cost: 4))
        defer { Task { await prepared.database.close() } }
        #expect(prepared.webhookToken.value == key)
        #expect(prepared.webhookToken.origin == .environment(variable: "RCA_API_KEY"))
        #expect(StartupBanner.lines(for: prepared, listeningPort: 8000, webhookPaths: ["/azure-monitor"]).contains("Webhook token: from RCA_API_KEY"))

        let both = try ServerConfiguration(environment: ["RCA_API_KEY": key, "WEBHOOK_TOKEN": "the-newer-token-0123456789"])
        #expect(both.webhookToken == "the-newer-token-0123456789" && both.webhookTokenVariable == "WEBHOOK_TOKEN")
        #expect(throws: ConfigurationError(variable: "RCA_API_KEY", problem: "must be at least 16 characters long; leave it unset to have one generated")) {
            try ServerConfiguration(environment: ["RCA_API_KEY": "short"])
        }
        for variable in ["RCA_API_KEY", "WEBHOOK_TOKEN"] {
            #expect(throws: ConfigurationError.self, "the prototype's published default is refused as \(variable)") {
                try ServerConfiguration(environment: [variable: "balaji-rca-secret-2025"])
            }
        }
    }

    @Test("MODEL_ID in the prototype's form (models/…) calls models/{model}:generateContent, not models/models/…")
    func modelIDWithPrefix() async throws {
        let fake = try await ModelFake.start(.gemini)
        defer { Task { await fake.server.stop() } }
        fake.always(try fake.reply(SampleFailure.answer()))
        try await TestDatabase.with(.sqlite) { database, _ in
            let environment = fake.environment.merging(["MODEL_ID": "models/gemini-2.5-flash"]) { $1 }
            let harness = PipelineHarness(database: database, environment: environment)
            let ticket = try await harness.run { client, harness in
                try await harness.settle(try await harness.post(client, generic: ["resource": "sales_load", "error_message": SampleFailure.text]))
            }
            #expect(fake.calls == 1, "the call reached /v1beta/models/gemini-2.5-flash:generateContent")
            #expect(ticket.analysisEngine == "gemini")
        }
        #expect(GeminiModel.modelName("models/gemini-2.5-pro") == "gemini-2.5-pro")
        #expect(GeminiModel.modelName("gemini-2.5-pro") == "gemini-2.5-pro")
    }

    @Test("GET /api/dedup-check/{run_id} tells a sender or a dashboard user whether a run already has a ticket; the lists filter by run_id")
    func dedupCheck() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = try await APIHarness.make(database)
            try await buildApplication(harness.dependencies).test(.router) { client in
                let ids = try await harness.alerts(client, [
                    ["resource": "orders_load", "run_id": "run-4711", "error_message": "KeyError: 'id'"],
                    ["resource": "orders_load", "run_id": "run-4711", "error_message": "KeyError: 'id'"],
                    ["resource": "sales_load", "run_id": "run-9", "error_message": "KeyError: 'x'"],
                ])
                let ticketID = try #require(ids.first)
                func check(_ runID: String, headers: HTTPFields) async throws -> (HTTPResponse.Status, [String: Any]) {
                    let answer = try await client.execute(uri: "/api/dedup-check/\(runID)", method: .get, headers: headers)
                    return (answer.status, (try? JSONSerialization.jsonObject(with: Data(answer.body.readableBytesView)) as? [String: Any]) ?? [:])
                }
                let sender: HTTPFields = [HTTPField.Name("X-RCA-Token")!: WebhookHarness.token]
                let (status, known) = try await check("run-4711", headers: sender)
                #expect(status == .ok)
                #expect(known["duplicate"] as? Bool == true && known["ticket_id"] as? String == ticketID)
                #expect(known["occurrence_count"] as? Int == 2 && known["status"] as? String == "open")
                #expect(known["first_seen"] is String && known["last_seen"] is String)
                let (_, unknown) = try await check("run-never-seen", headers: sender)
                #expect(unknown["duplicate"] as? Bool == false && unknown["ticket_id"] is NSNull)

                let session: HTTPFields = [.authorization: "Bearer \(try await APIHarness.token(client, .viewer))"]
                #expect(try await check("run-4711", headers: session).0 == .ok)
                #expect(try await check("run-4711", headers: [:]).0 == .unauthorized)
                #expect(try await check("run-4711", headers: [HTTPField.Name("X-RCA-Token")!: "wrong-token-0123456789"]).0 == .unauthorized)
                #expect(try await check(String(repeating: "r", count: 201), headers: sender).0 == .badRequest)

                let page = try await client.execute(uri: "/api/open-tickets?run_id=run-4711", method: .get, headers: session)
                let tickets = try #require((try JSONSerialization.jsonObject(with: Data(page.body.readableBytesView)) as? [String: Any])?["tickets"] as? [[String: Any]])
                #expect(tickets.map { $0["id"] as? String } == [ticketID])
            }
        }
    }
}

/// Clients written for the prototype read its field names from the API and
/// the live feed; they are present beside ours.
@Suite("Prototype field names")
struct PrototypeFieldNameTests {
    @Test("the summary carries total_tickets, open_tickets and acknowledged_tickets; a ticket carries timestamp and its recommendations as an array")
    func apiFields() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = try await APIHarness.make(database)
            try await buildApplication(harness.dependencies).test(.router) { (client: any TestClientProtocol) async throws in
                let ids = try await harness.alerts(client, [
                    ["resource": "orders_load", "run_id": "run-1", "error_message": SampleFailure.text],
                    ["resource": "sales_load", "run_id": "run-2", "error_message": "KeyError: 'id'"],
                ])
                let token = try await APIHarness.token(client, .responder)
                let summary = try APIHarness.object(try await APIHarness.call(client, .get, "/api/summary", token: token))
                #expect(summary["total_tickets"] as? Int == 2 && summary["total"] as? Int == 2)
                #expect(summary["open_tickets"] as? Int == 2 && summary["acknowledged_tickets"] as? Int == 0)

                let detail = try APIHarness.object(try await APIHarness.call(client, .get, "/api/tickets/\(ids[0])", token: token))
                let ticket = try #require(detail["ticket"] as? [String: Any])
                let recommendations = try #require(ticket["recommendations"] as? [String])
                #expect(!recommendations.isEmpty && recommendations == detail["recommendations"] as? [String])
                #expect(ticket["id"] as? String == ids[0] && ticket["pipeline"] as? String == "orders_load")
                #expect(ticket["rca_result"] is String && ticket["timestamp"] is String && ticket["run_id"] as? String == "run-1")
                let list = try APIHarness.object(try await APIHarness.call(client, .get, "/api/open-tickets", token: token))
                #expect((list["tickets"] as? [[String: Any]])?.allSatisfy { $0["timestamp"] is String } == true)
            }
        }
    }

    @Test("live events carry the prototype's event and new_status beside type and status, and read back unchanged")
    func liveEventFields() throws {
        let event = LiveEvent(.statusUpdate, ticketID: "ADF-1", status: "acknowledged", user: "ana@example.com")
        let data = try JSONEncoder().encode(LiveEventMessage(event))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["event"] as? String == "status_update" && object["type"] as? String == "status_update")
        #expect(object["new_status"] as? String == "acknowledged" && object["status"] as? String == "acknowledged")
        #expect(object["ticket_id"] as? String == "ADF-1")
        #expect(try JSONDecoder().decode(LiveEvent.self, from: data) == event)
        let created = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(LiveEventMessage(LiveEvent(.newTicket, ticketID: "ADF-2")))) as? [String: Any])
        #expect(created["event"] as? String == "new_ticket" && created["new_status"] == nil)
    }
}
