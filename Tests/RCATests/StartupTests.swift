import Foundation
import RCACore
import RCAServer
import RCAStore
import RCATesting
import Testing

@Suite("Start-up")
struct StartupTests {
    static func configuration(for testDatabase: TestDatabase, extra: [String: String] = [:]) throws -> ServerConfiguration {
        var environment = ["DATA_DIR": testDatabase.folder.appendingPathComponent("data").path].merging(extra) { $1 }
        if case .postgres = testDatabase.location, let url = TestBackend.postgresURL {
            environment["DATABASE_URL"] = url
        }
        var configuration = try ServerConfiguration(environment: environment)
        if case .postgres = testDatabase.location { configuration.database = testDatabase.location }
        return configuration
    }

    @Test("the first start creates the admin and the secrets; a restart reuses them and creates nothing", arguments: TestBackend.enabled)
    func firstStartThenRestart(backend: TestBackend) async throws {
        let testDatabase = try await TestDatabase.make(backend)
        defer { Task { await testDatabase.destroy() } }
        let configuration = try Self.configuration(for: testDatabase)
        let hasher = PasswordHasher(cost: 4)

        let first = try await ServerStartup.prepare(configuration, logger: TestDatabase.quietLogger, hasher: hasher)
        let password = try #require(first.firstAdminPassword)
        #expect(first.appliedMigrations == Array(1...Migrator.latestVersion))
        guard case .generatedFile(let jwtFile) = first.jwtSecret.origin else {
            Issue.record("the JWT secret was not generated")
            return
        }
        let admin = try #require(try await UserStore(database: first.database).find(email: "admin"))
        #expect(admin.role == .admin)
        #expect(try await hasher.verify(password, hash: admin.passwordHash))
        await first.database.close()

        let second = try await ServerStartup.prepare(configuration, logger: TestDatabase.quietLogger, hasher: hasher)
        #expect(second.firstAdminPassword == nil)
        #expect(second.appliedMigrations.isEmpty)
        #expect(second.jwtSecret.value == first.jwtSecret.value)
        #expect(second.jwtSecret.origin == .storedFile(path: jwtFile))
        #expect(second.webhookToken.value == first.webhookToken.value)
        #expect(try await UserStore(database: second.database).count() == 1)
        await second.database.close()
    }

    @Test("secrets given in the environment are used and not written to the data folder")
    func secretsFromEnvironment() async throws {
        let testDatabase = try await TestDatabase.make(.sqlite)
        defer { Task { await testDatabase.destroy() } }
        let jwt = String(repeating: "j", count: 48)
        let configuration = try Self.configuration(for: testDatabase, extra: ["JWT_SECRET": jwt, "WEBHOOK_TOKEN": "token-from-the-environment"])

        let prepared = try await ServerStartup.prepare(configuration, logger: TestDatabase.quietLogger, hasher: PasswordHasher(cost: 4))
        #expect(prepared.jwtSecret.value == jwt)
        #expect(prepared.jwtSecret.origin == .environment(variable: "JWT_SECRET"))
        #expect(prepared.webhookToken.origin == .environment(variable: "WEBHOOK_TOKEN"))
        #expect(!FileManager.default.fileExists(atPath: configuration.dataDirectory + "/jwt_secret"))
        #expect(String(describing: prepared.jwtSecret) == "<secret>")
        await prepared.database.close()
    }

    @Test("the banner shows the address, the first password once, and the webhook URLs with the token")
    func banner() async throws {
        let testDatabase = try await TestDatabase.make(.sqlite)
        defer { Task { await testDatabase.destroy() } }
        let configuration = try Self.configuration(for: testDatabase)
        let prepared = try await ServerStartup.prepare(configuration, logger: TestDatabase.quietLogger, hasher: PasswordHasher(cost: 4))
        defer { Task { await prepared.database.close() } }

        let lines = StartupBanner.lines(for: prepared, listeningPort: 8123, webhookPaths: ["/azure-monitor", "/alertmanager"])
        #expect(lines.first == "RCA Assistant is listening on http://127.0.0.1:8123")
        #expect(lines.contains { $0.contains(try! #require(prepared.firstAdminPassword)) })
        #expect(lines.contains("  http://127.0.0.1:8123/azure-monitor?token=\(prepared.webhookToken.value)"))
        #expect(prepared.webhookToken.value.count == 43, "256 bits at six bits a character")
        #expect(lines.contains("  http://127.0.0.1:8123/alertmanager?token=\(prepared.webhookToken.value)"))
    }

    @Test("the banner says the Jira webhook is off until JIRA_WEBHOOK_SECRET is set, and the Slack buttons until SLACK_SIGNING_SECRET is")
    func integrationLines() throws {
        let jira = ["JIRA_DOMAIN": "https://x.atlassian.net", "JIRA_USER_EMAIL": "a@b.c", "JIRA_API_TOKEN": "t", "JIRA_PROJECT_KEY": "OPS"]
        let slack = ["SLACK_BOT_TOKEN": "xoxb-1", "SLACK_CHANNEL": "C1"]
        let off = try ServerConfiguration(environment: jira.merging(slack) { $1 })
        #expect(StartupBanner.integrationLines(off.notifications, base: "https://rca.example.com") == [
            "Slack buttons: off; set SLACK_SIGNING_SECRET to let responders act from Slack",
            "Jira webhook: off; set JIRA_WEBHOOK_SECRET to let Jira status changes move tickets",
        ])
        let on = try ServerConfiguration(environment: jira.merging(slack) { $1 }.merging(["JIRA_WEBHOOK_SECRET": "s", "SLACK_SIGNING_SECRET": "s"]) { $1 })
        #expect(StartupBanner.integrationLines(on.notifications, base: "https://rca.example.com") == [
            "Slack buttons: https://rca.example.com/slack/interactions (signed with SLACK_SIGNING_SECRET)",
            "Jira webhook: https://rca.example.com/webhook/jira (signed with JIRA_WEBHOOK_SECRET)",
        ])
    }

    @Test("an unreachable PostgreSQL stops the start with the reason, naming DATABASE_URL")
    func unreachableDatabase() async throws {
        let configuration = try ServerConfiguration(environment: [
            "DATA_DIR": DataDirectoryTests.temporaryPath(),
            "DATABASE_URL": "postgres://rca:secret-password@127.0.0.1:9/rca?sslmode=disable",
        ])
        await #expect {
            try await ServerStartup.prepare(configuration, logger: TestDatabase.quietLogger)
        } throws: { error in
            let description = String(describing: error)
            return description.hasPrefix("DATABASE_URL: cannot connect to postgres://rca@127.0.0.1:9/rca: ")
                && description.contains("refused") && !description.contains("secret-password")
        }
    }
}
