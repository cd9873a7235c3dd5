import Foundation
import RCACore
import SQLKit

/// Why an assignment or a note was refused.
public enum CollaborationError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case isRecurrence(of: String)
    /// Only enabled responders and admins can own a ticket.
    case notAResponder(String)

    public var description: String {
        switch self {
        case .notFound(let id): "no ticket \(id)"
        case .isRecurrence(let open): "this ticket is a recurrence folded into \(open); use that ticket instead"
        case .notAResponder(let user): "\(user) is not an enabled responder or admin of this RCA Assistant"
        }
    }
}

/// A note written on a ticket, kept as an audit line so that it is part of
/// the ticket's history and of every export of it.
public struct TicketNote: Sendable, Equatable {
    public static let auditAction = "Note"

    public let auditID: Int64
    public let ticketID: String
    public let user: String
    public let text: String
    public let at: String
}

/// Who owns a ticket and what responders wrote on it: each change in one
/// transaction with its audit line and whatever `alongside` queues
/// (notifications, live events).
public struct TicketCollaboration: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Gives the ticket to `assignee` (an enabled responder or admin), or to
    /// nobody when nil. Returns the previous owner.
    @discardableResult
    public func assign(
        ticketID: String,
        to assignee: String?,
        by user: String,
        now: Date = Date(),
        alongside: @escaping @Sendable (any SQLDatabase) async throws -> Void = { _ in }
    ) async throws -> String? {
        let nowText = Timestamp.string(from: now)
        return try await database.transaction { sql in
            let previous = try await Self.lockable(ticketID, on: sql)
            if let assignee {
                let role = try await sql.raw(
                    "SELECT role FROM users WHERE email = \(bind: assignee) AND disabled = \(unsafeRaw: database.dialect.falseLiteral)"
                ).first()?.decode(column: "role", as: String.self)
                guard let role, let rank = UserRole(rawValue: role), rank >= .responder else { throw CollaborationError.notAResponder(assignee) }
            }
            try await sql.raw("UPDATE tickets SET assignee = \(bind: assignee), updated_at = \(bind: nowText) WHERE id = \(bind: ticketID)").run()
            let details = switch (assignee, previous) {
            case (let owner?, let before?): "assigned to \(owner) (was \(before))"
            case (let owner?, nil): "assigned to \(owner)"
            case (nil, let before?): "unassigned (was \(before))"
            case (nil, nil): "unassigned"
            }
            try await TicketWorkflow.audit(ticketID: ticketID, action: assignee == nil ? "Unassigned" : "Assigned", user: user, details: details, now: nowText, on: sql)
            try await alongside(sql)
            return previous
        }
    }

    /// Adds a note to the ticket's history.
    public func addNote(
        ticketID: String,
        text: String,
        by user: String,
        now: Date = Date(),
        alongside: @escaping @Sendable (TicketNote, any SQLDatabase) async throws -> Void = { _, _ in }
    ) async throws -> TicketNote {
        let nowText = Timestamp.string(from: now)
        return try await database.transaction { sql in
            _ = try await Self.lockable(ticketID, on: sql)
            try await sql.raw("UPDATE tickets SET updated_at = \(bind: nowText) WHERE id = \(bind: ticketID)").run()
            guard let id = try await TicketWorkflow.audit(
                ticketID: ticketID, action: TicketNote.auditAction, user: user, details: text, now: nowText, on: sql
            ) else { throw CollaborationError.notFound(ticketID) }
            let note = TicketNote(auditID: id, ticketID: ticketID, user: user, text: text, at: nowText)
            try await alongside(note, sql)
            return note
        }
    }

    /// The note with this audit id, for the delivery that posts it.
    public func note(auditID: Int64) async throws -> TicketNote? {
        try await database.read { sql in
            guard let row = try await sql.raw(
                """
                SELECT id, ticket_id, user_name, details, timestamp FROM audit_trail
                WHERE id = \(bind: auditID) AND action = \(bind: TicketNote.auditAction)
                """
            ).first() else { return nil }
            return TicketNote(
                auditID: try row.decode(column: "id", as: Int64.self), ticketID: try row.decode(column: "ticket_id", as: String.self),
                user: try row.decode(column: "user_name", as: String?.self) ?? "", text: try row.decode(column: "details", as: String?.self) ?? "",
                at: try row.decode(column: "timestamp", as: String.self)
            )
        }
    }

    /// The ticket's current owner, after checking it exists and is not a recurrence.
    private static func lockable(_ ticketID: String, on sql: any SQLDatabase) async throws -> String? {
        guard let row = try await sql.raw("SELECT assignee, recurrence_of FROM tickets WHERE id = \(bind: ticketID)").first() else {
            throw CollaborationError.notFound(ticketID)
        }
        if let open = try row.decode(column: "recurrence_of", as: String?.self) { throw CollaborationError.isRecurrence(of: open) }
        return try row.decode(column: "assignee", as: String?.self)
    }
}
