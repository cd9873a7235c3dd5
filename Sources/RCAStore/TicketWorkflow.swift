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

    public var description: String {
        switch self {
        case .notFound(let id): "no ticket \(id)"
        case .notAllowed(let from, let to): "a ticket cannot go from \(from.rawValue) to \(to.rawValue)"
        case .isRecurrence(let open): "this ticket is a recurrence folded into \(open); change that ticket instead"
        case .conflict(let now): "the ticket changed meanwhile and is now \(now.rawValue); reload it"
        }
    }
}

/// The result of a status change, for the answer and the live update.
public struct StatusChange: Sendable, Equatable {
    public let ticketID: String
    public let from: TicketStatus
    public let to: TicketStatus
    public let slaStatus: String?
    public let ackSeconds: Int?
}

/// Moves tickets through open → in progress → acknowledged (and back to open
/// for a reopen), recording who, when, how long it took and whether the SLA
/// was met, with an audit line, in one transaction. A change races safely
/// with others: it only applies to the status it was decided from.
public struct TicketWorkflow: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Whether `from → to` is a step of the workflow; reopening is checked for role by the caller.
    public static func allows(from: TicketStatus, to: TicketStatus) -> Bool {
        switch (from, to) {
        case (.open, .inProgress), (.open, .acknowledged), (.inProgress, .acknowledged), (.inProgress, .open), (.acknowledged, .open): true
        default: false
        }
    }

    /// Applies the change; `alongside` runs in the same transaction (to queue the notifications it causes).
    public func change(
        ticketID: String,
        to target: TicketStatus,
        by user: String,
        note: String? = nil,
        now: Date = Date(),
        alongside: @escaping @Sendable (StatusChange, any SQLDatabase) async throws -> Void = { _, _ in }
    ) async throws -> StatusChange {
        let nowText = Timestamp.string(from: now)
        return try await database.transaction { sql in
            guard let row = try await sql.raw(
                "SELECT status, first_seen, sla_status, sla_deadline, recurrence_of FROM tickets WHERE id = \(bind: ticketID)"
            ).first() else { throw StatusChangeError.notFound(ticketID) }
            if let open = try row.decode(column: "recurrence_of", as: String?.self) { throw StatusChangeError.isRecurrence(of: open) }
            let current = TicketStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open
            guard Self.allows(from: current, to: target) else { throw StatusChangeError.notAllowed(from: current, to: target) }
            let firstSeen = Timestamp.date(from: try row.decode(column: "first_seen", as: String.self)) ?? now
            let elapsed = max(0, Int(now.timeIntervalSince(firstSeen).rounded()))
            let previousSLA = try row.decode(column: "sla_status", as: String?.self)
            let deadline = try row.decode(column: "sla_deadline", as: String?.self)
            var slaStatus = previousSLA
            var ackSeconds: Int?
            let update: SQLQueryString
            switch target {
            case .inProgress:
                update = """
                    UPDATE tickets SET status = 'in_progress', in_progress_user = \(bind: user), in_progress_ts = \(bind: nowText),
                        response_seconds = COALESCE(response_seconds, \(bind: elapsed)), updated_at = \(bind: nowText)
                    WHERE id = \(bind: ticketID) AND status = \(bind: current.rawValue) RETURNING id
                    """
            case .acknowledged:
                ackSeconds = elapsed
                if previousSLA != "Breached" { slaStatus = deadline.map { nowText <= $0 ? "Met" : "Breached" } ?? "Met" }
                update = """
                    UPDATE tickets SET status = 'acknowledged', ack_user = \(bind: user), ack_ts = \(bind: nowText),
                        ack_seconds = \(bind: elapsed), response_seconds = COALESCE(response_seconds, \(bind: elapsed)),
                        sla_status = \(bind: slaStatus), updated_at = \(bind: nowText)
                    WHERE id = \(bind: ticketID) AND status = \(bind: current.rawValue) RETURNING id
                    """
            case .open:
                if previousSLA == "Met" { slaStatus = "Pending" }
                update = """
                    UPDATE tickets SET status = 'open', ack_user = NULL, ack_ts = NULL, ack_seconds = NULL,
                        sla_status = \(bind: slaStatus), updated_at = \(bind: nowText)
                    WHERE id = \(bind: ticketID) AND status = \(bind: current.rawValue) RETURNING id
                    """
            }
            guard try await sql.raw(update).first() != nil else { throw StatusChangeError.conflict(now: current) }
            let action: String
            var details: String
            switch target {
            case .inProgress:
                action = "In Progress"
                details = "taken in hand after \(Self.duration(elapsed))"
            case .acknowledged:
                action = "Acknowledged"
                details = "closed after \(Self.duration(elapsed)); SLA \(slaStatus ?? "n/a")"
            case .open:
                action = "Reopened"
                details = "back to open from \(current.rawValue)"
            }
            if let note, !note.isEmpty { details += "; \(note)" }
            try await sql.raw(
                """
                INSERT INTO audit_trail (timestamp, ticket_id, pipeline, run_id, action, user_name, time_taken_seconds, mttr_minutes,
                                         sla_status, rca_summary, finops_team, finops_owner, details, itsm_ticket_id)
                SELECT \(bind: nowText), id, pipeline, run_id, \(bind: action), \(bind: user), \(bind: ackSeconds),
                       \(bind: ackSeconds.map { Double($0) / 60 }), sla_status, rca_result, finops_team, finops_owner, \(bind: details), itsm_ticket_id
                FROM tickets WHERE id = \(bind: ticketID)
                """
            ).run()
            let change = StatusChange(ticketID: ticketID, from: current, to: target, slaStatus: slaStatus, ackSeconds: ackSeconds)
            try await alongside(change, sql)
            return change
        }
    }

    static func duration(_ seconds: Int) -> String {
        if seconds < 120 { return "\(seconds) s" }
        if seconds < 7200 { return "\(seconds / 60) min" }
        return String(format: "%.1f h", Double(seconds) / 3600)
    }
}
