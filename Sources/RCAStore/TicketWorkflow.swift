import Foundation
import RCACore
import SQLKit

/// Why a status change was refused.
public enum StatusChangeError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case notAllowed(from: TicketStatus, to: TicketStatus)
    case isRecurrence(of: String)
    /// Someone else changed the ticket first.
    case conflict(now: TicketStatus)
    /// Reopening a resolved ticket is for admins.
    case reopenNeedsAdmin

    public var description: String {
        switch self {
        case .notFound(let id): "no ticket \(id)"
        case .notAllowed(let from, let to): "a ticket cannot go from \(from.rawValue) to \(to.rawValue)"
        case .isRecurrence(let open): "this ticket is a recurrence folded into \(open); change that ticket instead"
        case .conflict(let now): "the ticket changed meanwhile and is now \(now.rawValue); reload it"
        case .reopenNeedsAdmin: "only an admin can reopen a resolved ticket"
        }
    }
}

/// The result of a status change, for the answer and the live update.
public struct StatusChange: Sendable, Equatable {
    public let ticketID: String
    public let from: TicketStatus
    public let to: TicketStatus
    public let slaStatus: String?
    /// Seconds from first seen to the acknowledgement (MTTA), once acknowledged.
    public let ackSeconds: Int?
    /// Seconds from first seen to the resolution (MTTR), once resolved.
    public let resolveSeconds: Int?
    public let assignee: String?
}

