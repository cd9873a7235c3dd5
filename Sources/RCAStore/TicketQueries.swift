import Foundation
import RCACore
import SQLKit

/// The lists of the dashboard, by ticket status: open holds the tickets
/// nobody works on yet (open and acknowledged), closed the resolved ones
/// (the prototype's name), all every ticket (for a search across lists).
public enum TicketTab: String, Sendable, CaseIterable {
    case open
    case inProgress = "in-progress"
    case closed
    case all

    var statuses: [TicketStatus] {
        switch self {
        case .open: [.open, .acknowledged]
        case .inProgress: [.inProgress]
        case .closed: [.resolved]
        case .all: TicketStatus.allCases
        }
    }
}

/// Narrows a list to what a responder is looking for; every field is
/// optional and they combine with AND. The same filters drive the CSV export.
public struct TicketFilters: Sendable, Equatable {
    public var source: String?
    public var severity: String?
    public var priority: String?
    public var team: String?
    public var slaStatus: String?
    /// Who owns the ticket; the empty string asks for tickets nobody owns.
    public var assignee: String?
    /// First seen at or after this instant.
    public var since: String?
    /// First seen before this instant.
    public var until: String?

    public init(
        source: String? = nil, severity: String? = nil, priority: String? = nil, team: String? = nil, slaStatus: String? = nil,
        assignee: String? = nil, since: String? = nil, until: String? = nil
    ) {
        self.source = source
        self.severity = severity
        self.priority = priority
        self.team = team
        self.slaStatus = slaStatus
        self.assignee = assignee
        self.since = since
        self.until = until
    }

    func apply(to query: inout SQLQueryString) {
        for (column, value) in [("source", source), ("severity", severity), ("priority", priority), ("finops_team", team), ("sla_status", slaStatus)] {
            if let value { query += " AND \(ident: column) = \(bind: value)" }
        }
        switch assignee {
        case nil: break
        case ""?: query += " AND assignee IS NULL"
        case let owner?: query += " AND assignee = \(bind: owner)"
        }
        if let since { query += " AND first_seen >= \(bind: since)" }
        if let until { query += " AND first_seen < \(bind: until)" }
    }
}

/// How a list is ordered. Every order ends with the ticket id, so that pages
/// are stable and a cursor names one position exactly.
public enum TicketSort: String, Sendable, CaseIterable {
    /// Most urgent first (P1 before P2), oldest first within a priority.
    case priority
    case newest
    case oldest
}

/// One page of a ticket list.
public struct TicketPageRequest: Sendable, Equatable {
    public static let maximumLimit = 200

    public var tab: TicketTab
    public var sort: TicketSort
    public var limit: Int
    /// Where the previous page ended (`next_cursor` of its answer).
    public var cursor: String?
    /// Text to find in the ticket id, pipeline, error type or root cause.
    public var search: String?
    /// Only the tickets of this platform run id.
    public var runID: String?
    public var filters: TicketFilters

    public init(
        tab: TicketTab, sort: TicketSort, limit: Int, cursor: String? = nil, search: String? = nil, runID: String? = nil,
        filters: TicketFilters = TicketFilters()
    ) {
        self.tab = tab
        self.sort = sort
        self.limit = limit
        self.cursor = cursor
        self.search = search
        self.runID = runID
        self.filters = filters
    }
}

/// A ticket as lists show it.
public struct TicketListItem: Sendable, Equatable, Codable {
    public let id: String
    /// When the failure happened, as the source reported it (the prototype's field).
    public let timestamp: String
    /// The same time under its own name, beside `first_seen` (when we received it).
    public let occurredAt: String
    public let source: String
    public let pipeline: String?
    public let runID: String?
    public let status: String
    public let severity: String?
    public let priority: String?
    public let slaStatus: String?
    public let slaSeconds: Int?
    public let slaDeadline: String?
    public let errorType: String?
    public let category: String?
    public let rootCause: String?
    public let confidence: String?
    public let analysisState: String
    public let occurrenceCount: Int
    public let firstSeen: String
    public let lastSeen: String
    public let ackUser: String?
    public let ackTs: String?
    public let ackSeconds: Int?
    public let finopsTeam: String?
    public let itsmTicketID: String?
    public let assignee: String?
    public let resolvedUser: String?
    public let resolvedTs: String?
    public let resolveSeconds: Int?
    public let resolutionNote: String?
    /// The severity the sender gave, when it gave one.
    public let reportedSeverity: String?
    /// Why the severity differs from the sender's, when it does.
    public let severityReason: String?

