import AsyncHTTPClient
import Foundation
import Hummingbird
import RCACore
import RCANotify
import RCASources
import RCATesting
import Testing

/// Data from an alert or a vendor's answer never chooses the host, path or
/// query of a request that carries a credential.
@Suite("Outbound requests are built, never pasted", .serialized)
struct OutboundRequestTests {
    static let subscription = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"
    static let factory = "/subscriptions/\(subscription)/resourceGroups/data-rg/providers/Microsoft.DataFactory/factories/sales-adf"

    static let validFactoryIDs = [
        factory,
        "/SUBSCRIPTIONS/\(subscription)/resourcegroups/Data_RG.(1)/PROVIDERS/microsoft.datafactory/factories/Sales-ADF-01",
    ]

    @Test("resource ids parse by the ARM grammar, without case", arguments: validFactoryIDs)
    func validResourceIDs(id: String) throws {
        let parsed = try #require(AzureResourceID(id))
        #expect(parsed.isKind("Microsoft.DataFactory", "factories"))
        #expect(parsed.subscriptionID == Self.subscription)
    }

    /// Every shape an attacker holding the webhook token could put in `alertTargetIDs`.
    static let hostileFactoryIDs = [
        "@127.0.0.2:9/factories/x",
        "//127.0.0.2:9/factories/sales-adf",
        "http://127.0.0.2:9/subscriptions/\(subscription)/resourceGroups/rg/providers/Microsoft.DataFactory/factories/sales-adf",
        factory + "?api-version=2099-01-01#",
        factory + "/../../../../providers/Microsoft.Authorization/roleAssignments",
        factory + "/pipelines/x",
        "/subscriptions/\(subscription)/resourceGroups/rg%2F..%2F/providers/Microsoft.DataFactory/factories/sales-adf",
        "/subscriptions/\(subscription)/resourceGroups/../providers/Microsoft.DataFactory/factories/sales-adf",
        "/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.DataFactory/factories/sales-adf",
        "/subscriptions/\(subscription)/resourceGroups/rg/providers/Microsoft.DataFactory/factories/sales adf",
        "/subscriptions/\(subscription)/resourceGroups/rg/providers/Microsoft.DataFactory/factories/a--b",
        "/subscriptions/\(subscription)/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/salesadf",
        "/subscriptions/\(subscription)/resourceGroups/rg/providers/Microsoft.DataFactory/factories/x@127.0.0.2",
    ]

