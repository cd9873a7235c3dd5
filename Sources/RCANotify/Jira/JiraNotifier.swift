import AsyncHTTPClient
import Foundation
import NIOHTTP1
import RCACore
import RCASources

/// Opens one Jira issue per ticket (`POST /rest/api/3/issue`, labelled with
/// the ticket id so that an issue created by an attempt that crashed before
/// recording it is found by search instead of created again), and moves it
/// when the ticket moves: acknowledged → a transition to a Done status, in
/// progress → In Progress, reopened → To Do, chosen by status category or by
/// the transition name `JIRA_DONE_TRANSITION`.
public struct JiraNotifier: Notifier {
    public let channel = "jira"
    public let displayName = "Jira"

    private let site: VendorEndpoint?
    private let authorization: String
    private let projectKey: String
    private let issueType: String
    private let doneTransition: String?
    private let http: NotifyHTTP

    public init(
        domain: String, email: String, apiToken: String, projectKey: String, issueType: String = "Task",
        doneTransition: String? = nil, httpClient: HTTPClient, timeout: Duration
    ) {
        site = try? VendorEndpoint(domain)
        authorization = "Basic " + Data("\(email):\(apiToken)".utf8).base64EncodedString()
        self.projectKey = projectKey
        self.issueType = issueType
        self.doneTransition = doneTransition
        http = NotifyHTTP(client: httpClient, timeout: timeout, service: "Jira", secrets: [apiToken, String(authorization.dropFirst(6))])
    }

    public func handles(_ reason: NotificationReason) -> Bool {
        switch reason {
        case .opened, .inProgress, .resolved, .reopened, .corrected: true
        case .acknowledged, .slaBreached, .recurred, .resolvedAtSource, .itsmLinked, .assigned, .noted: false
        }
    }

    static func label(for ticketID: String) -> String { "rca-\(ticketID.lowercased())" }

    public func lookUp(_ ticket: TicketSnapshot) async throws(DeliveryError) -> RemoteReference? {
        let answer = try await http.json(.POST, try url(["rest", "api", "3", "search", "jql"]), headers: headers, body: .object([
            "jql": .string("project = \"\(projectKey)\" AND labels = \"\(Self.label(for: ticket.id))\""),
            "fields": .array(["key"]),
            "maxResults": 1,
        ]))
        guard let key = answer["issues"][0]["key"].string else { return nil }
        return try reference(key)
    }

    public func deliver(_ ticket: TicketSnapshot, reason: NotificationReason, existing: RemoteReference?, payload: Data?) async throws(DeliveryError) -> RemoteReference {
        let issue: RemoteReference
        if let existing {
            issue = existing
            if reason == .corrected { try await rewrite(existing.id, ticket) }
        } else {
            issue = try await create(ticket)
        }
        if let category = Self.statusCategory(for: ticket.status), existing != nil || category != "new" {
            try await move(issue.id, to: category)
        }
        return issue
    }

    private var headers: [(String, String)] { [("Authorization", authorization)] }

    private func create(_ ticket: TicketSnapshot) async throws(DeliveryError) -> RemoteReference {
        let answer = try await http.json(.POST, try url(["rest", "api", "3", "issue"]), headers: headers, body: .object([
            "fields": .object([
                "project": .object(["key": .string(projectKey)]),
                "issuetype": .object(["name": .string(issueType)]),
                "summary": .string(JiraDocument.summary(ticket)),
                "labels": .array(["rca-assistant", .string(Self.label(for: ticket.id))]),
                "description": JiraDocument.description(ticket),
            ]),
        ]))
        guard let key = answer["key"].string else { throw DeliveryError(.retryable(after: nil), "Jira created an issue but returned no key") }
        return try reference(key)
    }

    /// Replaces the issue's summary and description with the corrected analysis (`PUT /rest/api/3/issue/{key}`, 204).
    private func rewrite(_ key: String, _ ticket: TicketSnapshot) async throws(DeliveryError) {
        guard Identifiers.isJiraIssueKey(key) else { throw DeliveryError(.permanent, "the stored Jira issue key is of an unexpected form") }
        _ = try await http.json(.PUT, try url(["rest", "api", "3", "issue", key]), headers: headers, body: .object([
            "fields": .object(["summary": .string(JiraDocument.summary(ticket)), "description": JiraDocument.description(ticket)]),
        ]))
    }

    /// An issue key from Jira's answer or from storage, checked to be one
    /// before it becomes part of any URL.
    private func reference(_ key: String) throws(DeliveryError) -> RemoteReference {
        guard Identifiers.isJiraIssueKey(key) else { throw DeliveryError(.permanent, "Jira named an issue key of an unexpected form") }
        return RemoteReference(id: key, location: try url(["browse", key]))
    }

    private func url(_ segments: [String], query: [(String, String)] = []) throws(DeliveryError) -> String {
        guard let site else { throw DeliveryError(.permanent, "JIRA_DOMAIN is not an http(s) URL or host name") }
        do {
            return try site.url(segments, query: query)
        } catch {
            throw DeliveryError(.permanent, "not sent: \(error.reason)")
        }
    }

    /// The Jira status category a ticket status corresponds to.
    static func statusCategory(for status: String) -> String? {
        switch status {
        case "resolved": "done"
        case "in_progress": "indeterminate"
        case "open", "acknowledged": "new"
        default: nil
        }
    }

    private func move(_ key: String, to category: String) async throws(DeliveryError) {
        guard Identifiers.isJiraIssueKey(key) else { throw DeliveryError(.permanent, "the stored Jira issue key is of an unexpected form") }
        let issue = try await http.json(.GET, try url(["rest", "api", "3", "issue", key], query: [("fields", "status")]), headers: headers)
        if issue["fields"]["status"]["statusCategory"]["key"].string == category { return }
        let answer = try await http.json(.GET, try url(["rest", "api", "3", "issue", key, "transitions"]), headers: headers)
        let transitions = answer["transitions"].array ?? []
        let chosen = transitions.first { category == "done" && doneTransition != nil && $0["name"].string == doneTransition }
            ?? transitions.first { $0["to"]["statusCategory"]["key"].string == category }
        guard let id = chosen?["id"].string else {
            throw DeliveryError(.permanent, "Jira issue \(key) has no transition to a \(category) status (set JIRA_DONE_TRANSITION or check the workflow)")
        }
        _ = try await http.json(.POST, try url(["rest", "api", "3", "issue", key, "transitions"]), headers: headers, body: .object([
            "transition": .object(["id": .string(id)]),
        ]))
    }
}