    enum CodingKeys: String, CodingKey {
        case id, timestamp, source, pipeline, status, severity, priority, category, confidence
        case runID = "run_id"
        case slaStatus = "sla_status"
        case slaSeconds = "sla_seconds"
        case slaDeadline = "sla_deadline"
        case errorType = "error_type"
        case rootCause = "rca_result"
        case analysisState = "analysis_state"
        case occurrenceCount = "occurrence_count"
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
        case ackUser = "ack_user"
        case ackTs = "ack_ts"
        case ackSeconds = "ack_seconds"
        case finopsTeam = "finops_team"
        case itsmTicketID = "itsm_ticket_id"
        case assignee
        case resolvedUser = "resolved_user"
        case resolvedTs = "resolved_ts"
        case resolveSeconds = "resolve_seconds"
        case resolutionNote = "resolution_note"
        case reportedSeverity = "reported_severity"
        case severityReason = "severity_reason"
        case occurredAt = "occurred_at"
    }

    static let columns = """
        id, timestamp, timestamp AS occurred_at, source, pipeline, run_id, status, severity, priority, sla_status, sla_seconds, sla_deadline, error_type, category,
        rca_result, confidence, analysis_state, occurrence_count, first_seen, last_seen, ack_user, ack_ts, ack_seconds,
        finops_team, itsm_ticket_id, assignee, resolved_user, resolved_ts, resolve_seconds, resolution_note, reported_severity, severity_reason
        """
}

/// A page of tickets and where the next one starts (nil on the last page).
public struct TicketPage: Sendable, Equatable, Codable {
    public let tickets: [TicketListItem]
    public let nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case tickets
        case nextCursor = "next_cursor"
    }
}

/// A list request the store cannot answer as asked.
public enum TicketQueryError: Error, Equatable, CustomStringConvertible {
    case invalidCursor
    case invalidLimit(Int)

    public var description: String {
        switch self {
        case .invalidCursor: "the cursor is not one this server gave out; start again without it"
        case .invalidLimit(let limit): "limit must be from 1 to \(TicketPageRequest.maximumLimit), got \(limit)"
        }
    }
}

