import Foundation
import Logging
import NIOHTTP1
import RCAAnalysis
import RCANotify
import RCACore
import RCASources
import RCAStore

/// One line of `rca-assistant doctor`: an integration, how its harmless call
/// went, and the variable to change when it failed.
public struct DoctorFinding: Sendable, Equatable {
    public enum Outcome: String, Sendable {
        case ok
        case problem
        /// Configured, but it has no call that would not post something real.
        case notCalled = "not called"
    }

    public let integration: String
    public let outcome: Outcome
    public let message: String
    /// The variable to fix, for a problem that one setting causes.
    public let variable: String?

    public var line: String {
        let fix = variable.map { " (check \($0))" } ?? ""
        return "\(integration): \(outcome.rawValue): \(message)\(outcome == .problem ? fix : "")"
    }

    static func ok(_ integration: String, _ message: String) -> DoctorFinding {
        DoctorFinding(integration: integration, outcome: .ok, message: message, variable: nil)
    }

    static func problem(_ integration: String, _ message: String, _ variable: String?) -> DoctorFinding {
        DoctorFinding(integration: integration, outcome: .problem, message: message, variable: variable)
    }
}

/// Checks every configured integration with a call that changes nothing
/// (Gemini's model lookup, Slack's `auth.test`, Jira's `myself`…), so that a
/// wrong key or name is found at setup rather than when the first alert
/// needs it. URLs are built from the configuration alone.
public struct Doctor: Sendable {
    let configuration: ServerConfiguration
    let http: VendorHTTP
    let timeout: Duration

    public init(configuration: ServerConfiguration, timeout: Duration = .seconds(10)) {
        self.configuration = configuration
        self.http = VendorHTTP(client: VendorHTTP.sharedClient, timeout: timeout)
        self.timeout = timeout
    }

    /// Every integration's finding, the database's first.
    public func run(logger: Logger) async -> [DoctorFinding] {
        [await database(logger: logger)] + (await integrations())
    }

