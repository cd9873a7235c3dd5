import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import RCACore
import RCAServer
import RCASources
import RCAStore
import RCATesting
import Testing

/// Builds the application for ingestion tests and posts payloads to it.
struct WebhookHarness {
    static let token = "test-webhook-token-0123456789"
    static let jwtSecret = "test-jwt-secret-0123456789-0123456789-abcdef"

    static func dependencies(_ database: Database, environment: [String: String] = [:]) throws -> AppDependencies {
        try AppDependencies(
            configuration: try ServerConfiguration(environment: ["PORT": "0", "ROLE": "web"].merging(environment) { $1 }),
            database: database,
            webhookToken: token,
            jwtSecret: jwtSecret,
            logger: TestDatabase.quietLogger
        )
    }

    struct Answer: Decodable {
        let status: String
        let ticket_ids: [String]
        let payload_id: Int64
        let reason: String?
    }

    struct Failure: Decodable {
        let error: String
        let status: Int
    }

    static func post(_ client: some TestClientProtocol, _ path: String, _ body: Data, token: String? = WebhookHarness.token) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[HTTPField.Name("X-RCA-Token")!] = token }
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }

    static func answer(_ response: TestResponse) throws -> Answer {
        try JSONDecoder().decode(Answer.self, from: Data(response.body.readableBytesView))
    }

    static func failure(_ response: TestResponse) throws -> Failure {
        try JSONDecoder().decode(Failure.self, from: Data(response.body.readableBytesView))
    }
}

@Suite("Webhook ingestion")
struct WebhookRoutesTests {
    typealias H = WebhookHarness

