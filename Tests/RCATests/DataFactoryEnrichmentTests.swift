import Foundation
import Hummingbird
import HummingbirdTesting
import RCACore
import RCAServer
import RCAStore
import RCATesting
import Testing

@Suite("Data Factory enrichment", .serialized)
struct DataFactoryEnrichmentTests {
    static let secret = "client-secret-never-shown"
    static let tokenPath = "/tenant-1/oauth2/v2.0/token"
    static let factory = "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourceGroups/data-rg/providers/microsoft.datafactory/factories/sales-adf"
    static let runsPath = factory + "/queryPipelineRuns"
    static let activitiesPath = factory + "/pipelineruns/2f7fdb90-5df1-4b8e-ac2f-064cfa58202b/queryActivityruns"

    static func analyze(fake: ScriptedAnswers, alert: Data? = nil) async throws -> (TicketRecord, [AuditEntry]) {
        let server = try await LocalHTTPServer.start(fake.router(paths: [tokenPath, runsPath, activitiesPath]))
        defer { Task { await server.stop() } }
        return try await TestDatabase.with(.sqlite) { database, _ in
            let configuration = try ServerConfiguration(environment: [
                "PORT": "0", "AZURE_TENANT_ID": "tenant-1", "AZURE_CLIENT_ID": "app-1", "AZURE_CLIENT_SECRET": secret,
                "AZURE_AUTHORITY_HOST": server.baseURL, "AZURE_MANAGEMENT_URL": server.baseURL, "ENRICHMENT_TIMEOUT_SECONDS": "2",
            ])
            let app = buildApplication(
                try AppDependencies(
                    configuration: configuration, database: database, webhookToken: WebhookHarness.token, jwtSecret: WebhookHarness.jwtSecret,
                    enrichers: makeEnrichers(configuration), enrichmentRetryDelay: .milliseconds(100), logger: TestDatabase.quietLogger
                )
            )
            return try await app.test(.router) { client in
                let answer = try WebhookHarness.answer(
                    try await WebhookHarness.post(client, "/azure-monitor", try alert ?? Fixture.data("constructed/adf-metric-pipeline-failed-runs.json"))
                )
                let ticketID = try #require(answer.ticket_ids.first)
                let tickets = TicketStore(database: database)
                try await tickets.settled([ticketID])
                return (try #require(try await tickets.find(id: ticketID)), try await tickets.audit(ticketID: ticketID))
            }
        }
    }

    static func fixture(_ name: String) throws -> ScriptedAnswers.Answer {
        .init(body: String(decoding: try Fixture.data(name), as: UTF8.self))
    }

    @Test("a metric alert's run, failed activity, error code and message are found through the REST API")
    func success() async throws {
        let fake = ScriptedAnswers()
        fake.always(Self.tokenPath, .init(body: #"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eXAi.test.token"}"#))
        fake.always(Self.runsPath, try Self.fixture("constructed/adf-querypipelineruns-one-failed.json"))
        fake.always(Self.activitiesPath, try Self.fixture("constructed/adf-queryactivityruns-one-failed.json"))

        let (ticket, audit) = try await Self.analyze(fake: fake)

        #expect(ticket.runID == "2f7fdb90-5df1-4b8e-ac2f-064cfa58202b")
        #expect(ticket.errorMessage?.hasPrefix("[Activity: ExampleCopyActivity (Copy)] 2200: ErrorCode=UserErrorSourceBlobNotExists") == true)
        #expect(ticket.detailValues["error_code"] == "2200")
        #expect(ticket.detailValues["failed_activities"] == "ExampleCopyActivity")
        #expect(audit.map(\.action) == ["Ticket Created", "Error Enriched", "RCA Generated"])
        #expect(ticket.category == "missing_input_data")
        #expect(ticket.errorType == "UserErrorSourceBlobNotExists")
        #expect(ticket.rcaResult == "The source file sales/2026/11/29.csv does not exist, so the copy had nothing to read")
        #expect(ticket.severity == "High" && ticket.priority == "P2")
        #expect(ticket.confidence == "Very High")

        let tokenRequest = try #require(fake.received.first { $0.path == Self.tokenPath })
        #expect(tokenRequest.body.contains("grant_type=client_credentials"))
        #expect(tokenRequest.body.contains("scope=http%3A%2F%2F127.0.0.1"))
        let runsRequest = try #require(fake.received.first { $0.path == Self.runsPath })
        #expect(runsRequest.query == "api-version=2018-06-01")
        #expect(runsRequest.authorization == "Bearer eyJ0eXAi.test.token")
        #expect(runsRequest.body.contains(#""operand":"PipelineName""#) && runsRequest.body.contains(#""values":["DailySalesLoad"]"#))
        #expect(fake.count(Self.tokenPath) == 1, "the token is reused")
    }

    @Test("a refused client secret keeps the ticket with the alert's text and says why, without the secret")
    func refusedCredentials() async throws {
        let fake = ScriptedAnswers()
        fake.always(Self.tokenPath, .init(.unauthorized, body: #"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#))

        let (ticket, audit) = try await Self.analyze(fake: fake)

        #expect(ticket.analysisState == "done")
        #expect(ticket.errorMessage?.contains("PipelineFailedRuns = 1 for pipeline DailySalesLoad") == true)
        let failure = try #require(audit.first { $0.action == "Enrichment Failed" })
        #expect(failure.details?.contains("AADSTS7000215") == true)
        #expect(failure.details?.contains(Self.secret) == false)
    }

    @Test("no failed run in the window is reported as such")
    func noRun() async throws {
        let fake = ScriptedAnswers()
        fake.always(Self.tokenPath, .init(body: #"{"access_token":"t","expires_in":3599}"#))
        fake.always(Self.runsPath, .init(body: #"{"value":[]}"#))

        let (_, audit) = try await Self.analyze(fake: fake)

        #expect(audit.first { $0.action == "Enrichment Failed" }?.details?.contains("no failed run of pipeline DailySalesLoad between") == true)
    }

    @Test("an alert whose target id points at another host gets no request and no token sent there; the ticket says why")
    func hostileTargetID() async throws {
        let elsewhere = ScriptedAnswers()
        let elsewhereServer = try await LocalHTTPServer.start(elsewhere.anyPathRouter(), host: "127.0.0.2")
        let fake = ScriptedAnswers()
        fake.always(Self.tokenPath, .init(body: #"{"access_token":"arm-token","expires_in":3599}"#))
        let original = String(decoding: try Fixture.data("constructed/adf-metric-pipeline-failed-runs.json"), as: UTF8.self)
        let hostile = original.replacingOccurrences(
            of: "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourcegroups/data-rg/providers/microsoft.datafactory/factories/sales-adf",
            with: "@127.0.0.2:\(elsewhereServer.port)/factories/x"
        )
        #expect(hostile != original)

        let (ticket, audit) = try await Self.analyze(fake: fake, alert: Data(hostile.utf8))

        #expect(elsewhere.received.isEmpty)
        #expect(fake.received.isEmpty, "not even a token is fetched for a refused id")
        #expect(ticket.analysisState == "done")
        #expect(audit.first { $0.action == "Enrichment Failed" }?.details?.contains("not a Data Factory resource id") == true)
        await elsewhereServer.stop()
    }

    @Test("the Azure variables go together")
    func configuration() {
        #expect(throws: ConfigurationError(variable: "AZURE_CLIENT_SECRET", problem: "is required with AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET for Data Factory enrichment")) {
            try ServerConfiguration(environment: ["AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c"])
        }
        #expect(throws: ConfigurationError(variable: "ADF_FACTORY_NAME", problem: "is required with ADF_SUBSCRIPTION_ID, ADF_RESOURCE_GROUP, ADF_FACTORY_NAME")) {
            try ServerConfiguration(environment: ["AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s", "ADF_SUBSCRIPTION_ID": "x", "ADF_RESOURCE_GROUP": "y"])
        }
        let credentials = ["AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s"]
        #expect(throws: ConfigurationError(variable: "ADF_SUBSCRIPTION_ID", problem: "expected a subscription id (a GUID)")) {
            try ServerConfiguration(environment: credentials.merging(["ADF_SUBSCRIPTION_ID": "x", "ADF_RESOURCE_GROUP": "y", "ADF_FACTORY_NAME": "sales-adf"]) { $1 })
        }
        #expect(throws: ConfigurationError(variable: "ADF_FACTORY_NAME", problem: "expected 3-63 letters, digits and single hyphens")) {
            try ServerConfiguration(environment: credentials.merging([
                "ADF_SUBSCRIPTION_ID": "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e", "ADF_RESOURCE_GROUP": "y", "ADF_FACTORY_NAME": "../x",
            ]) { $1 })
        }
        #expect(throws: ConfigurationError.self) {
            try ServerConfiguration(environment: credentials.merging(["AZURE_MANAGEMENT_URL": "https://management.azure.com/?x=1"]) { $1 })
        }
    }
}
