import Foundation
import RCACore
import SQLKit

/// The summary cards and charts of the dashboard.
public struct DashboardSummary: Sendable, Equatable, Codable {
    /// Response and resolution times of one pipeline or team.
    public struct Group: Sendable, Equatable, Codable {
        public let name: String
        public let tickets: Int
        /// Every time the failure was reported: repeats folded into a ticket and recurrences included.
        public let occurrences: Int
        /// Tickets not resolved yet.
        public let open: Int
        /// Mean seconds to acknowledge (MTTA).
        public let mttaSeconds: Double?
        /// Mean minutes to resolve (MTTR).
        public let mttrMinutes: Double?

        enum CodingKeys: String, CodingKey {
            case name, tickets, occurrences, open
            case mttaSeconds = "mtta_sec"
            case mttrMinutes = "mttr_min"
        }
    }

    /// Tickets opened on one day, by severity.
    public struct Day: Sendable, Equatable, Codable {
        public let day: String
        public let bySeverity: [String: Int]
        public let mttrMinutes: Double?

        enum CodingKeys: String, CodingKey {
            case day
            case bySeverity = "by_severity"
            case mttrMinutes = "mttr_min"
        }
    }

    public let total: Int
    /// Tickets nobody has acknowledged yet.
    public let open: Int
    public let inProgress: Int
    /// Tickets someone owns but has not started or resolved.
    public let acknowledged: Int
    public let resolved: Int
    public let slaBreached: Int
    public let recurrences: Int
    /// Mean seconds to acknowledge (MTTA), the prototype's `avg_ack_time_sec`.
    public let avgAckTimeSeconds: Double?
    /// Mean minutes to resolve (MTTR).
    public let mttrMinutes: Double?
    public let bySeverity: [String: Int]
    /// Tickets nobody has acknowledged yet, by priority, for the page title's count of open P1s.
    public let openByPriority: [String: Int]
    public let bySource: [String: Int]
    public let byPipeline: [Group]
    public let byTeam: [Group]
    public let days: [Day]

    enum CodingKeys: String, CodingKey {
        case total, open, acknowledged, resolved, recurrences, days
        case inProgress = "in_progress"
        case slaBreached = "sla_breached"
        case avgAckTimeSeconds = "avg_ack_time_sec"
        case mttrMinutes = "mttr_min"
        case bySeverity = "by_severity"
        case openByPriority = "open_by_priority"
        case bySource = "by_source"
        case byPipeline = "by_pipeline"
        case byTeam = "by_team"
    }
}

/// An audit line as the audit viewer shows it.
public struct AuditRecord: Sendable, Equatable, Codable {
    public let id: Int64
    public let timestamp: String
    public let ticketID: String
    public let pipeline: String?
    public let action: String
    public let userName: String?
    public let details: String?
    public let slaStatus: String?

    enum CodingKeys: String, CodingKey {
        case id, timestamp, pipeline, action, details
        case ticketID = "ticket_id"
        case userName = "user_name"
        case slaStatus = "sla_status"
    }
}

/// Aggregates for the dashboard and the audit viewer.
public struct DashboardQueries: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Counts, response times and per-day charts over the last `days` days,
    /// read from the ticket counters (a few hundred rows at any size).
    public func summary(days: Int = 14, now: Date = Date()) async throws -> DashboardSummary {
        let dayList = (0..<days).map { offset in
            String(Timestamp.string(from: now.addingTimeInterval(-Double(days - 1 - offset) * 86_400)).prefix(10))
        }
        let rows = try await TicketCounters(database: database).rows(sinceDay: dayList.first ?? "")
        let byDimension = Dictionary(grouping: rows, by: \.dimension)
        let all = byDimension["all"]?.first
        func mean(_ sum: Int, _ count: Int, per unit: Double = 1) -> Double? {
            count > 0 ? Double(sum) / Double(count) / unit : nil
        }
        func counts(_ dimension: String, _ measure: KeyPath<TicketCounters.Row, Int>) -> [String: Int] {
            var counts: [String: Int] = [:]
            for row in byDimension[dimension] ?? [] where row[keyPath: measure] > 0 { counts[row.name] = row[keyPath: measure] }
            return counts
        }
        func groups(_ dimension: String) -> [DashboardSummary.Group] {
            (byDimension[dimension] ?? [])
                .sorted { ($0.occurrences, $1.name) > ($1.occurrences, $0.name) }
                .map { row in
                    DashboardSummary.Group(
                        name: row.name, tickets: row.tickets, occurrences: row.occurrences, open: row.tickets - row.resolved,
                        mttaSeconds: mean(row.ackSum, row.ackCount), mttrMinutes: mean(row.resolveSum, row.resolveCount, per: 60)
                    )
                }
        }
        var opened: [String: [String: Int]] = [:]
        for row in byDimension["opened"] ?? [] where row.tickets > 0 { opened[row.day, default: [:]][row.name] = row.tickets }
        var mttrPerDay: [String: Double] = [:]
        for row in byDimension["resolved"] ?? [] { mttrPerDay[row.day] = mean(row.resolveSum, row.resolveCount, per: 60) }
        return DashboardSummary(
            total: all?.tickets ?? 0,
            open: all?.open ?? 0,
            inProgress: all?.inProgress ?? 0,
            acknowledged: all?.acknowledged ?? 0,
            resolved: all?.resolved ?? 0,
            slaBreached: all?.breached ?? 0,
            recurrences: all?.recurrences ?? 0,
            avgAckTimeSeconds: all.flatMap { mean($0.ackSum, $0.ackCount) },
            mttrMinutes: all.flatMap { mean($0.resolveSum, $0.resolveCount, per: 60) },
            bySeverity: counts("severity", \.tickets),
            openByPriority: counts("priority", \.open),
            bySource: counts("source", \.tickets),
            byPipeline: groups("pipeline"),
            byTeam: groups("team"),
            days: dayList.map { DashboardSummary.Day(day: $0, bySeverity: opened[$0] ?? [:], mttrMinutes: mttrPerDay[$0]) }
        )
    }

    /// Audit lines, newest first, optionally of one action, ticket or user and
    /// from `since` (inclusive) to `until` (exclusive); `before` is the last id of the previous page.
    public func audit(
        action: String?, ticketID: String?, user: String? = nil, since: String? = nil, until: String? = nil, before: Int64?, limit: Int
    ) async throws -> [AuditRecord] {
        var query: SQLQueryString = "SELECT id, timestamp, ticket_id, pipeline, action, user_name, details, sla_status FROM audit_trail WHERE 1 = 1"
        if let action { query += " AND action = \(bind: action)" }
        if let ticketID { query += " AND ticket_id = \(bind: ticketID)" }
        if let user { query += " AND user_name = \(bind: user)" }
        if let since { query += " AND timestamp >= \(bind: since)" }
        if let until { query += " AND timestamp < \(bind: until)" }
        if let before { query += " AND id < \(bind: before)" }
        query += " ORDER BY id DESC LIMIT \(literal: limit)"
        let finalQuery = query
        return try await database.read { sql in try await sql.raw(finalQuery).all(decoding: AuditRecord.self) }
    }

    /// The distinct audit actions, for the viewer's filter.
    public func auditActions() async throws -> [String] {
        try await database.read { sql in
            try await sql.raw("SELECT DISTINCT action FROM audit_trail ORDER BY action").all().map { try $0.decode(column: "action", as: String.self) }
        }
    }
}
