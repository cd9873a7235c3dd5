import Foundation
import Logging
import RCACore
import RCANotify
import RCAStore
import SQLKit

/// Delivers one notification: renders the ticket's current state and hands
/// it to the channel's notifier, then records the remote object (Slack ts,
/// Jira key, blob URL) on the ticket in the same commit as the audit line.
/// At least once, effects once: before creating, it uses the reference
/// recorded by an earlier delivery or, when an earlier attempt was started
/// and not recorded, asks the channel to look for what that attempt made.
struct NotifyJobHandler: JobHandler {
    let database: Database
    let notifiers: [String: any Notifier]
    /// Queues the updates a delivery causes: a new Jira key is shown in the Slack message.
    let outbox: Outbox
    let dashboardURL: String
    let logger: Logger
    /// How long one delivery may hold its ticket and channel.
    let lease: Duration

    func run(_ job: ClaimedJob, completion: JobCompletion) async throws {
        guard let payload = try? JSONDecoder().decode(Outbox.Payload.self, from: Data(job.payload.utf8)) else {
            throw JobFailure.permanent("the job's payload is not a notification")
        }
        guard let notifier = notifiers[payload.channel] else {
            throw JobFailure.permanent("the \(payload.channel) channel is not configured any more")
        }
        guard var current = try await snapshot(payload.ticket_id) else { return }
        if payload.reason == .noted {
            guard let noteID = payload.note_id, let note = try await TicketCollaboration(database: database).note(auditID: noteID) else {
                throw JobFailure.permanent("the note to post is gone")
            }
            current.note = AuditLine(timestamp: note.at, action: TicketNote.auditAction, user: note.user, details: Redactor.redact(note.text))
        }
        let deliveries = DeliveryStore(database: database)
        guard let record = try await deliveries.acquire(ticketID: current.id, channel: notifier.channel, for: lease) else {
            throw JobFailure.retryAfter(.seconds(2), "another worker is delivering to \(notifier.displayName) for \(current.id)")
        }
        let payloadBytes = notifier.needsRawPayload && payload.reason == .opened ? try await rawPayload(current.id) : nil
        if payloadBytes != nil {
            current.auditTrail = try await TicketStore(database: database).audit(ticketID: current.id).map { entry in
                AuditLine(timestamp: entry.timestamp, action: entry.action, user: entry.userName, details: entry.details.map(Redactor.redact))
            }
        }
        let ticket = current
        do {
            var existing = record.remoteID.map { RemoteReference(id: $0, location: record.location) }
            if existing == nil, record.attempts > 1, let found = try await notifier.lookUp(ticket) {
                existing = found
                logger.notice("found a remote object an earlier attempt made", metadata: ["ticket_id": "\(ticket.id)", "channel": "\(notifier.channel)"])
            }
            let reference = try await notifier.deliver(ticket, reason: payload.reason, existing: existing, payload: payloadBytes)
            let action = Self.action(notifier, created: existing == nil, reason: payload.reason)
            try await deliveries.recordSuccess(
                DeliverySuccess(
                    ticketID: ticket.id, channel: notifier.channel, remoteID: reference.id, location: reference.location,
                    reason: payload.reason.rawValue, auditAction: action, auditDetails: "\(payload.reason.rawValue): \(reference.location ?? reference.id)"
                ),
                completing: completion
            )
            if notifier.channel == "jira", existing == nil {
                _ = try await database.transaction { sql in
                    try await outbox.enqueue(ticketID: ticket.id, reason: .itsmLinked, skipping: notifier.channel, on: sql)
                }
            }
        } catch let error as DeliveryError {
            let verb = record.remoteID == nil && payload.reason == .opened ? Self.creationWord(notifier) : "Update"
            try await database.transaction { sql in
                try await DeliveryStore.recordFailure(ticketID: ticket.id, channel: notifier.channel, error: error.message, on: sql)
                try await TicketStore.appendAudit(ticketID: ticket.id, action: "\(notifier.displayName) \(verb) Failed: \(error.message)", details: "attempt \(job.attempt)", on: sql)
            }
            switch error.kind {
            case .permanent: throw JobFailure.permanent(error.message)
            case .retryable(let after?): throw JobFailure.retryAfter(after, error.message)
            case .retryable(nil): throw RetryableDelivery(message: error.message)
            }
        } catch {
            try? await database.transaction { sql in
                try await DeliveryStore.recordFailure(ticketID: ticket.id, channel: notifier.channel, error: "\(error)", on: sql)
            }
            throw error
        }
    }

