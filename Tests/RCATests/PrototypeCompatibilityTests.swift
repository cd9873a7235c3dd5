import Foundation
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
}
