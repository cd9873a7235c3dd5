import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RCACore
import RCAServer
import RCAStore
import RCATesting
import SQLKit
import Testing

@Suite("Database outages")
struct ResilienceTests {
    /// Drops every connection to the test database but the caller's. Only
    /// the test role's sessions: PostgreSQL refuses a role that is not a
    /// superuser the termination of an autovacuum worker, which has no role.
    static func terminateOtherSessions(_ admin: Database) async throws {
        try await admin.read { sql in
            try await sql.raw(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND usename = current_user AND pid <> pg_backend_pid()"
            ).run()
        }
    }

    @Test("when PostgreSQL drops every connection, between or during webhooks, they get 202 or 503 with Retry-After, never 500 and never no answer, and the server recovers by itself",
          arguments: TestBackend.enabled.filter { $0 == .postgres })
    func connectionsDropped(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, testDatabase in
            let admin = try await testDatabase.open(migrated: true)
            let app = buildApplication(try WebhookHarness.dependencies(database, environment: ["ROLE": "web"]))
            try await app.test(.router) { client in
                func post(_ run: Int) async throws -> TestResponse {
                    let body = try JSONSerialization.data(withJSONObject: ["resource": "outage_test", "run_id": "run-\(run)", "error_message": "KeyError: 'id'"])
                    return try await WebhookHarness.post(client, "/webhook/generic", body)
                }
                #expect(try await post(0).status == .accepted)
                var accepted: [String] = []
                for round in 1...3 {
                    try await Self.terminateOtherSessions(admin)
                    for attempt in 0..<20 {
                        let response = try await post(round * 100 + attempt)
                        #expect([.accepted, .serviceUnavailable].contains(response.status), "got \(response.status) after dropped connections")
                        if response.status == .serviceUnavailable {
                            #expect(response.headers[.retryAfter] != nil)
                            continue
                        }
                        accepted += try WebhookHarness.answer(response).ticket_ids
                        break
                    }
                }
                #expect(accepted.count == 3, "each round recovered to a 202")

                let killer = Task {
                    for _ in 0..<20 {
                        try? await Self.terminateOtherSessions(admin)
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                }
                let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, [String]).self) { group in
                    for index in 0..<60 {
                        group.addTask {
                            let response = try await post(1000 + index)
                            return (response.status, response.status == .accepted ? try WebhookHarness.answer(response).ticket_ids : [])
                        }
                    }
                    var all: [(HTTPResponse.Status, [String])] = []
                    for try await result in group { all.append(result) }
                    return all
                }
                _ = await killer.result
                #expect(statuses.allSatisfy { [.accepted, .serviceUnavailable].contains($0.0) }, "\(statuses.map(\.0.code))")
                accepted += statuses.flatMap(\.1)
                for id in accepted {
                    #expect(try await TicketStore(database: database).find(id: id) != nil, "every 202 has its ticket")
                }
            }
            await admin.close()
        }
    }

    @Test("with the database away, sign-in, the dashboard API and a wrong webhook token get 503 with Retry-After and a reason, never 500",
          arguments: TestBackend.enabled.filter { $0 == .postgres })
    func apiWhileAway(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { _, testDatabase in
            let away = try await Database.open(testDatabase.location, logger: TestDatabase.quietLogger, connectTimeout: .seconds(3))
            let harness = try await APIHarness.make(away)
            try await buildApplication(harness.dependencies).test(.router) { client in
                let token = try await APIHarness.token(client, .viewer)
                try await testDatabase.refuseConnections()
                let answers = [
                    try await APIHarness.login(client, "viewer@example.com"),
                    try await APIHarness.call(client, .get, "/api/open-tickets", token: token),
                    try await APIHarness.call(client, .get, "/api/summary", token: token),
                    try await WebhookHarness.post(client, "/webhook/generic", Data("{}".utf8), token: "a-wrong-token-0123456789"),
                ]
                for answer in answers {
                    #expect(answer.status == .serviceUnavailable, "\(String(buffer: answer.body))")
                    #expect(answer.headers[.retryAfter] == "5")
                    #expect(try WebhookHarness.failure(answer).error.hasPrefix("the database is unavailable"))
                }
            }
            await away.close()
        }
    }
}
