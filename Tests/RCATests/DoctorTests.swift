import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RCAServer
import RCAStore
import RCATesting
import Testing

/// One local server that answers as Gemini, an OpenAI-compatible endpoint,
/// Slack, Jira Cloud, Databricks, Entra ID, Azure Resource Manager and Blob
/// Storage do to the doctor's harmless calls, with their documented error bodies.
struct FakeVendors {
    static let subscription = "2f1c7a4e-5b6d-4c3e-8f9a-0b1c2d3e4f5a"
    let server: LocalHTTPServer

    static func start() async throws -> FakeVendors {
        let router = Router()
        @Sendable func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
            Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/gemini/v1beta/models/:model") { request, context in
            guard request.headers[HTTPField.Name("x-goog-api-key")!] == "gemini-good-key" else {
                return json(.badRequest, #"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}"#)
            }
            let model = context.parameters.get("model") ?? ""
            guard model == "gemini-2.5-flash" else {
                return json(.notFound, #"{"error":{"code":404,"message":"models/\#(model) is not found for API version v1beta","status":"NOT_FOUND"}}"#)
            }
            return json(.ok, #"{"name":"models/gemini-2.5-flash","displayName":"Gemini 2.5 Flash","supportedGenerationMethods":["generateContent"]}"#)
        }
        router.get("/openai/v1/models") { request, _ in
            guard request.headers[.authorization] == "Bearer sk-good" else {
                return json(.unauthorized, #"{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#)
            }
            return json(.ok, #"{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"system"}]}"#)
        }
        router.post("/slack/api/auth.test") { request, _ in
            guard request.headers[.authorization] == "Bearer xoxb-good" else { return json(.ok, #"{"ok":false,"error":"invalid_auth"}"#) }
            return json(.ok, #"{"ok":true,"url":"https://data.slack.com/","team":"Data Platform","user":"rca_assistant","team_id":"T1","user_id":"U1","bot_id":"B1"}"#)
        }
        router.get("/slack/api/conversations.history") { request, _ in
            guard request.uri.queryParameters["channel"] == "C111" else { return json(.ok, #"{"ok":false,"error":"channel_not_found"}"#) }
            return json(.ok, #"{"ok":true,"messages":[],"has_more":false}"#)
        }
        let jiraAuthorization = "Basic " + Data("ops@example.com:jira-good".utf8).base64EncodedString()
        router.get("/jira/rest/api/3/myself") { request, _ in
            guard request.headers[.authorization] == jiraAuthorization else { return Response(status: .unauthorized) }
            return json(.ok, #"{"accountId":"5b10a2844c20165700ede21g","displayName":"Ops Bot","active":true}"#)
        }
        router.get("/jira/rest/api/3/project/:key") { request, context in
            guard request.headers[.authorization] == jiraAuthorization else { return Response(status: .unauthorized) }
            guard context.parameters.get("key") == "ED" else {
                return json(.notFound, #"{"errorMessages":["No project could be found with key '\#(context.parameters.get("key") ?? "")'."],"errors":{}}"#)
            }
            return json(.ok, #"{"id":"10000","key":"ED","name":"Data Engineering"}"#)
        }
        router.get("/databricks/api/2.1/jobs/list") { request, _ in
            guard request.headers[.authorization] == "Bearer dapi-good" else {
                return json(.unauthorized, #"{"error_code":"UNAUTHENTICATED","message":"Invalid access token."}"#)
            }
            return json(.ok, #"{"jobs":[],"has_more":false}"#)
        }
        router.post("/login/:tenant/oauth2/v2.0/token") { request, context in
            var request = request
            let form = String(buffer: try await request.collectBody(upTo: 1 << 16))
            guard context.parameters.get("tenant") == "contoso.onmicrosoft.com" else {
                return json(.badRequest, #"{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'unknown' not found. Check to make sure you have the correct tenant ID.","error_codes":[90002]}"#)
            }
            guard form.contains("client_id=00000000-0000-0000-0000-00000000abcd") else {
                return json(.badRequest, #"{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier 'x' was not found in the directory 'Contoso'.","error_codes":[700016]}"#)
            }
            guard form.contains("client_secret=azure-good") else {
                return json(.unauthorized, #"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.\r\nTrace ID: 1","error_codes":[7000215]}"#)
            }
            return json(.ok, #"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"arm-token"}"#)
        }
        router.get("/management/subscriptions/:subscription/resourceGroups/:group/providers/Microsoft.DataFactory/factories/:name") { request, context in
            guard request.headers[.authorization] == "Bearer arm-token" else { return Response(status: .unauthorized) }
            guard context.parameters.get("name") == "adf-prod" else {
                return json(.notFound, #"{"error":{"code":"ResourceNotFound","message":"The Resource 'Microsoft.DataFactory/factories/\#(context.parameters.get("name") ?? "")' was not found."}}"#)
            }
            return json(.ok, #"{"name":"adf-prod","properties":{"provisioningState":"Succeeded"}}"#)
        }
        router.get("/blob/rca-archive") { request, _ in
            guard request.uri.queryParameters["sig"] == "good", request.uri.queryParameters["restype"] == "container" else {
                return Response(status: .forbidden, body: .init(byteBuffer: ByteBuffer(string: "<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code></Error>")))
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "<?xml version=\"1.0\"?><EnumerationResults><Blobs/></EnumerationResults>")))
        }
        return FakeVendors(server: try await LocalHTTPServer.start(router))
    }

    /// Every integration configured against the fake, correctly.
    var environment: [String: String] {
        let base = server.baseURL
        return [
            "GEMINI_API_KEY": "gemini-good-key", "GEMINI_BASE_URL": "\(base)/gemini/v1beta", "MODEL_ID": "models/gemini-2.5-flash",
            "SLACK_BOT_TOKEN": "xoxb-good", "SLACK_CHANNEL": "C111", "SLACK_API_URL": "\(base)/slack/api",
            "JIRA_DOMAIN": "\(base)/jira", "JIRA_USER_EMAIL": "ops@example.com", "JIRA_API_TOKEN": "jira-good", "JIRA_PROJECT_KEY": "ED",
            "DATABRICKS_HOST": "\(base)/databricks", "DATABRICKS_TOKEN": "dapi-good",
            "AZURE_TENANT_ID": "contoso.onmicrosoft.com", "AZURE_CLIENT_ID": "00000000-0000-0000-0000-00000000abcd", "AZURE_CLIENT_SECRET": "azure-good",
            "AZURE_AUTHORITY_HOST": "\(base)/login", "AZURE_MANAGEMENT_URL": "\(base)/management",
            "ADF_SUBSCRIPTION_ID": Self.subscription, "ADF_RESOURCE_GROUP": "rg-data", "ADF_FACTORY_NAME": "adf-prod",
            "AZURE_BLOB_CONTAINER_SAS_URL": "\(base)/blob/rca-archive?sv=2022-11-02&sr=c&sp=rwl&sig=good",
            "TEAMS_WEBHOOK_URL": "\(base)/teams",
        ]
    }
}

@Suite("rca-assistant doctor", .serialized)
struct DoctorTests {
    static func findings(_ environment: [String: String], folder: URL, migrated: Bool = true) async throws -> [DoctorFinding] {
        let configuration = try ServerConfiguration(environment: ["DATA_DIR": folder.path].merging(environment) { $1 })
        if migrated {
            let database = try await ServerStartup.openDatabase(configuration, logger: TestDatabase.quietLogger)
            _ = try await ServerStartup.migrate(database, configuration: configuration)
            await database.close()
        }
        return await Doctor(configuration: configuration, timeout: .seconds(5)).run(logger: TestDatabase.quietLogger)
    }

    @Test("with every integration right, each line is ok, and Teams is named but not called")
    func allRight() async throws {
        let vendors = try await FakeVendors.start()
        defer { Task { await vendors.server.stop() } }
        let testDatabase = try await TestDatabase.make(.sqlite)
        defer { Task { await testDatabase.destroy() } }
        let findings = try await Self.findings(vendors.environment, folder: testDatabase.folder)
        #expect(findings.map(\.integration) == ["Database", "Gemini", "Slack", "Jira", "Databricks", "Azure", "Blob archive", "Teams"])
        #expect(findings.dropLast().allSatisfy { $0.outcome == .ok }, "\(findings.map(\.line))")
        #expect(findings.last?.outcome == .notCalled)
        #expect(findings.contains { $0.line == "Slack: ok: signed in as rca_assistant in Data Platform; channel C111 is readable" })
        #expect(findings.contains { $0.line == "Azure: ok: the service principal can read factory adf-prod" })
    }

    @Test("each integration broken on purpose names the variable to fix", arguments: [
        ("GEMINI_API_KEY", "wrong-key", "Gemini"),
        ("MODEL_ID", "gemini-9-ultra", "Gemini"),
        ("SLACK_BOT_TOKEN", "xoxb-revoked", "Slack"),
        ("SLACK_CHANNEL", "C999", "Slack"),
        ("SLACK_API_URL", "http://127.0.0.1:9/api", "Slack"),
        ("JIRA_API_TOKEN", "expired", "Jira"),
        ("JIRA_PROJECT_KEY", "XX", "Jira"),
        ("DATABRICKS_TOKEN", "dapi-old", "Databricks"),
        ("AZURE_CLIENT_SECRET", "rotated", "Azure"),
        ("AZURE_TENANT_ID", "fabrikam.onmicrosoft.com", "Azure"),
        ("AZURE_CLIENT_ID", "00000000-0000-0000-0000-0000000000ff", "Azure"),
        ("ADF_FACTORY_NAME", "adf-gone", "Azure"),
        ("AZURE_BLOB_CONTAINER_SAS_URL", "SAS:bad", "Blob archive"),
    ])
    func brokenOnPurpose(variable: String, value: String, integration: String) async throws {
        let vendors = try await FakeVendors.start()
        defer { Task { await vendors.server.stop() } }
        let testDatabase = try await TestDatabase.make(.sqlite)
        defer { Task { await testDatabase.destroy() } }
        var environment = vendors.environment
        environment[variable] = value == "SAS:bad" ? "\(vendors.server.baseURL)/blob/rca-archive?sv=2022-11-02&sr=c&sp=rwl&sig=bad" : value
        let findings = try await Self.findings(environment, folder: testDatabase.folder)
        let problems = findings.filter { $0.outcome == .problem }
        #expect(problems.count == 1, "only the broken integration fails: \(problems.map(\.line))")
        let problem = try #require(problems.first)
        #expect(problem.integration == integration && problem.variable == variable, "\(problem.line)")
        #expect(problem.line.hasSuffix("(check \(variable))"))
        if ["GEMINI_API_KEY", "SLACK_BOT_TOKEN", "JIRA_API_TOKEN", "DATABRICKS_TOKEN", "AZURE_CLIENT_SECRET"].contains(variable) {
            #expect(!problem.line.contains(value), "a secret is not printed: \(problem.line)")
        }
        #expect(!problem.line.contains("sig="), "a SAS signature is not printed: \(problem.line)")
    }

    @Test("an OpenAI-compatible endpoint: a refused key and a model it does not list are told apart")
    func openAICompatible() async throws {
        let vendors = try await FakeVendors.start()
        defer { Task { await vendors.server.stop() } }
        let testDatabase = try await TestDatabase.make(.sqlite)
        defer { Task { await testDatabase.destroy() } }
        let base = ["ANALYSIS_ENGINE": "openai", "OPENAI_BASE_URL": "\(vendors.server.baseURL)/openai/v1", "OPENAI_API_KEY": "sk-good", "OPENAI_MODEL": "gpt-4o-mini"]
        func model(_ changes: [String: String]) async throws -> DoctorFinding? {
            try await Self.findings(base.merging(changes) { $1 }, folder: testDatabase.folder).first { $0.integration == "OpenAI-compatible model" }
        }
        #expect(try await model([:])?.outcome == .ok)
        #expect(try await model(["OPENAI_API_KEY": "sk-wrong"])?.variable == "OPENAI_API_KEY")
        let missing = try #require(try await model(["OPENAI_MODEL": "llama-3-70b"]))
        #expect(missing.variable == "OPENAI_MODEL" && missing.message.contains("gpt-4o-mini"))
    }

    @Test("a database that cannot be reached names DATABASE_URL; one not yet migrated says how to migrate")
    func database() async throws {
        let testDatabase = try await TestDatabase.make(.sqlite)
        defer { Task { await testDatabase.destroy() } }
        let unreachable = try await Self.findings(["DATABASE_URL": "postgres://rca:rca@127.0.0.1:9/rca?sslmode=disable"], folder: testDatabase.folder, migrated: false)
        #expect(unreachable.first?.outcome == .problem && unreachable.first?.variable == "DATABASE_URL")
        let fresh = try await Self.findings([:], folder: testDatabase.folder, migrated: false)
        #expect(fresh.first?.outcome == .problem && fresh.first?.message.contains("rca-assistant migrate") == true, "\(fresh.first?.line ?? "")")
        #expect(fresh.dropFirst().map(\.line) == ["Analysis: ok: the built-in rules engine; no model is configured"])
    }
}
