import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RCAServer
import RCAStore
import RCATesting
import SQLKit
import Synchronization
import Testing

/// An Entra ID token endpoint on 127.0.0.1 that hands out the tokens it is told to, each for three seconds.
final class FakeEntraID: Sendable {
    let token = Mutex("token-1")
    let requests = Mutex<[String]>([])
    private let running = Mutex<LocalHTTPServer?>(nil)
    var server: LocalHTTPServer { running.withLock { $0! } }

    static func start() async throws -> FakeEntraID {
        let fake = FakeEntraID()
        let router = Router()
        router.post("/login/:tenant/oauth2/v2.0/token") { request, _ in
            var request = request
            let form = String(buffer: try await request.collectBody(upTo: 1 << 16))
            fake.requests.withLock { $0.append(form) }
            let token = fake.token.withLock { $0 }
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"token_type":"Bearer","expires_in":3,"ext_expires_in":3,"access_token":"\#(token)"}"#)))
        }
        let server = try await LocalHTTPServer.start(router)
        fake.running.withLock { $0 = server }
        return fake
    }
}

@Suite("PostgreSQL with Entra ID tokens as the password", .serialized)
struct PostgresTokenPasswordTests {
    /// scripts/postgres-up.sh makes this role and makes it sign in with a password.
    static let role = "rca_entra"

    @Test("DATABASE_AZURE_AD needs a PostgreSQL DATABASE_URL and the service principal")
    func settings() {
        #expect(throws: ConfigurationError(variable: "DATABASE_AZURE_AD", problem: "needs a PostgreSQL DATABASE_URL (Azure Database for PostgreSQL)")) {
            try ServerConfiguration(environment: ["DATABASE_AZURE_AD": "true"])
        }
        #expect(throws: ConfigurationError(variable: "DATABASE_AZURE_AD", problem: "needs the service principal: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET")) {
            try ServerConfiguration(environment: ["DATABASE_AZURE_AD": "true", "DATABASE_URL": "postgres://rca@db.example.net/rca"])
        }
    }

    @Test("DATABASE_AZURE_AD=true signs in with the service principal's token and renews the pool before the token ends",
          .enabled(if: TestBackend.postgresEnabled))
    func tokenPassword() async throws {
        try await TestDatabase.with(.postgres) { admin, testDatabase in
            guard case .postgres(let endpoint) = testDatabase.location else { Issue.record("expected PostgreSQL"); return }
            let roleExists = try await admin.read { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM pg_roles WHERE rolname = \(bind: Self.role)").first()?.decode(column: "n", as: Int.self)
            }
            guard roleExists == 1 else {
                // A server of the developer's own (RCA_TEST_POSTGRES_URL) may lack the role; CI's may not.
                if ProcessInfo.processInfo.environment["RCA_TEST_REQUIRE_POSTGRES"] == "1" {
                    Issue.record("the role \(Self.role) is missing; scripts/postgres-up.sh makes it (with a password-only pg_hba line)")
                }
                return
            }
            func setPassword(_ password: String) async throws {
                try await admin.autocommit { sql in try await sql.raw("ALTER ROLE \(unsafeRaw: Self.role) PASSWORD '\(unsafeRaw: password)'").run() }
            }
            try await setPassword("token-1")
            let entra = try await FakeEntraID.start()
            defer { Task { await entra.server.stop() } }
            let url = "postgres://\(Self.role)@\(endpoint.host):\(endpoint.port)/\(endpoint.database)?sslmode=disable"
            let configuration = try ServerConfiguration(environment: [
                "DATA_DIR": testDatabase.folder.path, "DATABASE_URL": url, "DATABASE_AZURE_AD": "true",
                "AZURE_TENANT_ID": "contoso.onmicrosoft.com", "AZURE_CLIENT_ID": "00000000-0000-0000-0000-00000000abcd",
                "AZURE_CLIENT_SECRET": "s3cret-value", "AZURE_AUTHORITY_HOST": "\(entra.server.baseURL)/login",
            ])
            let wrong = try ServerConfiguration(environment: ["DATA_DIR": testDatabase.folder.path, "DATABASE_URL": url.replacingOccurrences(of: "\(Self.role)@", with: "\(Self.role):not-the-token@")])
            await #expect(throws: ConfigurationError.self, "the role is refused a wrong password, so the token is what lets it in") {
                try await ServerStartup.openDatabase(wrong, logger: TestDatabase.quietLogger)
            }

            let database = try await ServerStartup.openDatabase(configuration, logger: TestDatabase.quietLogger)
            let user = try await database.read { sql in try await sql.raw("SELECT current_user AS name").first()?.decode(column: "name", as: String.self) }
            #expect(user == Self.role)
            #expect(entra.requests.withLock { $0.first?.contains("scope=https%3A%2F%2Fossrdbms-aad.database.windows.net%2F.default") } == true)

            try await setPassword("token-2")
            let asked = entra.token.withLock { token in
                token = "token-2"
                return entra.requests.withLock { $0.count }
            }
            try await eventually(20, "the token is renewed after the password changed") { entra.requests.withLock { $0.count } > asked }
            try await Task.sleep(for: .milliseconds(300))
            let terminated = try await admin.autocommit { sql in
                try await sql.raw("SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE usename = \(bind: Self.role)").first()?.decode(column: "n", as: Int.self)
            }
            #expect((terminated ?? 0) >= 1, "every connection signed in with the first token is gone")
            try await Task.sleep(for: .milliseconds(500))
            for _ in 0..<5 {
                let answer = try await database.read { sql in try await sql.raw("SELECT 1 AS one").first()?.decode(column: "one", as: Int.self) }
                #expect(answer == 1, "new connections sign in with the renewed token")
            }
            await database.close()
            try await setPassword("unused-\(UUID().uuidString)")
        }
    }
}
