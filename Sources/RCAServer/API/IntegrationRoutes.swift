import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RCACore
import RCANotify
import RCASources
import RCAStore
import SQLKit

/// What comes back from Slack and Jira: Slack's buttons
/// (`POST /slack/interactions`, signed with the app's signing secret) and
/// Jira's issue webhooks (`POST /webhook/jira`, signed with
/// `JIRA_WEBHOOK_SECRET`). Each channel has its own secret: the alert
/// senders' webhook token moves no ticket, and without its secret a route is
/// not served at all. Both move tickets through the same path as the dashboard.
struct IntegrationRoutes: Sendable {
    let database: Database
    let changes: StatusChanges
    let slackSigningSecret: String?
    let jira: NotificationSettings.Jira?
    /// Wrong signatures per address, shared by both routes; past the limit
    /// an address's requests are refused with 429 until the window passes.
    let signatureGuesses: GuessThrottle
    let clients: ClientAddresses
    let logger: Logger

    static let maxBodyBytes = 1 << 20

    struct Answer: ResponseEncodable {
        let status: String
        let detail: String
    }

    func register(on router: Router<AppRequestContext>) {
        if let secret = slackSigningSecret {
            router.post("/slack/interactions") { request, context in try await slack(request, context: context, secret: secret) }
        }
        if let jira, let secret = jira.webhookSecret {
            router.post("/webhook/jira") { request, context in try await jiraWebhook(request, context: context, secret: secret) }
        }
    }

    /// Refuses an address that sent too many wrong signatures, before its body is read.
    private func refuseIfLocked(_ address: String) throws {
        if let wait = signatureGuesses.knownRetryAfter(address) { throw Self.lockedOut(wait) }
    }

    /// Counts a wrong signature and throws: 429 past the limit, else `refusal`.
    private func wrongSignature(_ address: String, _ refusal: APIError) async throws -> Never {
        if let wait = try await signatureGuesses.recordFailure(address) { throw Self.lockedOut(wait) }
        throw refusal
    }

    private static func lockedOut(_ wait: TimeInterval) -> APIError {
        APIError.throttled("too many requests with a wrong signature from this address", wait: wait)
    }

    private static func body(_ request: Request) async throws -> Data {
        var request = request
        do {
            return Data(try await request.collectBody(upTo: maxBodyBytes).readableBytesView)
        } catch {
            throw APIError(.contentTooLarge, "the body is over \(maxBodyBytes) bytes")
        }
    }

    private func slack(_ request: Request, context: AppRequestContext, secret: String) async throws -> Answer {
        let address = clients.throttleKey(peer: context.remoteAddress?.ipAddress, headers: request.headers)
        try refuseIfLocked(address)
        let body = try await Self.body(request)
        do {
            try SlackSignature.verify(
                secret: secret,
                timestamp: request.headers[HTTPField.Name("X-Slack-Request-Timestamp")!],
                signature: request.headers[HTTPField.Name("X-Slack-Signature")!],
                body: body
            )
        } catch {
            try await wrongSignature(address, APIError(.unauthorized, "Slack signature check failed: \(error.description)"))
        }
        let form = String(decoding: body, as: UTF8.self)
        guard let encoded = form.split(separator: "&").first(where: { $0.hasPrefix("payload=") })?.dropFirst(8),
              let text = String(encoded).replacingOccurrences(of: "+", with: " ").removingPercentEncoding,
              let payload = try? JSONValue.parse(Data(text.utf8))
        else { throw APIError(.badRequest, "expected a form field payload holding Slack's JSON") }
        guard payload["type"].string == "block_actions", let action = payload["actions"][0].object else {
            return Answer(status: "ignored", detail: "only block_actions are handled")
        }
        let target: TicketStatus
        switch action["action_id"]?.string {
        case SlackMessage.acknowledgeActionID: target = .acknowledged
        case SlackMessage.inProgressActionID: target = .inProgress
        case SlackMessage.resolveActionID: target = .resolved
        default: return Answer(status: "ignored", detail: "not one of RCA Assistant's buttons")
        }
        guard let ticketID = action["value"]?.string else { throw APIError(.badRequest, "the button carries no ticket id") }
        let user = payload["user"]["username"].string ?? payload["user"]["name"].string ?? payload["user"]["id"].string ?? "unknown"
        do {
            let change = try await changes.apply(ticketID: ticketID, to: target, by: "slack:\(user)", note: "from Slack", origin: "slack")
            return Answer(status: "applied", detail: "\(ticketID) is now \(change.to.rawValue)")
        } catch let error as StatusChangeError {
            try await TicketStore(database: database).appendAudit(ticketID: ticketID, action: "Slack Action Refused", details: error.description, user: "slack:\(user)")
            return Answer(status: "ignored", detail: error.description)
        }
    }

