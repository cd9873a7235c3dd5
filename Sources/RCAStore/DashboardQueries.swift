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

    /// Counts, response times and per-day charts over the last `days` days.
    public func summary(days: Int = 14, now: Date = Date()) async throws -> DashboardSummary {
        let since = String(Timestamp.string(from: now.addingTimeInterval(-Double(days - 1) * 86_400)).prefix(10))
        return try await database.read { sql in
            let totals = try await sql.raw(
                """
                SELECT COUNT(*) AS total,
                       COALESCE(SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END), 0) AS open,
                       COALESCE(SUM(CASE WHEN status = 'in_progress' THEN 1 ELSE 0 END), 0) AS in_progress,
                       COALESCE(SUM(CASE WHEN status = 'acknowledged' THEN 1 ELSE 0 END), 0) AS acknowledged,
                       COALESCE(SUM(CASE WHEN status = 'resolved' THEN 1 ELSE 0 END), 0) AS resolved,
                       COALESCE(SUM(CASE WHEN sla_status = 'Breached' THEN 1 ELSE 0 END), 0) AS sla_breached,
                       CAST(AVG(ack_seconds) AS DOUBLE PRECISION) AS mtta, CAST(AVG(resolve_seconds) / 60.0 AS DOUBLE PRECISION) AS mttr
                FROM tickets WHERE recurrence_of IS NULL
                """
            ).first()
            let recurrences = try await sql.raw("SELECT COUNT(*) AS count FROM tickets WHERE recurrence_of IS NOT NULL").first()?
                .decode(column: "count", as: Int.self) ?? 0
            func counts(_ column: String, openOnly: Bool = false) async throws -> [String: Int] {
                let rows = try await sql.raw(
                    """
                    SELECT COALESCE(\(ident: column), 'unknown') AS name, COUNT(*) AS count FROM tickets
                    WHERE recurrence_of IS NULL \(unsafeRaw: openOnly ? "AND status = 'open'" : "") GROUP BY 1
                    """
                ).all()
                return Dictionary(uniqueKeysWithValues: try rows.map {
                    (try $0.decode(column: "name", as: String.self), try $0.decode(column: "count", as: Int.self))
                })
            }
            func groups(_ column: String) async throws -> [DashboardSummary.Group] {
                try await sql.raw(
                    """
                    SELECT COALESCE(\(ident: column), '(none)') AS name,
                           SUM(CASE WHEN recurrence_of IS NULL THEN 1 ELSE 0 END) AS tickets, SUM(occurrence_count) AS occurrences,
                           SUM(CASE WHEN recurrence_of IS NULL AND status <> 'resolved' THEN 1 ELSE 0 END) AS open,
                           CAST(AVG(CASE WHEN recurrence_of IS NULL THEN ack_seconds END) AS DOUBLE PRECISION) AS mtta,
                           CAST(AVG(CASE WHEN recurrence_of IS NULL THEN resolve_seconds END) / 60.0 AS DOUBLE PRECISION) AS mttr
                    FROM tickets
                    GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT 20
                    """
                ).all().map { row in
                    DashboardSummary.Group(
                        name: try row.decode(column: "name", as: String.self),
                        tickets: try row.decode(column: "tickets", as: Int.self),
                        occurrences: try row.decode(column: "occurrences", as: Int.self),
                        open: try row.decode(column: "open", as: Int.self),
                        mttaSeconds: try row.decode(column: "mtta", as: Double?.self),
                        mttrMinutes: try row.decode(column: "mttr", as: Double?.self)
                    )
                }
            }
            var perDay: [String: [String: Int]] = [:]
            for row in try await sql.raw(
                """
                SELECT SUBSTR(first_seen, 1, 10) AS day, COALESCE(severity, 'Unknown') AS severity, COUNT(*) AS count
                FROM tickets WHERE first_seen >= \(bind: since) AND recurrence_of IS NULL GROUP BY 1, 2
                """
            ).all() {
                perDay[try row.decode(column: "day", as: String.self), default: [:]][try row.decode(column: "severity", as: String.self)] =
                    try row.decode(column: "count", as: Int.self)
            }
            var mttrPerDay: [String: Double] = [:]
            for row in try await sql.raw(
                """
                SELECT SUBSTR(resolved_ts, 1, 10) AS day, CAST(AVG(resolve_seconds) / 60.0 AS DOUBLE PRECISION) AS mttr
                FROM tickets WHERE status = 'resolved' AND resolved_ts >= \(bind: since) GROUP BY 1
                """
            ).all() {
                mttrPerDay[try row.decode(column: "day", as: String.self)] = try row.decode(column: "mttr", as: Double?.self)
            }
            let dayList = (0..<days).map { offset in
                String(Timestamp.string(from: now.addingTimeInterval(-Double(days - 1 - offset) * 86_400)).prefix(10))
            }
            return DashboardSummary(
                total: try totals?.decode(column: "total", as: Int.self) ?? 0,
                open: try totals?.decode(column: "open", as: Int.self) ?? 0,
                inProgress: try totals?.decode(column: "in_progress", as: Int.self) ?? 0,
                acknowledged: try totals?.decode(column: "acknowledged", as: Int.self) ?? 0,
                resolved: try totals?.decode(column: "resolved", as: Int.self) ?? 0,
                slaBreached: try totals?.decode(column: "sla_breached", as: Int.self) ?? 0,
                recurrences: recurrences,
                avgAckTimeSeconds: try totals?.decode(column: "mtta", as: Double?.self),
                mttrMinutes: try totals?.decode(column: "mttr", as: Double?.self),
                bySeverity: try await counts("severity"),
                openByPriority: try await counts("priority", openOnly: true),
                bySource: try await counts("source"),
                byPipeline: try await groups("pipeline"),
                byTeam: try await groups("finops_team"),
                days: dayList.map { DashboardSummary.Day(day: $0, bySeverity: perDay[$0] ?? [:], mttrMinutes: mttrPerDay[$0]) }
            )
        }
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