    @Test("an ADF Log Alerts V2 alert opens one ticket with pipeline, run id, error text and an analysis job", arguments: TestBackend.enabled)
    func adfTicket(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let app = buildApplication(try H.dependencies(database))
            try await app.test(.router) { client in
                let response = try await H.post(client, "/azure-monitor", try Fixture.data("constructed/adf-log-v2-dimensions.json"))
                #expect(response.status == .accepted)
                let answer = try H.answer(response)
                #expect(answer.status == "accepted")
                let ticketID = try #require(answer.ticket_ids.first)
                #expect(ticketID.hasPrefix("ADF-"))

                let ticket = try #require(try await TicketStore(database: database).find(id: ticketID))
                #expect(ticket.pipeline == "DataIngestionPipeline")
                #expect(ticket.runID == "6cd1f2b8-7b0a-4d2f-9a53-3f1e2f0b9c11")
                #expect(ticket.errorMessage?.contains("BlobPrefix: sales/2026/11/29.csv") == true)
                #expect(ticket.source == "adf")
                #expect(ticket.sourceStatus == "firing")
                #expect(ticket.status == "open")
                #expect(ticket.severity == "High")
                #expect(ticket.analysisState == "pending")
                #expect(ticket.occurrenceCount == 1)
                #expect(ticket.detailValues["activity_name"] == "CopySalesFromBlob")
                #expect(ticket.rawPayloadID == answer.payload_id)
                #expect(try await TicketStore(database: database).audit(ticketID: ticketID).map(\.action) == ["Ticket Created"])
                #expect(try await JobQueue(database: database).jobs(kind: "analyze").map(\.payload) == [#"{"payload_id":"\#(answer.payload_id)","ticket_id":"\#(ticketID)"}"#])

                let payload = try #require(try await RawPayloadStore(database: database).find(id: answer.payload_id))
                #expect(payload.body == (try Fixture.data("constructed/adf-log-v2-dimensions.json")))
                #expect(payload.parseStatus == "parsed")
                #expect(payload.endpoint == "/azure-monitor")
                #expect(payload.ticketIDs == #"["\#(ticketID)"]"#)
            }
        }
    }

    @Test("each sample, on its endpoint, opens the tickets its rows or alerts describe", arguments: [
        ("/azure-monitor", "constructed/adf-log-v1-activity-rows.json", ["LoadSalesPipeline", "ExportFinance"]),
        ("/azure-monitor", "constructed/adf-metric-pipeline-failed-runs.json", ["DailySalesLoad"]),
        ("/azure-monitor-alert", "constructed/databricks-clusters-log-alert.json", ["Production Cluster", "Nightly ETL"]),
        ("/databricks-monitor", "databricks/webhook-jobs.on_failure.job-run.json", ["job_name"]),
        ("/alertmanager", "constructed/alertmanager-two-firing.json", ["airflow", "airflow"]),
        ("/alertmanager", "alertmanager/webhook-v4-format.docs-fixed.json", ["alert"]),
    ] + Fixture.all(in: "azure-monitor").filter { !$0.contains("resolved") }.map { ("/azure-monitor", $0, [String]()) })
    func samples(endpoint: String, fixture: String, pipelines: [String]) async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let app = buildApplication(try H.dependencies(database))
            try await app.test(.router) { client in
                let response = try await H.post(client, endpoint, try Fixture.data(fixture))
                #expect(response.status == .accepted)
                let answer = try H.answer(response)
                #expect(answer.status == "accepted")
                var names: [String] = []
                for id in answer.ticket_ids {
                    let ticket = try #require(try await TicketStore(database: database).find(id: id))
                    names.append(ticket.pipeline ?? "")
                    #expect(ticket.errorMessage?.isEmpty == false)
                }
                if pipelines.isEmpty {
                    #expect(names.count == 1)
                } else {
                    #expect(names == pipelines)
                }
            }
        }
    }

    @Test("the cluster alert's tickets carry the prototype's run ids", arguments: TestBackend.enabled)
    func clusterRunIDs(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let app = buildApplication(try H.dependencies(database))
            try await app.test(.router) { client in
                let answer = try H.answer(try await H.post(client, "/azure-monitor-alert", try Fixture.data("constructed/databricks-clusters-log-alert.json")))
                var runIDs: [String?] = []
                for id in answer.ticket_ids { runIDs.append(try await TicketStore(database: database).find(id: id)?.runID) }
                #expect(runIDs == ["1121-055905-q5xcz4bm_CLOUD_PROVIDER_LAUNCH_FAILURE_20261129041848", "1121-061500-zz99yy88_DRIVER_UNREACHABLE_20261129042531"])
                let again = try H.answer(try await H.post(client, "/azure-monitor-alert", try Fixture.data("constructed/databricks-clusters-log-alert.json")))
                #expect(again.status == "duplicate_ignored")
                #expect(again.ticket_ids == answer.ticket_ids)
            }
        }
    }

    @Test("a repeat delivery updates the ticket: occurrence count, last seen and audit, and no second job", arguments: TestBackend.enabled)
    func duplicate(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let app = buildApplication(try H.dependencies(database))
            try await app.test(.router) { client in
                let body = try Fixture.data("databricks/webhook-jobs.on_failure.job-run.json")
                let first = try H.answer(try await H.post(client, "/databricks-monitor", body))
                let second = try H.answer(try await H.post(client, "/databricks-monitor", body))
                #expect(second.status == "duplicate_ignored")
                #expect(second.ticket_ids == first.ticket_ids)
                let ticketID = try #require(first.ticket_ids.first)
                let ticket = try #require(try await TicketStore(database: database).find(id: ticketID))
                #expect(ticket.occurrenceCount == 2)
                #expect(ticket.lastSeen >= ticket.firstSeen)
                #expect(try await TicketStore(database: database).audit(ticketID: ticketID).map(\.action) == ["Ticket Created", "Duplicate Run Detected"])
                #expect(try await JobQueue(database: database).jobs(kind: "analyze").count == 1)
                #expect(try await RawPayloadStore(database: database).count() == 2)
            }
        }
    }

    @Test("a Resolved notification updates the ticket and never opens one", arguments: TestBackend.enabled)
    func resolved(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let app = buildApplication(try H.dependencies(database))
            try await app.test(.router) { client in
                let orphan = try H.answer(try await H.post(client, "/azure-monitor", try Fixture.data("constructed/adf-log-v2-dimensions-resolved.json")))
                #expect(orphan.status == "ignored")
                #expect(orphan.ticket_ids.isEmpty)
                #expect(try await TicketStore(database: database).count() == 0)

                let fired = try H.answer(try await H.post(client, "/azure-monitor", try Fixture.data("constructed/adf-log-v2-dimensions.json")))
                let cleared = try H.answer(try await H.post(client, "/azure-monitor", try Fixture.data("constructed/adf-log-v2-dimensions-resolved.json")))
                #expect(cleared.status == "resolved")
                #expect(cleared.ticket_ids == fired.ticket_ids)
                let ticketID = try #require(fired.ticket_ids.first)
                #expect(try await TicketStore(database: database).find(id: ticketID)?.sourceStatus == "resolved")
                #expect(try await TicketStore(database: database).audit(ticketID: ticketID).map(\.action) == ["Ticket Created", "Resolved at Source"])

                let amFired = try H.answer(try await H.post(client, "/alertmanager", try Fixture.data("constructed/alertmanager-two-firing.json")))
                let amCleared = try H.answer(try await H.post(client, "/alertmanager", try Fixture.data("constructed/alertmanager-one-resolved.json")))
                #expect(amCleared.ticket_ids == [amFired.ticket_ids[0]])
            }
        }
    }

    @Test("start and success notifications are kept and answered 202 without a ticket")
    func ignoredNotification() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let app = buildApplication(try H.dependencies(database))
            try await app.test(.router) { client in
                let response = try await H.post(client, "/databricks-monitor", try Fixture.data("databricks/webhook-jobs.on_start.task-run.json"))
                #expect(response.status == .accepted)
                let answer = try H.answer(response)
                #expect(answer.status == "ignored")
                #expect(try await RawPayloadStore(database: database).find(id: answer.payload_id)?.parseStatus == "ignored")
                #expect(try await TicketStore(database: database).count() == 0)
            }
        }
    }

    @Test("a missing or wrong token is refused with 401 and the body is not stored; the token works in the header and the URL")
    func authentication() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let app = buildApplication(try H.dependencies(database))
            let body = try Fixture.data("databricks/webhook-jobs.on_failure.job-run.json")
            try await app.test(.router) { client in
                let missing = try await H.post(client, "/databricks-monitor", body, token: nil)
                #expect(missing.status == .unauthorized)
                #expect(try H.failure(missing).error == "missing webhook token: send it in the X-RCA-Token header or as ?token= in the URL")
                let wrong = try await H.post(client, "/databricks-monitor", body, token: "not-the-token-at-all")
                #expect(wrong.status == .unauthorized)
                #expect(!String(buffer: wrong.body).contains(H.token))
                #expect(try await RawPayloadStore(database: database).count() == 0)

                let viaQuery = try await H.post(client, "/databricks-monitor?token=\(H.token)", body, token: nil)
                #expect(viaQuery.status == .accepted)
            }
        }
    }

    @Test("two replicas on one database share the webhook guess limit; wrong tokens are slowed, the right token is never refused", arguments: TestBackend.enabled)
    func sharedGuessLimit(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let environment = ["WEBHOOK_GUESS_LIMIT": "4"]
            let first = buildApplication(try H.dependencies(database, environment: environment))
            let second = buildApplication(try H.dependencies(database, environment: environment))
            let body = try Fixture.data("databricks/webhook-jobs.on_failure.job-run.json")
            try await first.test(.router) { one in
                try await second.test(.router) { (two: any TestClientProtocol) async throws in
                    for client in [one, one, two] as [any TestClientProtocol] {
                        #expect(try await H.post(client, "/databricks-monitor", body, token: "guess-0123456789").status == .unauthorized)
                    }
                    #expect(try await H.post(two, "/databricks-monitor", body, token: nil).status == .unauthorized, "the limit's last try")
                    #expect(try await H.post(two, "/databricks-monitor", body, token: "guess-1-0123456789").status == .tooManyRequests, "the replica that counted the last try")

                    let guessed = try await H.post(one, "/databricks-monitor", body, token: "guess-again-0123456789")
                    #expect(guessed.status == .tooManyRequests, "the other replica learns of the lock from the database")
                    #expect(Int(guessed.headers[.retryAfter] ?? "") ?? 0 > 500)
                    #expect(try await H.post(one, "/databricks-monitor", body).status == .accepted, "a sender with the right token on a locked address still delivers")
                    #expect(try await H.post(two, "/databricks-monitor", body).status == .accepted)
                }
            }
            let restarted = buildApplication(try H.dependencies(database, environment: environment))
            try await restarted.test(.router) { (client: any TestClientProtocol) async throws in
                #expect(try await H.post(client, "/databricks-monitor", body, token: "guess-0123456789").status == .tooManyRequests, "a restart keeps the count")
            }
            #expect(try await RawPayloadStore(database: database).count() == 2, "only the right token's payloads were stored")
        }
    }

    @Test("behind TRUSTED_PROXIES each client is counted apart; a header from an untrusted peer is ignored")
    func trustedProxies() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let body = try Fixture.data("databricks/webhook-jobs.on_failure.job-run.json")
            let trusting = buildApplication(try H.dependencies(database, environment: ["WEBHOOK_GUESS_LIMIT": "2", "TRUSTED_PROXIES": "127.0.0.0/8,::1"]))
            try await trusting.test(.live) { (client: any TestClientProtocol) async throws in
                @Sendable func guess(from address: String) async throws -> HTTPResponse.Status {
                    try await client.execute(
                        uri: "/databricks-monitor", method: .post,
                        headers: [.contentType: "application/json", HTTPField.Name("X-RCA-Token")!: "guess-0123456789", HTTPField.Name("X-Forwarded-For")!: address],
                        body: ByteBuffer(bytes: body)
                    ).status
                }
                #expect(try await guess(from: "203.0.113.7") == .unauthorized)
                #expect(try await guess(from: "203.0.113.7") == .unauthorized)
                #expect(try await guess(from: "203.0.113.7") == .tooManyRequests)
                #expect(try await guess(from: "198.51.100.9") == .unauthorized, "another client behind the same proxy is not locked out")
                #expect(try await guess(from: "2001:db8:1:2::1") == .unauthorized)
                #expect(try await guess(from: "2001:db8:1:2::2") == .unauthorized)
                #expect(try await guess(from: "2001:db8:1:2:ffff::9") == .tooManyRequests, "IPv6 addresses count per /64")
            }
        }
        try await TestDatabase.with(.sqlite) { database, _ in
            let body = try Fixture.data("databricks/webhook-jobs.on_failure.job-run.json")
            let untrusting = buildApplication(try H.dependencies(database, environment: ["WEBHOOK_GUESS_LIMIT": "2"]))
            try await untrusting.test(.live) { (client: any TestClientProtocol) async throws in
                var statuses: [HTTPResponse.Status] = []
                for index in 0..<3 {
                    statuses.append(try await client.execute(
                        uri: "/databricks-monitor", method: .post,
                        headers: [.contentType: "application/json", HTTPField.Name("X-RCA-Token")!: "guess-0123456789", HTTPField.Name("X-Forwarded-For")!: "203.0.113.\(index)"],
                        body: ByteBuffer(bytes: body)
                    ).status)
                }
                #expect(statuses == [.unauthorized, .unauthorized, .tooManyRequests], "a rotating header does not escape the count")
            }
        }
    }

    @Test("bad bodies get a 4xx that says what is wrong, and every one is kept for replay", arguments: TestBackend.enabled)
    func badBodies(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let app = buildApplication(try H.dependencies(database, environment: ["MAX_BODY_BYTES": "4096"]))
            try await app.test(.router) { client in
                let cases: [(Data, HTTPResponse.Status, String)] = [
                    (Data(#"{"data": {"essentials": "#.utf8), .badRequest, "the body is not valid JSON"),
                    (Data(), .badRequest, "the body is empty"),
                    (Data((String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)).utf8), .badRequest, "nested more than 64 levels"),
                    (Data(#"{"hello":"world"}"#.utf8), .unprocessableContent, "common alert schema"),
                    (Data(#"{"data":{"essentials":"Sev1"}}"#.utf8), .unprocessableContent, "common alert schema"),
                    (Data(repeating: 0x20, count: 10_000), .contentTooLarge, "over the limit of 4096 bytes (MAX_BODY_BYTES)"),
                ]
                for (index, (body, status, message)) in cases.enumerated() {
                    let response = try await H.post(client, "/azure-monitor", body)
                    #expect(response.status == status)
                    let failure = try H.failure(response)
                    #expect(failure.error.contains(message), "\(failure.error)")
                    #expect(failure.error.contains("#\(index + 1)"), "names the kept payload: \(failure.error)")
                    let stored = try #require(try await RawPayloadStore(database: database).find(id: Int64(index + 1)))
                    #expect(stored.parseStatus == "failed")
                    #expect(stored.body == body.prefix(4096))
                    #expect(stored.bodySize >= min(body.count, 4097))
                }
                #expect(try await TicketStore(database: database).count() == 0)
            }
        }
    }

    @Test("200 concurrent deliveries of one alert make one ticket with occurrence count 200 and one analysis job", arguments: TestBackend.enabled)
    func concurrentDeliveries(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let app = buildApplication(try H.dependencies(database))
            let body = try Fixture.data("constructed/adf-log-v2-dimensions.json")
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let statuses = try await withThrowingTaskGroup(of: String.self) { group in
                    for _ in 0..<200 {
                        group.addTask {
                            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/azure-monitor?token=\(H.token)")
                            request.method = .POST
                            request.body = .bytes(ByteBuffer(bytes: body))
                            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                            let data = try await response.body.collect(upTo: 1 << 20)
                            return try JSONDecoder().decode(H.Answer.self, from: Data(data.readableBytesView)).status
                        }
                    }
                    return try await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
                }
                #expect(statuses == ["accepted": 1, "duplicate_ignored": 199])
            }
            #expect(try await TicketStore(database: database).count() == 1)
            let ticket = try #require(try await TicketStore(database: database).find(dedupKey: "adf:run:6cd1f2b8-7b0a-4d2f-9a53-3f1e2f0b9c11"))
            #expect(ticket.occurrenceCount == 200)
            #expect(try await JobQueue(database: database).jobs(kind: "analyze").count == 1)
            #expect(try await RawPayloadStore(database: database).count() == 200)
        }
    }
}

@Suite("Webhook text edge cases")
struct WebhookTextTests {
    @Test("a NUL character inside a JSON string is stored as U+FFFD on both databases", arguments: TestBackend.enabled)
    func nulCharacter(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let app = buildApplication(try WebhookHarness.dependencies(database))
            try await app.test(.router) { client in
                let body = Data(#"{"resource":"nul\u0000job","run_id":"r\u00001","error_message":"before\u0000after","details":{"k\u0000":"v\u0000"}}"#.utf8)
                let response = try await WebhookHarness.post(client, "/webhook/generic", body)
                #expect(response.status == .accepted)
                let ticketID = try #require(try WebhookHarness.answer(response).ticket_ids.first)
                let ticket = try #require(try await TicketStore(database: database).find(id: ticketID))
                #expect(ticket.errorMessage == "before\u{FFFD}after")
                #expect(ticket.pipeline == "nul\u{FFFD}job")
                #expect(ticket.detailValues["detail.k\u{FFFD}"] == "v\u{FFFD}")

                let refused = try await WebhookHarness.post(client, "/webhook/generic", Data(#"{"resource":"r","error_message":"e","severity":"x\u0000"}"#.utf8))
                #expect(refused.status == .unprocessableContent)
            }
        }
    }
}
