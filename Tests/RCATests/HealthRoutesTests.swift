import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RCAServer
import RCAStore
import RCATesting
import Testing

@Suite("Health, readiness and metrics")
struct HealthRoutesTests {
    /// The readiness deadline is generous unless a test is about it, so that a
    /// loaded test machine's slow connection does not read as unreadiness.
    static func dependencies(_ database: Database, readyTimeoutSeconds: Int = 10) throws -> AppDependencies {
        try AppDependencies(
            configuration: try ServerConfiguration(environment: ["PORT": "0", "READY_TIMEOUT_SECONDS": "\(readyTimeoutSeconds)"]),
            database: database,
            webhookToken: "test-webhook-token-0123456789",
            jwtSecret: WebhookHarness.jwtSecret,
            logger: TestDatabase.quietLogger
        )
    }

    struct ErrorBody: Decodable {
        let error: String
        let status: Int
        let request_id: String?
    }

    @Test("/health answers while the process lives; /ready once the database is migrated", arguments: TestBackend.enabled)
    func healthAndReady(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let app = buildApplication(try Self.dependencies(database))
            try await app.test(.router) { client in
                try await client.execute(uri: "/health", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == #"{"status":"ok"}"#)
                }
                try await client.execute(uri: "/ready", method: .get) { response in
                    #expect(response.status == .ok)
                    let body = String(buffer: response.body)
                    #expect(body.contains("\"schema_version\":\(Migrator.latestVersion)"))
                    #expect(body.contains(#""database":"\#(database.dialect.rawValue)""#))
                }
            }
        }
    }

    @Test("/ready answers 503 with Retry-After and a reason while the database is not migrated", arguments: TestBackend.enabled)
    func notReady(backend: TestBackend) async throws {
        try await TestDatabase.with(backend, migrated: false) { database, _ in
            let app = buildApplication(try Self.dependencies(database))
            try await app.test(.router) { client in
                try await client.execute(uri: "/ready", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.headers[.retryAfter] == "5")
                    let body = try JSONDecoder().decode(ErrorBody.self, from: Data(response.body.readableBytesView))
                    #expect(body.error == "not ready: the database has not been migrated; run `rca-assistant migrate`")
                    #expect(body.status == 503)
                }
            }
        }
    }

    @Test("/ready answers 503 within its one-second deadline while PostgreSQL refuses connections, though a connection is awaited for 5 s",
          arguments: TestBackend.enabled.filter { $0 == .postgres })
    func readyWhileAway(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { _, testDatabase in
            let away = try await Database.open(testDatabase.location, logger: TestDatabase.quietLogger, connectTimeout: .seconds(5))
            let app = buildApplication(try Self.dependencies(away, readyTimeoutSeconds: 1))
            try await app.test(.router) { client in
                try await testDatabase.refuseConnections()
                let clock = ContinuousClock()
                let started = clock.now
                try await client.execute(uri: "/ready", method: .get) { response in
                    let waited = clock.now - started
                    #expect(response.status == .serviceUnavailable)
                    #expect(waited < .seconds(3), "answered after \(waited)")
                    let body = try JSONDecoder().decode(ErrorBody.self, from: Data(response.body.readableBytesView))
                    // A pooled connection that was just terminated fails at once with
                    // PostgreSQL's reason; a new one waits until the deadline.
                    #expect(body.error.hasPrefix("not ready: "), "\(body.error)")
                }
            }
            await away.close()
        }
    }

    @Test("/metrics counts requests by route and status, and shows the queue depth")
    func metrics() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let dependencies = try Self.dependencies(database)
            try await dependencies.jobQueue.enqueue(kind: "later", payload: "{}", runAfter: Date().addingTimeInterval(3600))
            try await dependencies.jobQueue.enqueue(kind: "later", payload: "{}", runAfter: Date().addingTimeInterval(3600))
            let app = buildApplication(dependencies)
            try await app.test(.router) { client in
                for _ in 0..<3 { _ = try await client.execute(uri: "/health", method: .get) }
                _ = try await client.execute(uri: "/no-such-page", method: .get)
                try await client.execute(uri: "/metrics", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                    let text = String(buffer: response.body)
                    #expect(text.contains(#"rca_http_requests_total{route="/health",method="GET",status="200"} 3"#))
                    #expect(text.contains(#"status="404"} 1"#))
                    #expect(text.contains(#"rca_http_request_duration_seconds_count{route="/health",method="GET"} 3"#))
                    #expect(text.contains(#"rca_jobs{state="queued"} 2"#))
                    #expect(text.contains("rca_tickets_created_total 0"))
                }
            }
        }
    }

    @Test("an unknown path gets a JSON 404 that names the path and the request id")
    func notFound() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let app = buildApplication(try Self.dependencies(database))
            try await app.test(.router) { client in
                try await client.execute(uri: "/nowhere?token=secret", method: .get) { response in
                    #expect(response.status == .notFound)
                    let body = try JSONDecoder().decode(ErrorBody.self, from: Data(response.body.readableBytesView))
                    #expect(body.error == "no such endpoint: /nowhere")
                    #expect(body.request_id != nil)
                    #expect(body.request_id == response.headers[HTTPField.Name("X-Request-Id")!])
                }
            }
        }
    }

    @Test("a well-formed X-Request-Id from a proxy is kept; a malformed one is replaced")
    func requestID() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let app = buildApplication(try Self.dependencies(database))
            let header = HTTPField.Name("X-Request-Id")!
            try await app.test(.router) { client in
                try await client.execute(uri: "/health", method: .get, headers: [header: "edge-42.abc_DEF"]) { response in
                    #expect(response.headers[header] == "edge-42.abc_DEF")
                }
                try await client.execute(uri: "/health", method: .get, headers: [header: "bad id\u{7F}<script>"]) { response in
                    let id = try #require(response.headers[header])
                    #expect(id != "bad id\u{7F}<script>")
                    #expect(!id.isEmpty)
                }
            }
        }
    }
}