/// Moves tickets through open → acknowledged → in progress → resolved (and
/// back to open), recording who, when, how long it took and whether the SLA
/// was met, with an audit line, in one transaction. Acknowledging, starting
/// work and resolving all stop the SLA-to-acknowledge clock; the first of
/// them is the acknowledgement (MTTA), resolving is the resolution (MTTR).
/// A change races safely with others: it only applies to the status it was
/// decided from.
public struct TicketWorkflow: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Whether `from → to` is a step of the workflow; reopening a resolved ticket also needs `mayReopen` in `change`.
    public static func allows(from: TicketStatus, to: TicketStatus) -> Bool {
        switch (from, to) {
        case (.open, .acknowledged), (.open, .inProgress), (.open, .resolved),
             (.acknowledged, .inProgress), (.acknowledged, .resolved), (.acknowledged, .open),
             (.inProgress, .acknowledged), (.inProgress, .resolved), (.inProgress, .open),
             (.resolved, .open): true
        default: false
        }
    }

    /// Applies the change; `note` is the resolution note when resolving, an
    /// explanation otherwise. `alongside` runs in the same transaction (to
    /// queue the notifications it causes).
    public func change(
        ticketID: String,
        to target: TicketStatus,
        by user: String,
        note: String? = nil,
        now: Date = Date(),
        mayReopen: Bool = true,
        alongside: @escaping @Sendable (StatusChange, any SQLDatabase) async throws -> Void = { _, _ in }
    ) async throws -> StatusChange {
        let nowText = Timestamp.string(from: now)
        let note = note.flatMap { $0.isEmpty ? nil : $0 }
        return try await database.transaction { sql in
            guard let row = try await sql.raw(
                """
                SELECT status, first_seen, sla_status, sla_deadline, recurrence_of, ack_seconds, assignee FROM tickets WHERE id = \(bind: ticketID)
                """
            ).first() else { throw StatusChangeError.notFound(ticketID) }
            if let open = try row.decode(column: "recurrence_of", as: String?.self) { throw StatusChangeError.isRecurrence(of: open) }
            let current = TicketStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open
            guard Self.allows(from: current, to: target) else { throw StatusChangeError.notAllowed(from: current, to: target) }
            if current == .resolved, !mayReopen { throw StatusChangeError.reopenNeedsAdmin }
            let firstSeen = Timestamp.date(from: try row.decode(column: "first_seen", as: String.self)) ?? now
            let elapsed = max(0, Int(now.timeIntervalSince(firstSeen).rounded()))
            let previousSLA = try row.decode(column: "sla_status", as: String?.self)
            let deadline = try row.decode(column: "sla_deadline", as: String?.self)
            var slaStatus = previousSLA
            var ackSeconds = try row.decode(column: "ack_seconds", as: Int?.self)
            var resolveSeconds: Int?
            var assignee = try row.decode(column: "assignee", as: String?.self)
            let settling = current.slaClockRuns && !target.slaClockRuns
            if settling {
                ackSeconds = elapsed
                assignee = assignee ?? user
                if previousSLA != "Breached" { slaStatus = deadline.map { nowText <= $0 ? "Met" : "Breached" } ?? "Met" }
            }
            var update: SQLQueryString = "UPDATE tickets SET status = \(bind: target.rawValue), updated_at = \(bind: nowText)"
            if settling {
                update += """
                    , ack_user = \(bind: user), ack_ts = \(bind: nowText), ack_seconds = \(bind: elapsed),
                    response_seconds = COALESCE(response_seconds, \(bind: elapsed)), sla_status = \(bind: slaStatus), assignee = \(bind: assignee)
                    """
            }
            switch target {
            case .inProgress:
                update += ", in_progress_user = \(bind: user), in_progress_ts = \(bind: nowText)"
            case .resolved:
                resolveSeconds = elapsed
                update += ", resolved_user = \(bind: user), resolved_ts = \(bind: nowText), resolve_seconds = \(bind: elapsed), resolution_note = \(bind: note)"
            case .open:
                ackSeconds = nil
                assignee = nil
                if previousSLA == "Met" { slaStatus = "Pending" }
                update += """
                    , ack_user = NULL, ack_ts = NULL, ack_seconds = NULL, assignee = NULL, resolved_user = NULL, resolved_ts = NULL,
                    resolve_seconds = NULL, resolution_note = NULL, sla_status = \(bind: slaStatus)
                    """
            case .acknowledged:
                break
            }
            update += " WHERE id = \(bind: ticketID) AND status = \(bind: current.rawValue) RETURNING id"
            guard try await sql.raw(update).first() != nil else { throw StatusChangeError.conflict(now: current) }
            let action: String
            var details: String
            let sla = settling ? "; SLA \(slaStatus ?? "n/a")" : ""
            switch target {
            case .acknowledged:
                action = "Acknowledged"
                details = settling ? "acknowledged after \(Self.duration(elapsed))\(sla)" : "work paused, still owned by \(assignee ?? user)"
            case .inProgress:
                action = "In Progress"
                details = "taken in hand after \(Self.duration(elapsed))\(sla)"
            case .resolved:
                action = "Resolved"
                details = "resolved after \(Self.duration(elapsed))\(sla)"
            case .open:
                action = current == .resolved ? "Reopened" : "Released"
                details = "back to open from \(current.rawValue)"
            }
            if let note { details += target == .resolved ? "; resolution: \(note)" : "; \(note)" }
            try await Self.audit(ticketID: ticketID, action: action, user: user, details: details, seconds: target == .resolved ? resolveSeconds : (settling ? ackSeconds : nil), now: nowText, on: sql)
            let change = StatusChange(
                ticketID: ticketID, from: current, to: target, slaStatus: slaStatus, ackSeconds: ackSeconds, resolveSeconds: resolveSeconds, assignee: assignee
            )
            try await alongside(change, sql)
            return change
        }
    }

    /// Writes an audit line copying the ticket's reporting columns, as the
    /// prototype's audit trail kept them; returns its id, nil when there is no such ticket.
    @discardableResult
    static func audit(
        ticketID: String, action: String, user: String, details: String, seconds: Int? = nil, now: String, on sql: any SQLDatabase
    ) async throws -> Int64? {
        try await sql.raw(
            """
            INSERT INTO audit_trail (timestamp, ticket_id, pipeline, run_id, action, user_name, time_taken_seconds, mttr_minutes,
                                     sla_status, rca_summary, finops_team, finops_owner, details, itsm_ticket_id)
            SELECT \(bind: now), id, pipeline, run_id, \(bind: action), \(bind: user), \(bind: seconds),
                   \(bind: seconds.map { Double($0) / 60 }), sla_status, rca_result, finops_team, finops_owner, \(bind: details), itsm_ticket_id
            FROM tickets WHERE id = \(bind: ticketID) RETURNING id
            """
        ).first()?.decode(column: "id", as: Int64.self)
    }

    static func duration(_ seconds: Int) -> String {
        if seconds < 120 { return "\(seconds) s" }
        if seconds < 7200 { return "\(seconds / 60) min" }
        return String(format: "%.1f h", Double(seconds) / 3600)
    }
}