    /// The findings of the outbound integrations, which `serve` logs at start.
    public func integrations() async -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        if let model = configuration.analysis.model {
            findings.append(await self.model(model))
        } else {
            findings.append(.ok("Analysis", "the built-in rules engine; no model is configured"))
        }
        if let slack = configuration.notifications.slack { findings.append(contentsOf: await self.slack(slack)) }
        if let jira = configuration.notifications.jira { findings.append(contentsOf: await self.jira(jira)) }
        if let databricks = configuration.databricks { findings.append(await self.databricks(databricks.workspace, token: databricks.token)) }
        if let factory = configuration.dataFactory { findings.append(contentsOf: await azure(factory)) }
        if let archive = configuration.notifications.blobArchive { findings.append(await blob(archive.target, variable: archive.variable)) }
        let silent: [(String, Bool)] = [
            ("Teams", configuration.notifications.teamsWebhookURL != nil),
            ("PagerDuty", configuration.notifications.pagerDuty != nil),
            ("Outgoing webhook", configuration.notifications.outgoingWebhook != nil),
        ]
        for (name, configured) in silent where configured {
            findings.append(DoctorFinding(integration: name, outcome: .notCalled, message: "configured; every call would post a real message", variable: nil))
        }
        return findings
    }

    func database(logger: Logger) async -> DoctorFinding {
        let database: Database
        do {
            database = try await ServerStartup.openDatabase(configuration, logger: logger)
        } catch {
            return .problem("Database", error.problem, error.variable)
        }
        defer { Task { await database.close() } }
        do {
            try await Migrator(database: database).checkReady()
            return .ok("Database", "reachable, schema at version \(Migrator.latestVersion)")
        } catch {
            return .problem("Database", error.reason, nil)
        }
    }

    /// An answer, or the finding that says the host could not be reached.
    private func call(
        _ integration: String, _ method: HTTPMethod, _ url: String, headers: [(String, String)], body: Data? = nil, hostVariable: String
    ) async -> Result<VendorHTTP.Exchange, DoctorUnreachable> {
        do {
            return .success(try await http.exchange(method, url, headers: headers, body: body))
        } catch {
            return .failure(DoctorUnreachable(finding: .problem(integration, "cannot reach \(url.split(separator: "?")[0]): \(error.description)", hostVariable)))
        }
    }

    func model(_ model: AnalysisSettings.Model) async -> DoctorFinding {
        switch model {
        case .gemini(let apiKey, let name, let baseURL):
            let modelName = GeminiModel.modelName(name)
            let escaped = modelName.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? modelName
            let answer = await call("Gemini", .GET, "\(VendorHTTP.base(baseURL))/models/\(escaped)", headers: [("x-goog-api-key", apiKey)], hostVariable: "GEMINI_BASE_URL")
            guard case .success(let exchange) = answer else { return answer.unreachable }
            switch exchange.status {
            case 200: return .ok("Gemini", "model \(modelName) answers to this key")
            case 404: return .problem("Gemini", "no model named \(modelName)\(VendorHTTP.snippet(exchange.body))", "MODEL_ID")
            case 400, 401, 403: return .problem("Gemini", "the key was refused (\(exchange.status))\(VendorHTTP.snippet(exchange.body))", "GEMINI_API_KEY")
            default: return .problem("Gemini", "answered \(exchange.status)\(VendorHTTP.snippet(exchange.body))", "GEMINI_BASE_URL")
            }
        case .openAI(let baseURL, let apiKey, let header, let name):
            var headers: [(String, String)] = []
            if let apiKey { headers.append(header.lowercased() == "authorization" ? ("Authorization", "Bearer \(apiKey)") : (header, apiKey)) }
            let answer = await call("OpenAI-compatible model", .GET, "\(VendorHTTP.base(baseURL))/models", headers: headers, hostVariable: "OPENAI_BASE_URL")
            guard case .success(let exchange) = answer else { return answer.unreachable }
            switch exchange.status {
            case 200:
                let listed = (try? JSONValue.parse(exchange.body))?["data"].array?.compactMap { $0["id"].string } ?? []
                guard listed.isEmpty || listed.contains(name) else {
                    return .problem("OpenAI-compatible model", "the endpoint lists no model \(name) (it has \(listed.prefix(5).joined(separator: ", ")))", "OPENAI_MODEL")
                }
                return .ok("OpenAI-compatible model", "the endpoint answers to this key" + (listed.isEmpty ? "" : " and lists \(name)"))
            case 401, 403: return .problem("OpenAI-compatible model", "the key was refused (\(exchange.status))\(VendorHTTP.snippet(exchange.body))", "OPENAI_API_KEY")
            default: return .problem("OpenAI-compatible model", "answered \(exchange.status)\(VendorHTTP.snippet(exchange.body))", "OPENAI_BASE_URL")
            }
        }
    }

    func slack(_ slack: NotificationSettings.Slack) async -> [DoctorFinding] {
        let base = VendorHTTP.base(slack.apiURL)
        let headers = [("Authorization", "Bearer \(slack.botToken)")]
        let auth = await call("Slack", .POST, "\(base)/auth.test", headers: headers, hostVariable: "SLACK_API_URL")
        guard case .success(let exchange) = auth else { return [auth.unreachable] }
        let answer = try? JSONValue.parse(exchange.body)
        guard exchange.status == 200, let answer else {
            return [.problem("Slack", "auth.test answered \(exchange.status)\(VendorHTTP.snippet(exchange.body))", "SLACK_API_URL")]
        }
        guard answer["ok"].bool == true else {
            return [.problem("Slack", "the bot token was refused: \(answer["error"].string ?? "unknown_error")", "SLACK_BOT_TOKEN")]
        }
        let who = "signed in as \(answer["user"].string ?? "the bot") in \(answer["team"].string ?? "the workspace")"
        let channel = SlackNotifier.encode(slack.channel)
        let history = await call("Slack", .GET, "\(base)/conversations.history?channel=\(channel)&limit=1", headers: headers, hostVariable: "SLACK_API_URL")
        guard case .success(let read) = history else { return [history.unreachable] }
        let channelAnswer = try? JSONValue.parse(read.body)
        guard channelAnswer?["ok"].bool == true else {
            let code = channelAnswer?["error"].string ?? "HTTP \(read.status)"
            if code == "missing_scope" {
                return [.problem("Slack", "\(who), but the token lacks channels:history or groups:history (docs/notifications.md)", "SLACK_BOT_TOKEN")]
            }
            return [.problem("Slack", "\(who), but channel \(slack.channel) cannot be read (\(code)); invite the bot to it or fix the id", "SLACK_CHANNEL")]
        }
        return [.ok("Slack", "\(who); channel \(slack.channel) is readable")]
    }

    func jira(_ jira: NotificationSettings.Jira) async -> [DoctorFinding] {
        let base = VendorHTTP.base(jira.domain)
        let credentials = Data("\(jira.email):\(jira.apiToken)".utf8).base64EncodedString()
        let headers = [("Authorization", "Basic \(credentials)"), ("Accept", "application/json")]
        let myself = await call("Jira", .GET, "\(base)/rest/api/3/myself", headers: headers, hostVariable: "JIRA_DOMAIN")
        guard case .success(let me) = myself else { return [myself.unreachable] }
        switch me.status {
        case 200: break
        case 401, 403: return [.problem("Jira", "the e-mail and API token were refused (\(me.status))", "JIRA_API_TOKEN")]
        default: return [.problem("Jira", "/rest/api/3/myself answered \(me.status); is this a Jira Cloud site?", "JIRA_DOMAIN")]
        }
        let who = (try? JSONValue.parse(me.body))?["displayName"].string ?? jira.email
        let key = jira.projectKey.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? jira.projectKey
        let project = await call("Jira", .GET, "\(base)/rest/api/3/project/\(key)", headers: headers, hostVariable: "JIRA_DOMAIN")
        guard case .success(let found) = project else { return [project.unreachable] }
        guard found.status == 200 else {
            return [.problem("Jira", "signed in as \(who), but project \(jira.projectKey) is not visible (\(found.status))", "JIRA_PROJECT_KEY")]
        }
        return [.ok("Jira", "signed in as \(who); project \(jira.projectKey) is visible")]
    }

    func databricks(_ workspace: VendorEndpoint, token: String) async -> DoctorFinding {
        let url = (try? workspace.url(["api", "2.1", "jobs", "list"], query: [("limit", "1")])) ?? workspace.description
        let answer = await call("Databricks", .GET, url, headers: [("Authorization", "Bearer \(token)")], hostVariable: "DATABRICKS_HOST")
        guard case .success(let exchange) = answer else { return answer.unreachable }
        switch exchange.status {
        case 200: return .ok("Databricks", "the token can read jobs at \(workspace.origin)")
        case 401, 403: return .problem("Databricks", "the token was refused (\(exchange.status))", "DATABRICKS_TOKEN")
        default: return .problem("Databricks", "jobs/list answered \(exchange.status)\(VendorHTTP.snippet(exchange.body))", "DATABRICKS_HOST")
        }
    }

    func azure(_ settings: DataFactorySettings) async -> [DoctorFinding] {
        let credentials = settings.credentials
        let tokens = AzureTokenProvider(credentials: credentials, scope: credentials.managementURL.description + "/.default", timeout: timeout)
        let token: String
        do {
            token = try await tokens.token()
        } catch {
            let text = error.description
            let variable = switch error {
            case .timeout, .transport(_): "AZURE_AUTHORITY_HOST"
            case _ where text.contains("AADSTS90002") || text.contains("AADSTS900023"): "AZURE_TENANT_ID"
            case .refused(_): "AZURE_TENANT_ID"
            case _ where text.contains("AADSTS700016"): "AZURE_CLIENT_ID"
            default: "AZURE_CLIENT_SECRET"
            }
            return [.problem("Azure", "no token for the service principal: \(text.split(separator: "\\").first.map(String.init) ?? text)", variable)]
        }
        guard let factory = settings.defaultFactory else {
            return [.ok("Azure", "the service principal gets a management token (no ADF_FACTORY_NAME to check access to)")]
        }
        let url = (try? credentials.managementURL.url(factory.segments, query: [("api-version", "2018-06-01")])) ?? credentials.managementURL.description
        let read = await call("Azure", .GET, url, headers: [("Authorization", "Bearer \(token)")], hostVariable: "AZURE_MANAGEMENT_URL")
        guard case .success(let factoryAnswer) = read else { return [read.unreachable] }
        switch factoryAnswer.status {
        case 200: return [.ok("Azure", "the service principal can read factory \(factory.name)")]
        case 401, 403: return [.problem("Azure", "the service principal may not read factory \(factory.name); give it the Data Factory Contributor or Reader role", "AZURE_CLIENT_ID")]
        case 404: return [.problem("Azure", "factory \(factory.name) was not found in resource group \(factory.resourceGroup)", "ADF_FACTORY_NAME")]
        default: return [.problem("Azure", "the factory read answered \(factoryAnswer.status)", "AZURE_MANAGEMENT_URL")]
        }
    }

    func blob(_ target: BlobArchiveTarget, variable: String) async -> DoctorFinding {
        let archiver = BlobArchiver(target: target, httpClient: VendorHTTP.sharedClient, timeout: timeout)
        do {
            try await archiver.checkContainer()
            return .ok("Blob archive", "the container \(target.containerURL) answers to the \(variable == "AZURE_BLOB_CONTAINER_URL" ? "service principal's token" : "credential")")
        } catch {
            return .problem("Blob archive", error.message, variable)
        }
    }
}

/// A host that could not be reached, as the finding that says so.
struct DoctorUnreachable: Error {
    let finding: DoctorFinding
}

extension Result where Failure == DoctorUnreachable {
    var unreachable: DoctorFinding {
        if case .failure(let failure) = self { return failure.finding }
        return .problem("?", "unexpected answer", nil)
    }
}
