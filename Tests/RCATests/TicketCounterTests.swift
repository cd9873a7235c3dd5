import Foundation
import Logging
import RCACore
@testable import RCAServer
@testable import RCAStore
import RCATesting
import SQLKit
import Testing

@Suite("Ticket counters")
struct TicketCounterTests {
    static let now = Timestamp.date(from: "2026-12-07T12:00:00.000Z")!

    @Test("after random inserts, updates and deletes, folded or not, the summary from the counters equals a full recount; rebuild-counters agrees", arguments: TestBackend.enabled)
    func countersMatchARecount(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            var random = SplitMix64(state: 20_261_207)
            var ids: [String] = []
            let counters = TicketCounters(database: database)
            for step in 1...400 {
                let choice = Int.random(in: 0..<10, using: &random)
                if ids.isEmpty || choice < 4 {
                    let id = "T\(step)"
                    let recurrenceOf = !ids.isEmpty && Int.random(in: 0..<5, using: &random) == 0 ? ids.randomElement(using: &random) : nil
                    try await Self.insert(id, recurrenceOf: recurrenceOf, database, &random)
                    ids.append(id)
                } else if choice < 9 {
                    try await Self.update(ids.randomElement(using: &random)!, database, &random)
                } else {
                    let id = ids.remove(at: Int.random(in: 0..<ids.count, using: &random))
                    try await database.autocommit { sql in try await sql.raw("DELETE FROM tickets WHERE id = \(bind: id)").run() }
                }
                if Int.random(in: 0..<8, using: &random) == 0 { try await counters.fold() }
                if step % 50 == 0 {
                    try await Self.expectSame(database, "after step \(step)")
                }
            }
            #expect(try await counters.fold() >= 0)
            #expect(try await Self.pendingChanges(database) == 0, "a fold takes every pending change")
            try await Self.expectSame(database, "after the last fold")
            #expect(try await counters.rebuild() > 10)
            try await Self.expectSame(database, "after rebuild-counters")
        }
    }

    @Test("an update of a column no count depends on records nothing, and a fold drops counters that came back to zero", arguments: TestBackend.enabled)
    func quietUpdatesAndEmptyCounters(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            var random = SplitMix64(state: 7)
            try await Self.insert("A", recurrenceOf: nil, database, &random)
            let counters = TicketCounters(database: database)
            try await counters.fold()
            try await database.autocommit { sql in try await sql.raw("UPDATE tickets SET rca_result = 'new words', updated_at = 'x' WHERE id = 'A'").run() }
            #expect(try await Self.pendingChanges(database) == 0)
            try await database.autocommit { sql in try await sql.raw("UPDATE tickets SET severity = 'Zeta', pipeline = 'pl_moved' WHERE id = 'A'").run() }
            #expect(try await Self.pendingChanges(database) == 1)
            let pending = try await DashboardQueries(database: database).summary(now: Self.now)
            #expect(pending.bySeverity == ["Zeta": 1] && pending.byPipeline.map(\.name) == ["pl_moved"],
                    "before the fold, the values the ticket left are gone too: \(pending.bySeverity) \(pending.byPipeline.map(\.name))")
            try await counters.fold()
            let names = try await database.read { sql in
                try await sql.raw("SELECT name FROM ticket_counters WHERE dimension = 'severity'").all().map { try $0.decode(column: "name", as: String.self) }
            }
            #expect(names == ["Zeta"], "the severity the ticket left has no row any more")
        }
    }

    @Test("a worker process folds the changes it finds every few seconds")
    func workersFold() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            var random = SplitMix64(state: 11)
            let folder = TicketCounterFolder(counters: TicketCounters(database: database), interval: .milliseconds(50), logger: Logger(label: "test"))
            let running = Task { try await folder.run() }
            try await Self.insert("A", recurrenceOf: nil, database, &random)
            try await eventually(10, "the change is folded") { try await Self.pendingChanges(database) == 0 }
            let total = try await database.read { sql in
                try await sql.raw("SELECT tickets FROM ticket_counters WHERE dimension = 'all'").first()?.decode(column: "tickets", as: Int.self)
            }
            #expect(total == 1)
            running.cancel()
            _ = try? await running.value
        }
    }

    static func pendingChanges(_ database: Database) async throws -> Int {
        try await database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS count FROM ticket_changes").first()?.decode(column: "count", as: Int.self) ?? 0
        }
    }

    static func day(_ random: inout SplitMix64) -> String {
        Timestamp.string(from: now.addingTimeInterval(-Double(Int.random(in: 0..<20, using: &random)) * 86_400 - Double(Int.random(in: 0..<80_000, using: &random))))
    }

    static func maybe<T>(_ values: [T], _ random: inout SplitMix64) -> T? {
        Int.random(in: 0..<6, using: &random) == 0 ? nil : values.randomElement(using: &random)
    }

    static let statuses = ["open", "acknowledged", "in_progress", "resolved"]
    static let severities = ["Critical", "High", "Medium", "Low"]
    static let priorities = ["P1", "P2", "P3", "P4"]
    static let sources = ["adf", "databricks", "azure-monitor", "alertmanager", "generic"]
    static let pipelines = ["pl_a", "pl_b", "pl_c", "pl_d", "pl_e"]
    static let teams = ["data", "ml"]
    static let slaStates = ["Pending", "Met", "Breached"]

    static func insert(_ id: String, recurrenceOf: String?, _ database: Database, _ random: inout SplitMix64) async throws {
        let status = statuses.randomElement(using: &random)!
        let firstSeen = day(&random)
        let severity = maybe(severities, &random), priority = maybe(priorities, &random), pipeline = maybe(pipelines, &random)
        let team = maybe(teams, &random), source = sources.randomElement(using: &random)!, sla = slaStates.randomElement(using: &random)!
        let occurrences = Int.random(in: 1...5, using: &random)
        let ack = status == "open" ? nil : Int.random(in: 0...5_000, using: &random)
        let resolve = status == "resolved" ? Int.random(in: 60...90_000, using: &random) : nil
        let resolvedAt = status == "resolved" ? day(&random) : nil
        try await database.autocommit { sql in
            try await sql.raw(
                """
                INSERT INTO tickets (id, timestamp, status, severity, priority, source, pipeline, finops_team, sla_status, occurrence_count,
                                     ack_seconds, resolve_seconds, resolved_ts, recurrence_of, dedup_key, first_seen, last_seen, updated_at)
                VALUES (\(bind: id), \(bind: firstSeen), \(bind: status), \(bind: severity), \(bind: priority), \(bind: source), \(bind: pipeline),
                        \(bind: team), \(bind: sla), \(bind: occurrences), \(bind: ack), \(bind: resolve), \(bind: resolvedAt), \(bind: recurrenceOf),
                        \(bind: "k-" + id), \(bind: firstSeen), \(bind: firstSeen), \(bind: firstSeen))
                """
            ).run()
        }
    }

    /// Changes one or two counted columns of a ticket, the way the workflow,
    /// the analysis, a repeat or an operator would.
    static func update(_ id: String, _ database: Database, _ random: inout SplitMix64) async throws {
        var assignments: [SQLQueryString] = []
        let first = Int.random(in: 0..<9, using: &random)
        let columns = Int.random(in: 0..<2, using: &random) == 0 ? [first] : [first, (first + Int.random(in: 1..<9, using: &random)) % 9]
        for column in columns {
            switch column {
            case 0:
                let status = statuses.randomElement(using: &random)!
                let resolve = status == "resolved" ? Int.random(in: 60...90_000, using: &random) : nil
                assignments.append("status = \(bind: status), resolve_seconds = \(bind: resolve), resolved_ts = \(bind: status == "resolved" ? day(&random) : nil)")
            case 1: assignments.append("severity = \(bind: maybe(severities, &random))")
            case 2: assignments.append("priority = \(bind: maybe(priorities, &random))")
            case 3: assignments.append("pipeline = \(bind: maybe(pipelines, &random))")
            case 4: assignments.append("finops_team = \(bind: maybe(teams, &random))")
            case 5: assignments.append("sla_status = \(bind: slaStates.randomElement(using: &random)!)")
            case 6: assignments.append("occurrence_count = occurrence_count + 1")
            case 7: assignments.append("ack_seconds = \(bind: Int.random(in: 0...5_000, using: &random))")
            default: assignments.append("first_seen = \(bind: day(&random))")
            }
        }
        var query: SQLQueryString = "UPDATE tickets SET "
        for (index, assignment) in assignments.enumerated() {
            if index > 0 { query += ", " }
            query += assignment
        }
        query += " WHERE id = \(bind: id)"
        let statement = query
        try await database.autocommit { sql in try await sql.raw(statement).run() }
    }

    static func expectSame(_ database: Database, _ moment: String) async throws {
        let counted = try await DashboardQueries(database: database).summary(days: 14, now: now)
        let recounted = try await recount(database, days: 14)
        #expect(counted.total == recounted.total && counted.open == recounted.open && counted.inProgress == recounted.inProgress
                && counted.acknowledged == recounted.acknowledged && counted.resolved == recounted.resolved
                && counted.slaBreached == recounted.slaBreached && counted.recurrences == recounted.recurrences, "\(moment): totals")
        #expect(close(counted.avgAckTimeSeconds, recounted.avgAckTimeSeconds) && close(counted.mttrMinutes, recounted.mttrMinutes), "\(moment): means")
        #expect(counted.bySeverity == recounted.bySeverity && counted.bySource == recounted.bySource, "\(moment): by severity and source")
        #expect(counted.openByPriority == recounted.openByPriority, "\(moment): open by priority")
        for (mine, theirs) in [(counted.byPipeline, recounted.byPipeline), (counted.byTeam, recounted.byTeam)] {
            #expect(mine.map(\.name) == theirs.map(\.name), "\(moment): groups \(mine.map(\.name)) vs \(theirs.map(\.name))")
            for (left, right) in zip(mine, theirs) {
                #expect(left.tickets == right.tickets && left.occurrences == right.occurrences && left.open == right.open
                        && close(left.mttaSeconds, right.mttaSeconds) && close(left.mttrMinutes, right.mttrMinutes), "\(moment): group \(left.name)")
            }
        }
        #expect(counted.days.map(\.day) == recounted.days.map(\.day))
        for (left, right) in zip(counted.days, recounted.days) {
            #expect(left.bySeverity == right.bySeverity && close(left.mttrMinutes, right.mttrMinutes), "\(moment): day \(left.day)")
        }
    }

    static func close(_ left: Double?, _ right: Double?) -> Bool {
        switch (left, right) {
        case (nil, nil): true
        case (let left?, let right?): abs(left - right) <= 1e-9 * max(1, abs(right))
        default: false
        }
    }

    /// The summary by scanning every ticket, as it was computed before the
    /// counters: the reference the counters must equal.
    static func recount(_ database: Database, days: Int) async throws -> DashboardSummary {
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
                    FROM tickets GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT 20
                    """
                ).all().map { row in
                    DashboardSummary.Group(
                        name: try row.decode(column: "name", as: String.self), tickets: try row.decode(column: "tickets", as: Int.self),
                        occurrences: try row.decode(column: "occurrences", as: Int.self), open: try row.decode(column: "open", as: Int.self),
                        mttaSeconds: try row.decode(column: "mtta", as: Double?.self), mttrMinutes: try row.decode(column: "mttr", as: Double?.self)
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
                FROM tickets WHERE status = 'resolved' AND recurrence_of IS NULL AND resolved_ts >= \(bind: since) GROUP BY 1
                """
            ).all() {
                mttrPerDay[try row.decode(column: "day", as: String.self)] = try row.decode(column: "mttr", as: Double?.self)
            }
            let dayList = (0..<days).map { String(Timestamp.string(from: now.addingTimeInterval(-Double(days - 1 - $0) * 86_400)).prefix(10)) }
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
}
