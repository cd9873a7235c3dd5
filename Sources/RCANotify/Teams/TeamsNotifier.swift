import AsyncHTTPClient
import Foundation
import NIOHTTP1
import RCASources

/// Microsoft Teams through a Workflows webhook: an Adaptive Card when a
/// ticket opens, and another when its SLA is breached or it is closed.
/// Workflows cannot edit a posted card, and offer no way to look one up, so a
/// crash between posting and recording can repeat a card.
public struct TeamsNotifier: Notifier {
    public let channel = "teams"
    public let displayName = "Teams"

    private let webhookURL: String
    private let http: NotifyHTTP

    public init(webhookURL: String, httpClient: HTTPClient, timeout: Duration) {
        self.webhookURL = webhookURL
        http = NotifyHTTP(client: httpClient, timeout: timeout, service: "Teams", secrets: NotifyHTTP.secretParts(of: webhookURL))
    }

    public func handles(_ reason: NotificationReason) -> Bool {
        switch reason {
        case .opened, .slaBreached, .resolved: true
        case .acknowledged, .inProgress, .reopened, .recurred, .resolvedAtSource, .itsmLinked, .corrected, .assigned, .noted: false
        }
    }

    /// Adaptive Cards read TextBlock and FactSet text as Markdown, where
    /// `[text](url)` is a link; a zero-width space between `]` and `(`
    /// keeps alert text from making one, without changing what is shown.
    /// (Backslash escapes are rendered differently by each Teams client.)
    static func plain(_ text: String) -> String {
        text.replacingOccurrences(of: "](", with: "]\u{200B}(")
    }

    static func card(_ ticket: TicketSnapshot, reason: NotificationReason) -> JSONValue {
        let title: String = switch reason {
        case .slaBreached: "SLA breached: \(ticket.headline)"
        case .resolved: "Resolved: \(ticket.headline)"
        default: ticket.headline
        }
        let facts: [(String, String?)] = [
            ("Ticket", ticket.id), ("Run ID", ticket.runID), ("Error type", ticket.errorType), ("Confidence", ticket.confidence),
            ("Status", ticket.status), ("SLA", ticket.slaStatus), ("Team", ticket.finopsTeam), ("ITSM", ticket.itsmTicketID),
        ]
        var body: [JSONValue] = [
            .object(["type": "TextBlock", "text": .string(plain(title)), "weight": "Bolder", "size": "Medium", "wrap": true]),
            .object(["type": "FactSet", "facts": .array(facts.compactMap { name, value in
                value.map { .object(["title": .string(name), "value": .string(plain($0))]) }
            })]),
            .object(["type": "TextBlock", "text": .string(plain("Root cause: \(ticket.rootCause ?? "analysis pending")")), "wrap": true]),
        ]
        for (index, step) in ticket.recommendations.enumerated() {
            body.append(.object(["type": "TextBlock", "text": .string(plain("\(index + 1). \(step)")), "wrap": true, "spacing": "Small"]))
        }
        return .object([
            "type": "message",
            "attachments": .array([.object([
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": .object([
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": .array(body),
                    "actions": .array([.object(["type": "Action.OpenUrl", "title": "Open in dashboard", "url": .string(ticket.dashboardURL)])]),
                ]),
            ])]),
        ])
    }

    public func deliver(_ ticket: TicketSnapshot, reason: NotificationReason, existing: RemoteReference?, payload: Data?) async throws(DeliveryError) -> RemoteReference {
        _ = try await http.json(.POST, webhookURL, headers: [], body: Self.card(ticket, reason: reason))
        return RemoteReference(id: "card:\(reason.rawValue)")
    }
}