/// The dashboard's read queries: lists with keyset pagination, so that a
/// page costs the same at the millionth ticket as at the first.
public struct TicketQueries: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// One page of a list. A list of several statuses reads each status's
    /// own index range (already in the list's order, at most one page each)
    /// and merges them, so that a page costs the same whatever the number of
    /// tickets: one range over `status IN (…)` would sort every match.
    public func page(_ request: TicketPageRequest) async throws -> TicketPage {
        guard (1...TicketPageRequest.maximumLimit).contains(request.limit) else { throw TicketQueryError.invalidLimit(request.limit) }
        let position = try request.cursor.map(Self.decodeCursor)
        switch (request.sort, position?.count) {
        case (.priority, 3?), (.newest, 2?), (.oldest, 2?), (_, nil): break
        default: throw TicketQueryError.invalidCursor
        }
        let order = switch request.sort {
        case .priority: "priority_key, first_seen, id"
        case .newest: "first_seen DESC, id DESC"
        case .oldest: "first_seen, id"
        }
        let statuses = request.tab.statuses
        var query: SQLQueryString
        if statuses.count == 1 {
            query = rangeQuery(request, status: statuses[0], position: position, order: order)
        } else {
            query = ""
            for (index, status) in statuses.enumerated() {
                if index > 0 { query += " UNION ALL " }
                query += "SELECT * FROM (\(rangeQuery(request, status: status, position: position, order: order))) AS \(unsafeRaw: "s\(index)")"
            }
            query += " ORDER BY \(unsafeRaw: order) LIMIT \(literal: request.limit + 1)"
        }
        let finalQuery = query
        let rows = try await database.read { sql in try await sql.raw(finalQuery).all() }
        let items = try rows.prefix(request.limit).map { try $0.decode(model: TicketListItem.self) }
        var next: String?
        if rows.count > request.limit, let last = items.last {
            let key = try rows[request.limit - 1].decode(column: "priority_key", as: String.self)
            next = Self.encodeCursor(request.sort == .priority ? [key, last.firstSeen, last.id] : [last.firstSeen, last.id])
        }
        return TicketPage(tickets: items, nextCursor: next)
    }

    /// The first `limit + 1` tickets of one status after `position`, in the list's order.
    private func rangeQuery(_ request: TicketPageRequest, status: TicketStatus, position: [String]?, order: String) -> SQLQueryString {
        var query: SQLQueryString = """
            SELECT \(unsafeRaw: TicketListItem.columns), COALESCE(priority, 'P9') AS priority_key FROM tickets
            WHERE status = \(bind: status.rawValue) AND recurrence_of IS NULL
            """
        request.filters.apply(to: &query)
        if let search = request.search?.trimmingCharacters(in: .whitespaces), !search.isEmpty {
            let pattern = "%" + Self.escapeLike(search) + "%"
            let like = database.dialect.caseInsensitiveLike
            query += """
                 AND (id \(unsafeRaw: like) \(bind: pattern) ESCAPE '\\' OR pipeline \(unsafeRaw: like) \(bind: pattern) ESCAPE '\\'
                      OR error_type \(unsafeRaw: like) \(bind: pattern) ESCAPE '\\' OR rca_result \(unsafeRaw: like) \(bind: pattern) ESCAPE '\\')
                """
        }
        if let runID = request.runID {
            query += " AND run_id = \(bind: runID)"
        }
        if let position {
            switch request.sort {
            case .priority: query += " AND (COALESCE(priority, 'P9'), first_seen, id) > (\(bind: position[0]), \(bind: position[1]), \(bind: position[2]))"
            case .newest: query += " AND (first_seen, id) < (\(bind: position[0]), \(bind: position[1]))"
            case .oldest: query += " AND (first_seen, id) > (\(bind: position[0]), \(bind: position[1]))"
            }
        }
        let indexOrder = request.sort == .priority ? "COALESCE(priority, 'P9'), first_seen, id" : order
        query += " ORDER BY \(unsafeRaw: indexOrder) LIMIT \(literal: request.limit + 1)"
        return query
    }

    /// The newest ticket of a platform run id, in any state: whether an alert
    /// for that run would be a duplicate.
    public func newest(runID: String) async throws -> TicketListItem? {
        try await database.read { sql in
            try await sql.raw(
                "SELECT \(unsafeRaw: TicketListItem.columns) FROM tickets WHERE run_id = \(bind: runID) ORDER BY first_seen DESC, id DESC LIMIT 1"
            ).first(decoding: TicketListItem.self)
        }
    }

    /// One ticket as lists show it.
    public func item(id: String) async throws -> TicketListItem? {
        try await database.read { sql in
            try await sql.raw("SELECT \(unsafeRaw: TicketListItem.columns) FROM tickets WHERE id = \(bind: id)").first(decoding: TicketListItem.self)
        }
    }

    /// Columns of a ticket that only its detail view shows.
    public struct Extras: Sendable, Equatable, Decodable {
        public let fingerprint: String?
        public let autoHealPossible: Bool?
        public let slackChannel: String?
        public let slackTs: String?

        enum CodingKeys: String, CodingKey {
            case fingerprint
            case autoHealPossible = "auto_heal_possible"
            case slackChannel = "slack_channel"
            case slackTs = "slack_ts"
        }
    }

    public func extras(id: String) async throws -> Extras {
        try await database.read { sql in
            try await sql.raw("SELECT fingerprint, auto_heal_possible, slack_channel, slack_ts FROM tickets WHERE id = \(bind: id)")
                .first(decoding: Extras.self) ?? Extras(fingerprint: nil, autoHealPossible: nil, slackChannel: nil, slackTs: nil)
        }
    }

    /// Tickets folded into `ticketID` as recurrences, newest first.
    public func recurrences(of ticketID: String, limit: Int = 100) async throws -> [TicketListItem] {
        try await database.read { sql in
            try await sql.raw(
                """
                SELECT \(unsafeRaw: TicketListItem.columns) FROM tickets WHERE recurrence_of = \(bind: ticketID)
                ORDER BY first_seen DESC, id DESC LIMIT \(literal: limit)
                """
            ).all(decoding: TicketListItem.self)
        }
    }

    static func escapeLike(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "\\" || character == "%" || character == "_" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    static func encodeCursor(_ values: [String]) -> String {
        let data = (try? JSONEncoder().encode(values)) ?? Data()
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeCursor(_ cursor: String) throws -> [String] {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64.append("=") }
        guard cursor.count <= 512, let data = Data(base64Encoded: base64),
              let values = try? JSONDecoder().decode([String].self, from: data)
        else { throw TicketQueryError.invalidCursor }
        return values
    }
}
