import AsyncHTTPClient
import Foundation
import RCANotify
import RCASources

/// Which notification channels are on, and how to reach them. A channel is
/// on when its required variables are set; a partly configured channel
/// stops the start with the missing variable's name.
public struct NotificationSettings: Sendable {
    public struct Slack: Sendable {
        public var botToken: String
        public var channel: String
        public var apiURL: String
        /// Verifies `POST /slack/interactions`; without it the buttons are refused.
        public var signingSecret: String?
        /// Least time between two calls for one channel (Slack allows about one message a second).
        public var pacingMilliseconds: Int
    }

    public struct Jira: Sendable {
        public var domain: String
        public var email: String
        public var apiToken: String
        public var projectKey: String
        public var issueType: String
        public var doneTransition: String?
        /// Checks `X-Hub-Signature` on `POST /webhook/jira` when set.
        public var webhookSecret: String?
    }

    public var slack: Slack?
    public var jira: Jira?
    public var teamsWebhookURL: String?
    public var pagerDuty: (routingKey: String, eventsURL: String)?
    public var outgoingWebhook: (url: String, secret: String)?
    /// The payload archive's container and credential (`AZURE_BLOB_CONTAINER_SAS_URL`,
    /// `AZURE_STORAGE_CONNECTION_STRING` with `AZURE_BLOB_CONTAINER`, or
    /// `AZURE_BLOB_CONTAINER_URL` with the service principal).
    public var blobArchive: (target: BlobArchiveTarget, variable: String)?
    public var timeoutSeconds: Int
}

extension NotificationSettings {
    /// `azureCredentials`: the service principal, read once with Data Factory's settings.
    init(_ reader: VariableReader, azureCredentials: AzureCredentials?) throws(ConfigurationError) {
        slack = try Self.group(reader, required: ["SLACK_BOT_TOKEN", "SLACK_CHANNEL"]).map { values throws(ConfigurationError) in
            Slack(
                botToken: values[0], channel: values[1],
                apiURL: try reader.url("SLACK_API_URL", default: SlackNotifier.defaultAPIURL),
                signingSecret: reader.optional("SLACK_SIGNING_SECRET"),
                pacingMilliseconds: try reader.integer("SLACK_PACING_MS", default: 1000, range: 0...60000)
            )
        }
        jira = try Self.group(reader, required: ["JIRA_DOMAIN", "JIRA_USER_EMAIL", "JIRA_API_TOKEN", "JIRA_PROJECT_KEY"]).map { values throws(ConfigurationError) in
            _ = try reader.endpoint("JIRA_DOMAIN", default: values[0])
            return Jira(
                domain: values[0], email: values[1], apiToken: values[2], projectKey: values[3],
                issueType: reader.string("JIRA_ISSUE_TYPE", default: "Task"),
                doneTransition: reader.optional("JIRA_DONE_TRANSITION"),
                webhookSecret: reader.optional("JIRA_WEBHOOK_SECRET")
            )
        }
        teamsWebhookURL = try reader.optional("TEAMS_WEBHOOK_URL").map { _ throws(ConfigurationError) in
            try reader.url("TEAMS_WEBHOOK_URL", default: "")
        }
        pagerDuty = try reader.optional("PAGERDUTY_ROUTING_KEY").map { key throws(ConfigurationError) in
            (key, try reader.url("PAGERDUTY_EVENTS_URL", default: PagerDutyNotifier.defaultEventsURL))
        }
        outgoingWebhook = try Self.group(reader, required: ["OUTGOING_WEBHOOK_URL", "OUTGOING_WEBHOOK_SECRET"]).map { values throws(ConfigurationError) in
            (try reader.url("OUTGOING_WEBHOOK_URL", default: ""), values[1])
        }
        blobArchive = try Self.blobArchive(reader, azureCredentials: azureCredentials)
        timeoutSeconds = try reader.integer("NOTIFY_TIMEOUT_SECONDS", default: 10, range: 1...120)
    }

    /// The archive's container from whichever of its three forms is set; more than one is a mistake.
    private static func blobArchive(
        _ reader: VariableReader, azureCredentials: AzureCredentials?
    ) throws(ConfigurationError) -> (target: BlobArchiveTarget, variable: String)? {
        let forms = ["AZURE_BLOB_CONTAINER_SAS_URL", "AZURE_STORAGE_CONNECTION_STRING", "AZURE_BLOB_CONTAINER_URL"].filter { reader.optional($0) != nil }
        guard let variable = forms.first else { return nil }
        guard forms.count == 1 else {
            throw ConfigurationError(variable: forms[1], problem: "set only one of AZURE_BLOB_CONTAINER_SAS_URL, AZURE_STORAGE_CONNECTION_STRING and AZURE_BLOB_CONTAINER_URL")
        }
        let value = reader.optional(variable) ?? ""
        switch variable {
        case "AZURE_BLOB_CONTAINER_SAS_URL":
            guard let target = BlobArchiveTarget(containerSASURL: value) else {
                throw ConfigurationError(variable: variable, problem: "expected a container SAS URL such as https://ACCOUNT.blob.core.windows.net/CONTAINER?sv=…&sig=…")
            }
            return (target, variable)
        case "AZURE_STORAGE_CONNECTION_STRING":
            guard let container = reader.optional("AZURE_BLOB_CONTAINER") else {
                throw ConfigurationError(variable: "AZURE_BLOB_CONTAINER", problem: "is required with AZURE_STORAGE_CONNECTION_STRING (the container's name)")
            }
            do {
                return (try BlobArchiveTarget(connectionString: value, container: container), variable)
            } catch {
                throw ConfigurationError(variable: error.concernsContainerName ? "AZURE_BLOB_CONTAINER" : variable, problem: error.description)
            }
        default:
            guard let credentials = azureCredentials else {
                throw ConfigurationError(variable: "AZURE_CLIENT_ID", problem: "AZURE_BLOB_CONTAINER_URL needs the service principal: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET")
            }
            do {
                return (try BlobArchiveTarget(containerURL: value, credentials: credentials), variable)
            } catch {
                throw ConfigurationError(variable: variable, problem: error.description)
            }
        }
    }

    /// The values of variables that go together: all set, or none (nil).
    private static func group(_ reader: VariableReader, required names: [String]) throws(ConfigurationError) -> [String]? {
        let values = names.map { reader.optional($0) }
        if values.allSatisfy({ $0 == nil }) { return nil }
        if let missing = zip(names, values).first(where: { $0.1 == nil })?.0 {
            throw ConfigurationError(variable: missing, problem: "is required with \(names.joined(separator: ", "))")
        }
        return values.map { $0! }
    }
}
