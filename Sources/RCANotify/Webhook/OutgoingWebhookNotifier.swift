import AsyncHTTPClient
import Foundation
import NIOHTTP1
import RCACore
import RCASources

/// A generic outgoing webhook for anything else: every change of a ticket is
/// posted as JSON, signed with HMAC-SHA256 (`X-RCA-Signature: sha256=HEX` over
/// `{X-RCA-Timestamp}.{body}`), with an `X-RCA-Delivery` id that stays the same
/// when a delivery is retried, so that receivers can drop repeats.
public struct OutgoingWebhookNotifier: Notifier {
    public let channel = "webhook"
    public let displayName = "Outgoing webhook"

    private let url: String
    private let secret: String
    private let http: NotifyHTTP

    public init(url: String, secret: String, httpClient: HTTPClient, timeout: Duration) {
        self.url = url
        self.secret = secret
        http = NotifyHTTP(client: httpClient, timeout: timeout, service: "the outgoing webhook", secrets: [secret] + NotifyHTTP.secretParts(of: url))
    }

    public func handles(_ reason: NotificationReason) -> Bool { true }

    static func body(_ ticket: TicketSnapshot, reason: NotificationReason) -> JSONValue {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        return .object([
            "event": .string(reason.rawValue),
            "ticket": .object([
                "id": .string(ticket.id), "source": .string(ticket.source), "pipeline": text(ticket.pipeline), "run_id": text(ticket.runID),
                "status": .string(ticket.status), "severity": text(ticket.severity), "priority": text(ticket.priority),
                "sla_status": text(ticket.slaStatus), "error_type": text(ticket.errorType), "category": text(ticket.category),
                "root_cause": text(ticket.rootCause), "confidence": text(ticket.confidence),
                "recommendations": .array(ticket.recommendations.map(JSONValue.string)),
                "occurrence_count": .integer(Int64(ticket.occurrenceCount)), "first_seen": .string(ticket.firstSeen),
                "finops_team": text(ticket.finopsTeam), "itsm_ticket_id": text(ticket.itsmTicketID), "url": .string(ticket.dashboardURL),
                "assignee": text(ticket.assignee), "acknowledged_by": text(ticket.ackUser), "acknowledged_at": text(ticket.ackTs),
                "resolved_by": text(ticket.resolvedUser), "resolved_at": text(ticket.resolvedTs),
            ]),
            "note": ticket.note.map { note in .object(["user": text(note.user), "text": text(note.details), "at": .string(note.timestamp)]) } ?? .null,
        ])
    }

    public static func signature(secret: String, timestamp: String, body: Data) -> String {
        var message = Data("\(timestamp).".utf8)
        message.append(body)
        return "sha256=" + HMACSignature.sha256Hex(secret: secret, message: message)
    }

    public func deliver(_ ticket: TicketSnapshot, reason: NotificationReason, existing: RemoteReference?, payload: Data?) async throws(DeliveryError) -> RemoteReference {
        let body: Data
        do {
            body = try JSONEncoder().encode(Self.body(ticket, reason: reason))
        } catch {
            throw DeliveryError(.permanent, "cannot encode the webhook body")
        }
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let delivery = "\(ticket.id):\(reason.rawValue):\(ticket.status):\(ticket.slaStatus ?? "-"):\(ticket.occurrenceCount)"
        _ = try await http.send(.POST, url, headers: [
            ("Content-Type", "application/json"),
            ("X-RCA-Event", reason.rawValue),
            ("X-RCA-Delivery", delivery),
            ("X-RCA-Timestamp", timestamp),
            ("X-RCA-Signature", Self.signature(secret: secret, timestamp: timestamp, body: body)),
        ], body: body)
        return RemoteReference(id: delivery)
    }
}