    @Test("an endpoint encodes each segment and query value whole and refuses dot segments")
    func endpointBuildsURLs() throws {
        let endpoint = try VendorEndpoint("http://127.0.0.1:8080/base/")
        #expect(try endpoint.url(["a/b", "c?d#e", "@x:1"], query: [("k", "v&w=1")])
            == "http://127.0.0.1:8080/base/a%2Fb/c%3Fd%23e/%40x%3A1?k=v%26w%3D1")
        #expect(throws: EndpointError.self) { try endpoint.url(["runs", ".."]) }
        #expect(throws: EndpointError.self) { try endpoint.url([""]) }
        #expect(throws: EndpointError.self) { try endpoint.checkOwns("http://127.0.0.2:8080/base/x") }
        #expect(throws: EndpointError.self) { try endpoint.checkOwns("http://user@127.0.0.1:8080/base") }
        #expect(throws: EndpointError.self) { try endpoint.checkOwns("https://127.0.0.1:8080/base") }
        #expect(throws: EndpointError.self) { try VendorEndpoint("https://host/x?token=1") }
        #expect(throws: EndpointError.self) { try VendorEndpoint("ftp://host") }
        #expect(try VendorEndpoint("adb-1.2.azuredatabricks.net").origin == "https://adb-1.2.azuredatabricks.net")
    }

    /// A management API that answers everything, a token endpoint, and a
    /// second host (127.0.0.2) that no request may reach.
    struct Hosts {
        let management: ScriptedAnswers
        let elsewhere: ScriptedAnswers
        let managementServer: LocalHTTPServer
        let elsewhereServer: LocalHTTPServer

        static func start() async throws -> Hosts {
            let management = ScriptedAnswers()
            let elsewhere = ScriptedAnswers()
            management.always("/tenant-1/oauth2/v2.0/token", .init(body: #"{"access_token":"arm-token-secret","expires_in":3599}"#))
            let managementServer = try await LocalHTTPServer.start(management.anyPathRouter())
            let elsewhereServer = try await LocalHTTPServer.start(elsewhere.anyPathRouter(), host: "127.0.0.2")
            return Hosts(management: management, elsewhere: elsewhere, managementServer: managementServer, elsewhereServer: elsewhereServer)
        }

        func stop() async {
            await managementServer.stop()
            await elsewhereServer.stop()
        }

        func dataFactory(allowed: Set<String>? = nil) throws -> DataFactoryClient {
            let endpoint = try VendorEndpoint(managementServer.baseURL)
            let credentials = AzureCredentials(tenantID: "tenant-1", clientID: "app", clientSecret: "s", authorityHost: endpoint, managementURL: endpoint)
            return DataFactoryClient(credentials: credentials, defaultFactory: nil, allowedFactories: allowed, httpClient: VendorHTTP.sharedClient, timeout: .seconds(5))
        }
    }

    static func pipelineRequest(factory: String) -> EnrichmentRequest {
        .dataFactoryPipeline(name: "DailySalesLoad", factoryResourceID: factory, windowStart: Date(timeIntervalSince1970: 0), windowEnd: Date())
    }

    @Test("a hostile factory id in an alert is refused before any request, the token one included")
    func hostileFactoryIDs() async throws {
        let hosts = try await Hosts.start()
        let client = try hosts.dataFactory()
        for id in Self.hostileFactoryIDs.map({ $0.replacingOccurrences(of: "127.0.0.2:9", with: "127.0.0.2:\(hosts.elsewhereServer.port)") }) {
            await #expect(throws: EnrichmentError.self, "\(id)") { try await client.enrich(Self.pipelineRequest(factory: id)) }
            do {
                _ = try await client.enrich(Self.pipelineRequest(factory: id))
            } catch {
                #expect(error.description.hasPrefix("not called"), "\(id): \(error)")
            }
        }
        #expect(hosts.elsewhere.received.isEmpty)
        #expect(hosts.management.received.isEmpty)
        await hosts.stop()
    }

    @Test("a run id in Data Factory's answer that is not a GUID never becomes a path")
    func hostileRunIDInAnswer() async throws {
        let hosts = try await Hosts.start()
        hosts.management.always(Self.factory + "/queryPipelineRuns", .init(body: #"{"value":[{"runId":"../../../providers/x?y=1","status":"Failed"}]}"#))
        let client = try hosts.dataFactory()
        await #expect(throws: EnrichmentError.invalidResponse("Data Factory named a run id that is not a GUID")) {
            try await client.enrich(Self.pipelineRequest(factory: Self.factory))
        }
        #expect(hosts.management.received.map(\.path) == ["/tenant-1/oauth2/v2.0/token", Self.factory + "/queryPipelineRuns"])
        await hosts.stop()
    }

    @Test("a redirect from the management API is not followed, so the token stays with the configured host")
    func redirectNotFollowed() async throws {
        let hosts = try await Hosts.start()
        var headers = HTTPFields()
        headers[.location] = hosts.elsewhereServer.baseURL + "/steal"
        hosts.management.always(Self.factory + "/queryPipelineRuns", .init(.temporaryRedirect, body: "{}", headers: headers))
        let client = try hosts.dataFactory()
        await #expect(throws: EnrichmentError.self) { try await client.enrich(Self.pipelineRequest(factory: Self.factory)) }
        #expect(hosts.elsewhere.received.isEmpty)
        await hosts.stop()
    }

    @Test("a redirect from Slack is not followed either: no request, token or not, reaches another host")
    func notifierRedirectNotFollowed() async throws {
        let hosts = try await Hosts.start()
        var headers = HTTPFields()
        headers[.location] = hosts.elsewhereServer.baseURL + "/api/chat.postMessage"
        hosts.management.always("/api/chat.postMessage", .init(.found, body: "{}", headers: headers))
        hosts.management.always("/api/conversations.history", .init(body: #"{"ok":true,"messages":[],"has_more":false}"#))
        let slack = SlackNotifier(
            token: "xoxb-secret-bot-token", channel: "C1", apiURL: hosts.managementServer.baseURL + "/api",
            httpClient: VendorHTTP.sharedClient, timeout: .seconds(5), pacing: .zero
        )
        let ticket = NotificationTextTests.snapshot(rootCause: "r", errorMessage: "e")
        await #expect(throws: DeliveryError.self) { try await slack.deliver(ticket, reason: .opened, existing: nil, payload: nil) }
        #expect(hosts.elsewhere.received.isEmpty)
        await hosts.stop()
    }

    @Test("an issue key from Jira that is not a key never becomes a path")
    func hostileJiraKey() async throws {
        let jira = ScriptedAnswers()
        jira.always("/rest/api/3/search/jql", .init(body: #"{"issues":[{"key":"../../../admin?x=1"}]}"#))
        let server = try await LocalHTTPServer.start(jira.anyPathRouter())
        let notifier = JiraNotifier(domain: server.baseURL, email: "bot@example.com", apiToken: "jira-token", projectKey: "OPS", httpClient: VendorHTTP.sharedClient, timeout: .seconds(5))
        let ticket = NotificationTextTests.snapshot(rootCause: "r", errorMessage: "e")
        await #expect(throws: DeliveryError.self) { try await notifier.lookUp(ticket) }
        await #expect(throws: DeliveryError.self) {
            try await notifier.deliver(ticket, reason: .acknowledged, existing: RemoteReference(id: "OPS-1/../../x"), payload: nil)
        }
        #expect(jira.received.map(\.path) == ["/rest/api/3/search/jql"])
        await server.stop()
    }

    @Test("ADF_ALLOWED_FACTORIES refuses another factory, by name or id, and lets a listed one through")
    func allowList() async throws {
        let hosts = try await Hosts.start()
        hosts.management.always(Self.factory + "/queryPipelineRuns", .init(body: #"{"value":[]}"#))
        let client = try hosts.dataFactory(allowed: ["SALES-ADF"])
        let other = Self.factory.replacingOccurrences(of: "sales-adf", with: "finance-adf")
        await #expect(throws: EnrichmentError.refused("factory finance-adf is not in ADF_ALLOWED_FACTORIES")) {
            try await client.enrich(Self.pipelineRequest(factory: other))
        }
        await #expect(throws: EnrichmentError.self) { try await client.enrich(Self.pipelineRequest(factory: Self.factory)) }
        #expect(hosts.management.count(Self.factory + "/queryPipelineRuns") == 1)
        await hosts.stop()
    }

    @Test("a Databricks run id that is not an integer is refused before any request", arguments: [
        "1&run_id=2", "../../2.0/secrets/list", "12#", "-5", "0", "99999999999999999999", "١٢٣",
    ])
    func hostileDatabricksRunIDs(runID: String) async throws {
        let workspace = ScriptedAnswers()
        let server = try await LocalHTTPServer.start(workspace.anyPathRouter())
        let client = DatabricksJobsClient(workspace: try VendorEndpoint(server.baseURL), token: "dapi-secret", httpClient: VendorHTTP.sharedClient)
        await #expect(throws: EnrichmentError.self) { try await client.enrich(.databricksRun(runID: runID)) }
        #expect(workspace.received.isEmpty)
        await server.stop()
    }
}
