import AsyncHTTPClient
import Foundation
import NIOHTTP1
import RCASources

/// PagerDuty Events API v2: a ticket triggers an alert whose `dedup_key` is
/// the ticket id, so a repeated trigger is merged by PagerDuty itself; taking
/// the ticket in hand acknowledges it and closing it resolves it.
public struct PagerDutyNotifier: Notifier {
    public static let defaultEventsURL = "https://events.pagerduty.com/v2/enqueue"
    public let channel = "pagerduty"
    public let displayName = "PagerDuty"

    private let routingKey: String
    private let eventsURL: String
    private let http: NotifyHTTP

    public init(routingKey: String, eventsURL: String = defaultEventsURL, httpClient: HTTPClient, timeout: Duration) {
        self.routingKey = routingKey
        self.eventsURL = eventsURL
        http = NotifyHTTP(client: httpClient, timeout: timeout, service: "PagerDuty", secrets: [routingKey])
    }

    public func handles(_ reason: NotificationReason) -> Bool {
        switch reason {
        case .opened, .acknowledged, .inProgress, .resolved, .reopened: true
        case .slaBreached, .recurred, .resolvedAtSource, .itsmLinked, .corrected, .assigned, .noted: false
        }
    }

    static func severity(_ severity: String?) -> String {
        switch severity {
        case "Critical": "critical"
        case "High": "error"
        case "Medium": "warning"
        default: "info"
        }
    }

    static func action(for status: String) -> String {
        switch status {
        case "acknowledged", "in_progress": "acknowledge"
        case "resolved": "resolve"
        default: "trigger"
        }
    }

    public func deliver(_ ticket: TicketSnapshot, reason: NotificationReason, existing: RemoteReference?, payload: Data?) async throws(DeliveryError) -> RemoteReference {
        let action = Self.action(for: ticket.status)
        var event: [String: JSONValue] = [
            "routing_key": .string(routingKey),
            "event_action": .string(action),
            "dedup_key": .string(ticket.id),
        ]
        if action == "trigger" {
            var details: [String: JSONValue] = ["ticket": .string(ticket.id), "root_cause": .string(ticket.rootCause ?? "analysis pending")]
            if let errorType = ticket.errorType { details["error_type"] = .string(errorType) }
            if let team = ticket.finopsTeam { details["team"] = .string(team) }
            if let run = ticket.runID { details["run_id"] = .string(run) }
            event["payload"] = .object([
                "summary": .string(SlackMessage.limit("\(ticket.headline): \(ticket.errorType ?? "failure")", 1024)),
                "source": .string(ticket.pipeline ?? ticket.source),
                "severity": .string(Self.severity(ticket.severity)),
                "component": .string(ticket.pipeline ?? ticket.source),
                "class": .string(ticket.category ?? "unknown"),
                "custom_details": .object(details),
            ])
            event["links"] = .array([.object(["href": .string(ticket.dashboardURL), "text": "Open in RCA Assistant"])])
        }
        let answer = try await http.json(.POST, eventsURL, headers: [], body: .object(event))
        guard answer["status"].string == "success" else {
            throw DeliveryError(.permanent, "PagerDuty did not accept the event: \(answer["message"].string ?? "no message")")
        }
        return RemoteReference(id: answer["dedup_key"].string ?? ticket.id)
    }
}
