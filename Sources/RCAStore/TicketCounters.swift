import Foundation
import SQLKit

/// The dashboard's counts kept up to date as tickets change, so that the
/// summary reads a few hundred rows whatever the number of tickets.
///
/// Triggers on `tickets` append each change of a counted column (the row's
/// state before and after) to `ticket_changes`, in the transaction that made
/// it, whoever wrote it: ingestion, the workers, the API, the importer or SQL
/// typed by an operator. Appending never waits on another writer, so no
/// counter row becomes a lock every writer queues for. `fold()` moves the
/// pending changes into `ticket_counters`; the summary adds the changes not
/// folded yet to the counters in the same statement, so it is exact at any
/// moment, and `rebuild()` recounts from the tickets themselves.
public struct TicketCounters: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// One row of counts: a dimension's value (a severity, a pipeline) and,
    /// for the per-day dimensions, a day.
    public struct Row: Sendable, Equatable, Decodable {
        public let dimension: String
        public let name: String
        public let day: String
        public let tickets: Int
        public let open: Int
        public let inProgress: Int
        public let acknowledged: Int
        public let resolved: Int
        public let breached: Int
        public let recurrences: Int
        public let occurrences: Int
        public let ackCount: Int
        public let ackSum: Int
        public let resolveCount: Int
        public let resolveSum: Int

        enum CodingKeys: String, CodingKey {
            case dimension, name, day, tickets, open, acknowledged, resolved, breached, recurrences, occurrences
            case inProgress = "in_progress"
            case ackCount = "ack_count"
            case ackSum = "ack_sum"
            case resolveCount = "resolve_count"
            case resolveSum = "resolve_sum"
        }
    }

    /// The counts, pending changes included: every all-time dimension but
    /// pipelines and teams, the `top` pipelines and teams by occurrences, and
    /// the per-day dimensions from `sinceDay` (`YYYY-MM-DD`) on. A value whose
    /// counts all came back to zero is left out.
    public func rows(sinceDay: String, top: Int = 20) async throws -> [Row] {
        let sums = Schema.measures.map { "CAST(SUM(\($0)) AS BIGINT) AS \($0)" }.joined(separator: ", ")
        let columns = Schema.measures.joined(separator: ", ")
        let nonZero = Schema.measures.map { "SUM(\($0)) <> 0" }.joined(separator: " OR ")
        let query: SQLQueryString = """
            SELECT dimension, name, day, \(unsafeRaw: columns) FROM (
                SELECT dimension, name, day, \(unsafeRaw: sums),
                       ROW_NUMBER() OVER (PARTITION BY dimension ORDER BY SUM(occurrences) DESC, name) AS place
                FROM (
                    SELECT dimension, name, day, \(unsafeRaw: columns) FROM ticket_counters
                    UNION ALL \(unsafeRaw: Schema.contributions(of: Schema.pendingSides(upTo: nil)))
                ) counted
                WHERE day = '' OR day >= \(bind: sinceDay)
                GROUP BY dimension, name, day
                HAVING \(unsafeRaw: nonZero)
            ) ranked
            WHERE place <= \(bind: top) OR dimension NOT IN ('pipeline', 'team')
            """
        return try await database.read { sql in try await sql.raw(query).all(decoding: Row.self) }
    }

    /// PostgreSQL's advisory lock reserved for folding and recounting.
    static let foldLock = 7_310_046

    /// Moves the pending changes into the counters; returns how many it moved.
    /// A quiet store costs one read, no write transaction. On PostgreSQL one statement takes exactly the changes it counts, and an
    /// advisory lock keeps two replicas from folding at once (the second
    /// skips its turn); SQLite's single writer needs neither.
    @discardableResult
    public func fold() async throws -> Int {
        let pending = try await database.read { sql in
            try await sql.raw("SELECT id FROM ticket_changes LIMIT 1").first() != nil
        }
        guard pending else { return 0 }
        let dialect = database.dialect
        return try await database.transaction { sql in
            switch dialect {
            case .postgres:
                let locked = try await sql.raw("SELECT pg_try_advisory_xact_lock(\(unsafeRaw: String(Self.foldLock))) AS locked").first()?
                    .decode(column: "locked", as: Bool.self) ?? false
                guard locked else { return 0 }
                let row = try await sql.raw(
                    """
                    WITH moved AS (DELETE FROM ticket_changes RETURNING *),
                    added AS (\(unsafeRaw: Schema.upsert(from: Schema.contributions(of: Schema.sides(of: "moved")))) RETURNING 1)
                    SELECT (SELECT COUNT(*) FROM moved) AS moved
                    """
                ).first()
                let moved = try row?.decode(column: "moved", as: Int.self) ?? 0
                if moved > 0 { try await sql.raw(SQLQueryString(Schema.dropEmptyCounters)).run() }
                return moved
            case .sqlite:
                guard let last = try await sql.raw("SELECT MAX(id) AS last FROM ticket_changes").first()?
                    .decode(column: "last", as: Int?.self) else { return 0 }
                try await sql.raw(SQLQueryString(Schema.upsert(from: Schema.contributions(of: Schema.pendingSides(upTo: last))))).run()
                let moved = try await sql.raw("DELETE FROM ticket_changes WHERE id <= \(bind: last) RETURNING id").all().count
                try await sql.raw(SQLQueryString(Schema.dropEmptyCounters)).run()
                return moved
            }
        }
    }

    /// Recounts everything from the tickets, for after a bulk load by SQL or
    /// to check the counters; writers wait while it runs. Returns the number
    /// of counter rows written.
    @discardableResult
    public func rebuild() async throws -> Int {
        let dialect = database.dialect
        return try await database.transaction { sql in
            if dialect == .postgres {
                try await sql.raw("SELECT pg_advisory_xact_lock(\(unsafeRaw: String(Self.foldLock)))").run()
                try await sql.raw("LOCK TABLE tickets IN SHARE MODE").run()
            }
            // TRUNCATE leaves PostgreSQL no dead rows for the next summary to step over.
            let empty = dialect == .postgres ? "TRUNCATE" : "DELETE FROM"
            try await sql.raw("\(unsafeRaw: empty) ticket_changes").run()
            try await sql.raw("\(unsafeRaw: empty) ticket_counters").run()
            return try await Self.countCurrentTickets(on: sql)
        }
    }

    /// Fills the empty counters from the tickets as they stand; returns the number of counter rows.
    static func countCurrentTickets(on sql: any SQLDatabase) async throws -> Int {
        try await sql.raw(SQLQueryString(Schema.upsert(from: Schema.contributions(of: [Schema.current])))).run()
        return try await sql.raw("SELECT COUNT(*) AS count FROM ticket_counters").first()?.decode(column: "count", as: Int.self) ?? 0
    }

    /// The SQL of the counters: the columns a change records, the triggers
    /// that record it, and how a ticket's state counts in each dimension.
    enum Schema {
        static let measures = [
            "tickets", "open", "in_progress", "acknowledged", "resolved", "breached", "recurrences", "occurrences",
            "ack_count", "ack_sum", "resolve_count", "resolve_sum",
        ]

        /// What a change keeps of a ticket's state, each derived from the row
        /// (`NEW.`, `OLD.` or a table alias in front of its columns).
        static func state(_ row: String) -> [(name: String, type: String, value: String)] {
            [
                ("recurrence", "INTEGER", "CASE WHEN \(row)recurrence_of IS NULL THEN 0 ELSE 1 END"),
                ("status", "TEXT", "\(row)status"),
                ("severity", "TEXT", "\(row)severity"),
                ("priority", "TEXT", "\(row)priority"),
                ("source", "TEXT", "\(row)source"),
                ("pipeline", "TEXT", "\(row)pipeline"),
                ("team", "TEXT", "\(row)finops_team"),
                ("breached", "INTEGER", "CASE WHEN \(row)sla_status = 'Breached' THEN 1 ELSE 0 END"),
                ("occurrences", "BIGINT", "\(row)occurrence_count"),
                ("ack_seconds", "BIGINT", "\(row)ack_seconds"),
                ("resolve_seconds", "BIGINT", "\(row)resolve_seconds"),
                ("opened_day", "TEXT", "SUBSTR(\(row)first_seen, 1, 10)"),
                ("resolved_day", "TEXT", "CASE WHEN \(row)status = 'resolved' THEN SUBSTR(\(row)resolved_ts, 1, 10) END"),
            ]
        }

        /// The ticket columns whose change changes a count.
        static let trackedColumns = [
            "recurrence_of", "status", "severity", "priority", "source", "pipeline", "finops_team", "sla_status",
            "occurrence_count", "ack_seconds", "resolve_seconds", "first_seen", "resolved_ts",
        ]

        static func createStatements(_ dialect: Dialect) -> [String] {
            let sideColumns = ["old_", "new_"].flatMap { side in state("").map { "\(side)\($0.name) \($0.type)" } }
            let measureColumns = measures.map { "\($0) BIGINT NOT NULL DEFAULT 0" }
            var statements = [
                """
                CREATE TABLE ticket_changes (
                    id \(dialect.autoIncrementPrimaryKey),
                    old_present INTEGER NOT NULL,
                    new_present INTEGER NOT NULL,
                    \(sideColumns.joined(separator: ",\n    "))
                )
                """,
                """
                CREATE TABLE ticket_counters (
                    dimension TEXT NOT NULL,
                    name TEXT NOT NULL,
                    day TEXT NOT NULL,
                    \(measureColumns.joined(separator: ",\n    ")),
                    PRIMARY KEY (dimension, name, day)
                )
                """,
            ]
            statements += triggers(dialect)
            return statements
        }

        private static func insertChange(old: String?, new: String?) -> String {
            let names = ["old_present", "new_present"] + ["old_", "new_"].flatMap { side in state("").map { side + $0.name } }
            let oldValues = old.map { row in state(row).map(\.value) } ?? Array(repeating: "NULL", count: state("").count)
            let newValues = new.map { row in state(row).map(\.value) } ?? Array(repeating: "NULL", count: state("").count)
            let values = [old == nil ? "0" : "1", new == nil ? "0" : "1"] + oldValues + newValues
            return "INSERT INTO ticket_changes (\(names.joined(separator: ", "))) VALUES (\(values.joined(separator: ", ")))"
        }

        /// An update that changes none of the tracked columns records nothing.
        private static func changedCondition(_ dialect: Dialect) -> String {
            let differs = dialect == .sqlite ? "IS NOT" : "IS DISTINCT FROM"
            return trackedColumns.map { "OLD.\($0) \(differs) NEW.\($0)" }.joined(separator: " OR ")
        }

        private static func triggers(_ dialect: Dialect) -> [String] {
            switch dialect {
            case .sqlite:
                return [
                    "CREATE TRIGGER ticket_counted_insert AFTER INSERT ON tickets BEGIN \(insertChange(old: nil, new: "NEW.")); END",
                    """
                    CREATE TRIGGER ticket_counted_update AFTER UPDATE ON tickets WHEN \(changedCondition(dialect))
                    BEGIN \(insertChange(old: "OLD.", new: "NEW.")); END
                    """,
                    "CREATE TRIGGER ticket_counted_delete AFTER DELETE ON tickets BEGIN \(insertChange(old: "OLD.", new: nil)); END",
                ]
            case .postgres:
                return [
                    """
                    CREATE FUNCTION ticket_counted() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        IF TG_OP = 'INSERT' THEN \(insertChange(old: nil, new: "NEW."));
                        ELSIF TG_OP = 'UPDATE' THEN \(insertChange(old: "OLD.", new: "NEW."));
                        ELSE \(insertChange(old: "OLD.", new: nil));
                        END IF;
                        RETURN NULL;
                    END $$
                    """,
                    "CREATE TRIGGER ticket_counted_insert AFTER INSERT ON tickets FOR EACH ROW EXECUTE FUNCTION ticket_counted()",
                    """
                    CREATE TRIGGER ticket_counted_update AFTER UPDATE ON tickets FOR EACH ROW
                    WHEN (\(changedCondition(dialect))) EXECUTE FUNCTION ticket_counted()
                    """,
                    "CREATE TRIGGER ticket_counted_delete AFTER DELETE ON tickets FOR EACH ROW EXECUTE FUNCTION ticket_counted()",
                ]
            }
        }

        /// A relation of ticket states to count, each with a `sign`: a
        /// change's old side (taken away), its new side (added), or the
        /// tickets as they are.
        struct Side {
            let relation: String
        }

        /// The tickets as they stand, for a recount.
        static var current: Side {
            let columns = state("t.").map { "\($0.value) AS \($0.name)" }.joined(separator: ", ")
            return Side(relation: "SELECT 1 AS sign, \(columns) FROM tickets t")
        }

        /// Both sides of the changes in `relation` (a table or a CTE).
        static func sides(of relation: String, where condition: String = "") -> [Side] {
            [("old_", -1), ("new_", 1)].map { prefix, sign in
                let columns = state("").map { "\(prefix)\($0.name) AS \($0.name)" }.joined(separator: ", ")
                let filter = ["\(prefix)present = 1", condition].filter { !$0.isEmpty }.joined(separator: " AND ")
                return Side(relation: "SELECT \(sign) AS sign, \(columns) FROM \(relation) WHERE \(filter)")
            }
        }

        /// The changes not folded yet (up to the change `last`, when given).
        static func pendingSides(upTo last: Int?) -> [Side] {
            sides(of: "ticket_changes", where: last.map { "id <= \($0)" } ?? "")
        }

        /// Each dimension a state counts in: its name and day, and which
        /// states count there (a recurrence counts only in the totals and in
        /// its pipeline's and team's occurrences).
        static let dimensions: [(dimension: String, name: String, day: String, only: String?)] = [
            ("all", "''", "''", nil),
            ("severity", "COALESCE(s.severity, 'unknown')", "''", "s.recurrence = 0"),
            ("priority", "COALESCE(s.priority, 'unknown')", "''", "s.recurrence = 0"),
            ("source", "COALESCE(s.source, 'unknown')", "''", "s.recurrence = 0"),
            ("pipeline", "COALESCE(s.pipeline, '(none)')", "''", nil),
            ("team", "COALESCE(s.team, '(none)')", "''", nil),
            ("opened", "COALESCE(s.severity, 'Unknown')", "s.opened_day", "s.recurrence = 0"),
            ("resolved", "''", "s.resolved_day", "s.recurrence = 0 AND s.resolved_day IS NOT NULL"),
        ]

        /// What one state adds to each measure, times its sign.
        private static var measureValues: [String] {
            let ticket = "s.recurrence = 0"
            func when(_ condition: String, _ value: String = "1") -> String {
                "s.sign * CASE WHEN \(condition) THEN \(value) ELSE 0 END"
            }
            return [
                when(ticket),
                when("\(ticket) AND s.status = 'open'"),
                when("\(ticket) AND s.status = 'in_progress'"),
                when("\(ticket) AND s.status = 'acknowledged'"),
                when("\(ticket) AND s.status = 'resolved'"),
                when("\(ticket) AND s.breached = 1"),
                when("s.recurrence = 1"),
                "s.sign * COALESCE(s.occurrences, 0)",
                when("\(ticket) AND s.ack_seconds IS NOT NULL"),
                when("\(ticket) AND s.ack_seconds IS NOT NULL", "s.ack_seconds"),
                when("\(ticket) AND s.resolve_seconds IS NOT NULL"),
                when("\(ticket) AND s.resolve_seconds IS NOT NULL", "s.resolve_seconds"),
            ]
        }

        /// Every (dimension, name, day, measures…) row the states of `sides`
        /// add: each state crossed with the dimensions it counts in, in one
        /// scan of the states.
        static func contributions(of sides: [Side]) -> String {
            func byDimension(_ pick: (String, String, String, String?) -> String, otherwise: String) -> String {
                "CASE d.dimension " + dimensions.map { "WHEN '\($0.dimension)' THEN \(pick($0.dimension, $0.name, $0.day, $0.only))" }
                    .joined(separator: " ") + " ELSE \(otherwise) END"
            }
            let dimensionList = dimensions.map { "SELECT '\($0.dimension)' AS dimension" }.joined(separator: " UNION ALL ")
            let values = zip(measureValues, measures).map { "\($0) AS \($1)" }.joined(separator: ", ")
            let counts = byDimension({ _, _, _, only in only.map { "CASE WHEN \($0) THEN 1 ELSE 0 END" } ?? "1" }, otherwise: "0")
            let names = byDimension({ _, name, _, _ in name }, otherwise: "''")
            let days = byDimension({ _, _, day, _ in day }, otherwise: "''")
            return """
                SELECT d.dimension AS dimension, \(names) AS name, \(days) AS day, \(values)
                FROM (\(sides.map(\.relation).joined(separator: " UNION ALL "))) s CROSS JOIN (\(dimensionList)) d
                WHERE \(counts) = 1
                """
        }

        /// Adds the summed `contributions` to the counters.
        static func upsert(from contributions: String) -> String {
            let sums = measures.map { "SUM(\($0))" }.joined(separator: ", ")
            let additions = measures.map { "\($0) = ticket_counters.\($0) + excluded.\($0)" }.joined(separator: ", ")
            return """
                INSERT INTO ticket_counters (dimension, name, day, \(measures.joined(separator: ", ")))
                SELECT dimension, name, day, \(sums) FROM (\(contributions)) c WHERE 1 = 1 GROUP BY dimension, name, day
                ON CONFLICT (dimension, name, day) DO UPDATE SET \(additions)
                """
        }

        /// Counter rows every measure of which came back to zero (a severity
        /// no ticket has any more) are removed, so the summary reads only live rows.
        static var dropEmptyCounters: String {
            "DELETE FROM ticket_counters WHERE " + measures.map { "\($0) = 0" }.joined(separator: " AND ")
        }
    }
}
