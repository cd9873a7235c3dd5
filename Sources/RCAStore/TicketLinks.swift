import Foundation
import RCACore
import SQLKit

/// How two tickets are related. A link is stored once, from the ticket that
/// found it to the one it found, and read in both directions.
public enum TicketRelation: String, Sendable, Codable, CaseIterable {
    /// The same failure of the same pipeline while the earlier ticket was still open.
    case recurrenceOf = "recurrence_of"
    /// The same failure of the same pipeline after the earlier ticket was closed.
    case recurredAfterFix = "recurred_after_fix"
    /// A failure whose error names the other ticket's Databricks run.
    case namesRun = "names_run"
    /// Failures on the same Databricks cluster at about the same time.
    case sameCluster = "same_cluster"
}

/// One link as seen from a ticket.
public struct TicketLink: Sendable, Equatable, Codable {
    public let ticketID: String
    public let relation: TicketRelation
    /// True when this ticket made the link (for `recurrenceOf`: this one is the recurrence).
    public let outgoing: Bool
    public let createdAt: String

    enum CodingKeys: String, CodingKey {
        case relation, outgoing
        case ticketID = "ticket_id"
        case createdAt = "created_at"
    }
}

/// Reads and writes links between tickets.
public struct TicketLinks: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Records a link unless it exists already.
    public static func link(_ ticketID: String, to relatedID: String, as relation: TicketRelation, on sql: any SQLDatabase) async throws {
        guard ticketID != relatedID else { return }
        try await sql.raw(
            """
            INSERT INTO ticket_links (ticket_id, related_id, relation, created_at)
            VALUES (\(bind: ticketID), \(bind: relatedID), \(bind: relation.rawValue), \(bind: Timestamp.now()))
            ON CONFLICT DO NOTHING
            """
        ).run()
    }

    /// Every link of a ticket, both directions, oldest first.
    public func links(of ticketID: String) async throws -> [TicketLink] {
        try await database.read { sql in
            let rows = try await sql.raw(
                """
                SELECT related_id AS other, relation, 1 AS outgoing, created_at FROM ticket_links WHERE ticket_id = \(bind: ticketID)
                UNION ALL
                SELECT ticket_id AS other, relation, 0 AS outgoing, created_at FROM ticket_links WHERE related_id = \(bind: ticketID)
                ORDER BY created_at, other
                """
            ).all()
            return try rows.compactMap { row in
                guard let relation = TicketRelation(rawValue: try row.decode(column: "relation", as: String.self)) else { return nil }
                return TicketLink(
                    ticketID: try row.decode(column: "other", as: String.self),
                    relation: relation,
                    outgoing: try row.decode(column: "outgoing", as: Int.self) == 1,
                    createdAt: try row.decode(column: "created_at", as: String.self)
                )
            }
        }
    }
}