    private func jiraWebhook(_ request: Request, context: AppRequestContext, secret: String) async throws -> Answer {
        let address = clients.throttleKey(peer: context.remoteAddress?.ipAddress, headers: request.headers)
        try refuseIfLocked(address)
        let body = try await Self.body(request)
        let expected = "sha256=" + HMACSignature.sha256Hex(secret: secret, message: body)
        guard let given = request.headers[HTTPField.Name("X-Hub-Signature")!], ConstantTime.equals(given.lowercased(), expected) else {
            try await wrongSignature(
                address,
                APIError(.unauthorized, "the X-Hub-Signature header is missing or does not match JIRA_WEBHOOK_SECRET; set the same secret on the Jira webhook")
            )
        }
        let event: JSONValue
        do {
            event = try JSONValue.parse(body)
        } catch {
            throw APIError(.badRequest, "the body is not JSON: \(error.description)")
        }
        guard let key = event["issue"]["key"].string else { return Answer(status: "ignored", detail: "the event names no issue") }
        let statusChanged = (event["changelog"]["items"].array ?? []).contains { $0["field"].string == "status" }
        guard event["webhookEvent"].string == "jira:issue_updated", statusChanged else {
            return Answer(status: "ignored", detail: "only status changes of issues are applied")
        }
        guard let ticketID = try await ticket(forIssue: key) else { return Answer(status: "ignored", detail: "\(key) is not an RCA Assistant issue") }
        let statusName = event["issue"]["fields"]["status"]["name"].string ?? "?"
        let user = event["user"]["displayName"].string ?? event["user"]["name"].string ?? "Jira"
        let target: TicketStatus? = switch event["issue"]["fields"]["status"]["statusCategory"]["key"].string {
        case "done": .resolved
        case "indeterminate": .inProgress
        case "new": .open
        default: nil
        }
        guard let target else {
            logger.warning("Jira status without a known category", metadata: ["issue": "\(key)", "status": "\(statusName)"])
            try await TicketStore(database: database).appendAudit(ticketID: ticketID, action: "Jira Status Unmapped", details: "\(key) moved to \(statusName), which has no known status category", user: "jira:\(user)")
            return Answer(status: "ignored", detail: "status \(statusName) has no known category")
        }
        guard let current = try await TicketStore(database: database).find(id: ticketID), current.status != target.rawValue else {
            return Answer(status: "ignored", detail: "\(ticketID) is already \(target.rawValue)")
        }
        do {
            let change = try await changes.apply(ticketID: ticketID, to: target, by: "jira:\(user)", note: "\(key) moved to \(statusName)", origin: "jira")
            return Answer(status: "applied", detail: "\(ticketID) is now \(change.to.rawValue)")
        } catch let error as StatusChangeError {
            try await TicketStore(database: database).appendAudit(ticketID: ticketID, action: "Jira Status Not Applied", details: "\(key) moved to \(statusName): \(error.description)", user: "jira:\(user)")
            return Answer(status: "ignored", detail: error.description)
        }
    }

    private func ticket(forIssue key: String) async throws -> String? {
        try await database.read { sql in
            try await sql.raw("SELECT id FROM tickets WHERE itsm_ticket_id = \(bind: key) LIMIT 1").first()?.decode(column: "id", as: String.self)
        }
    }
}