    /// The audit action of a successful delivery.
    static func action(_ notifier: any Notifier, created: Bool, reason: NotificationReason) -> String {
        switch (notifier.channel, created) {
        case ("jira", true): "Jira Ticket Created"
        case ("jira", false): "Jira Ticket Updated"
        case ("slack", true): "Slack Notification Sent"
        case ("slack", false) where reason == .noted: "Note Posted To Slack"
        case ("slack", false): "Slack Message Updated"
        case ("blob", _): "Payload Archived"
        default: "\(notifier.displayName) Notified"
        }
    }

    static func creationWord(_ notifier: any Notifier) -> String {
        notifier.channel == "jira" ? "Creation" : "Delivery"
    }

    private func rawPayload(_ ticketID: String) async throws -> Data? {
        try await database.read { sql in
            try await sql.raw(
                "SELECT p.body FROM raw_payloads p JOIN tickets t ON t.raw_payload_id = p.id WHERE t.id = \(bind: ticketID)"
            ).first()?.decode(column: "body", as: Data.self)
        }
    }

    /// The ticket as notifiers show it, read in one statement; nil for a
    /// recurrence (its open ticket speaks for it) or a deleted ticket.
    private func snapshot(_ id: String) async throws -> TicketSnapshot? {
        let row = try await database.read { sql in
            try await sql.reusable(
                """
                SELECT t.*, (SELECT COUNT(*) FROM tickets r WHERE r.recurrence_of = t.id) AS recurrences
                FROM tickets t WHERE t.id = \(bind: id)
                """
            ).first()
        }
        guard let row else { return nil }
        let ticket = try row.decode(model: TicketRecord.self)
        guard ticket.recurrenceOf == nil else { return nil }
        let recommendations = ticket.recommendations.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
        return TicketSnapshot(
            id: ticket.id, source: ticket.source, pipeline: ticket.pipeline, runID: ticket.runID, status: ticket.status,
            severity: ticket.severity, priority: ticket.priority, slaStatus: ticket.slaStatus, slaSeconds: ticket.slaSeconds,
            errorType: ticket.errorType, category: ticket.category, rootCause: ticket.rcaResult, confidence: ticket.confidence,
            recommendations: recommendations, errorMessage: ticket.errorMessage, occurrenceCount: ticket.occurrenceCount,
            recurrences: try row.decode(column: "recurrences", as: Int.self), sourceStatus: ticket.sourceStatus,
            firstSeen: ticket.firstSeen, ackUser: try row.decode(column: "ack_user", as: String?.self),
            finopsTeam: ticket.finopsTeam, finopsOwner: ticket.finopsOwner, finopsCostCenter: ticket.finopsCostCenter,
            itsmTicketID: ticket.itsmTicketID,
            dashboardURL: "\(dashboardURL)/dashboard#ticket=\(ticket.id)", ackTs: try row.decode(column: "ack_ts", as: String?.self),
            assignee: try row.decode(column: "assignee", as: String?.self), resolvedUser: try row.decode(column: "resolved_user", as: String?.self),
            resolvedTs: try row.decode(column: "resolved_ts", as: String?.self)
        ).redacted()
    }
}

/// A delivery that failed for a reason that may pass; the runner retries it with backoff.
struct RetryableDelivery: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
