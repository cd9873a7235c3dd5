import Foundation
import RCACore
import SQLKit

/// One versioned change to the schema, written once for both backends with
/// the dialect filling in the few types that differ.
struct Migration: Sendable {
    let version: Int
    let name: String
    let statements: @Sendable (Dialect) -> [String]
    /// Work that plain statements cannot express, run after them in the same transaction.
    var afterStatements: (@Sendable (any SQLDatabase, Dialect) async throws -> Void)? = nil
}

/// Brings a database to the schema this build expects. Safe to run from
/// several processes at once: on PostgreSQL an advisory lock serializes them,
/// on SQLite the write transaction does.
public struct Migrator: Sendable {
    static let all: [Migration] = [initialSchema, ingestionDetails, analysisResults, ticketLinks, dashboard, deliveries, deliveryAttempts, lookupsThatScale, guessFailures, sessionRevocation, analysisCorrections, lifecycle, ticketCounters]

    /// The schema version this build expects.
    public static var latestVersion: Int { all.last?.version ?? 0 }

    private let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Applies every migration not yet applied, all in one transaction, so a
    /// second process starting at the same moment waits once for the whole
    /// run (instead of losing the lock race between each step) and then finds
    /// nothing left to do. Returns the versions applied now.
    @discardableResult
    public func migrate() async throws -> [Int] {
        let dialect = database.dialect
        return try await database.transaction(lockWait: Self.lockWait) { sql in
            try await Self.lockAgainstOtherMigrators(sql, dialect: dialect)
            try await sql.raw(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at TEXT NOT NULL
                )
                """
            ).run()
            let done = Set(try await sql.raw("SELECT version FROM schema_migrations").all().map { try $0.decode(column: "version", as: Int.self) })
            var applied: [Int] = []
            for migration in Self.all where !done.contains(migration.version) {
                for statement in migration.statements(dialect) {
                    try await sql.raw(SQLQueryString(statement)).run()
                }
                try await migration.afterStatements?(sql, dialect)
                try await sql.raw(
                    """
                    INSERT INTO schema_migrations (version, name, applied_at)
                    VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: Timestamp.now()))
                    """
                ).run()
                applied.append(migration.version)
            }
            return applied
        }
    }

    /// How long a process waits for another one's migrations on SQLite.
    private static let lockWait: Duration = .seconds(120)

    /// Holds PostgreSQL's transaction-scoped advisory lock reserved for
    /// migrations, so that replicas starting together take turns.
    private static func lockAgainstOtherMigrators(_ sql: any SQLDatabase, dialect: Dialect) async throws {
        if dialect == .postgres {
            try await sql.raw("SELECT pg_advisory_xact_lock(7310045)").run()
        }
    }

    /// The highest version applied, or nil when the database has never been migrated.
    public func currentVersion() async throws -> Int? {
        try await database.read { sql in
            let table = try await sql.raw(
                database.dialect == .sqlite
                    ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
                    : "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'"
            ).first()
            guard table != nil else { return nil }
            let row = try await sql.raw("SELECT MAX(version) AS version FROM schema_migrations").first()
            return try row?.decode(column: "version", as: Int?.self)
        }
    }

    /// Succeeds when the database is reachable and at the expected version.
    public func checkReady() async throws(DatabaseError) {
        let version: Int?
        do {
            version = try await currentVersion()
        } catch {
            throw .unavailable(Database.describe(error))
        }
        guard let version else { throw .schemaMismatch("the database has not been migrated; run `rca-assistant migrate`") }
        guard version == Self.latestVersion else {
            throw .schemaMismatch("schema version is \(version), this build expects \(Self.latestVersion)")
        }
    }
}

extension Migrator {
    static let initialSchema = Migration(version: 1, name: "initial schema") { dialect in
        [
            """
            CREATE TABLE tickets (
                id TEXT PRIMARY KEY,
                timestamp TEXT NOT NULL,
                pipeline TEXT,
                run_id TEXT,
                rca_result TEXT,
                recommendations TEXT,
                confidence TEXT,
                severity TEXT,
                priority TEXT,
                error_type TEXT,
                affected_entity TEXT,
                status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'acknowledged')),
                ack_user TEXT,
                ack_empid TEXT,
                ack_ts TEXT,
                ack_seconds INTEGER,
                sla_seconds INTEGER,
                sla_status TEXT,
                slack_ts TEXT,
                slack_channel TEXT,
                finops_team TEXT,
                finops_owner TEXT,
                finops_cost_center TEXT,
                blob_log_url TEXT,
                itsm_ticket_id TEXT,
                logic_app_run_id TEXT,
                processing_mode TEXT,
                source TEXT NOT NULL CHECK (source IN ('adf', 'databricks', 'azure-monitor', 'alertmanager', 'generic')),
                dedup_key TEXT NOT NULL UNIQUE,
                fingerprint TEXT,
                error_message TEXT,
                occurrence_count INTEGER NOT NULL DEFAULT 1,
                first_seen TEXT NOT NULL,
                last_seen TEXT NOT NULL,
                source_status TEXT NOT NULL DEFAULT 'firing' CHECK (source_status IN ('firing', 'resolved')),
                analysis_state TEXT NOT NULL DEFAULT 'pending' CHECK (analysis_state IN ('pending', 'done', 'failed')),
                updated_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX idx_tickets_status_timestamp ON tickets (status, timestamp)",
            "CREATE INDEX idx_tickets_fingerprint ON tickets (fingerprint)",
            "CREATE INDEX idx_tickets_run_id ON tickets (run_id)",
            "CREATE INDEX idx_tickets_pipeline ON tickets (pipeline)",
            "CREATE INDEX idx_tickets_itsm ON tickets (itsm_ticket_id)",
            """
            CREATE TABLE audit_trail (
                id \(dialect.autoIncrementPrimaryKey),
                timestamp TEXT NOT NULL,
                ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
                pipeline TEXT,
                run_id TEXT,
                action TEXT NOT NULL,
                user_name TEXT,
                user_empid TEXT,
                time_taken_seconds INTEGER,
                mttr_minutes \(dialect.double),
                sla_status TEXT,
                rca_summary TEXT,
                finops_team TEXT,
                finops_owner TEXT,
                details TEXT,
                itsm_ticket_id TEXT
            )
            """,
            "CREATE INDEX idx_audit_ticket_timestamp ON audit_trail (ticket_id, timestamp)",
            "CREATE INDEX idx_audit_action ON audit_trail (action)",
            """
            CREATE TABLE users (
                id \(dialect.autoIncrementPrimaryKey),
                email TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                full_name TEXT,
                created_at TEXT NOT NULL,
                last_login TEXT,
                role TEXT NOT NULL DEFAULT 'viewer' CHECK (role IN ('viewer', 'responder', 'admin')),
                disabled \(dialect.boolean) NOT NULL DEFAULT \(dialect.falseLiteral)
            )
            """,
            """
            CREATE TABLE raw_payloads (
                id \(dialect.autoIncrementPrimaryKey),
                received_at TEXT NOT NULL,
                endpoint TEXT NOT NULL,
                content_type TEXT,
                remote_address TEXT,
                body \(dialect.bytes) NOT NULL,
                body_size INTEGER NOT NULL,
                parse_status TEXT NOT NULL CHECK (parse_status IN ('pending', 'parsed', 'failed', 'ignored')),
                parse_error TEXT,
                ticket_ids TEXT
            )
            """,
            "CREATE INDEX idx_raw_payloads_status ON raw_payloads (parse_status, id)",
            "CREATE INDEX idx_raw_payloads_received ON raw_payloads (received_at)",
            """
            CREATE TABLE jobs (
                id \(dialect.autoIncrementPrimaryKey),
                kind TEXT NOT NULL,
                payload TEXT NOT NULL,
                unique_key TEXT UNIQUE,
                state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
                attempts INTEGER NOT NULL DEFAULT 0,
                max_attempts INTEGER NOT NULL,
                run_after BIGINT NOT NULL,
                lease_owner TEXT,
                lease_expires_at BIGINT,
                last_error TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX idx_jobs_claim ON jobs (state, run_after)",
            "CREATE INDEX idx_jobs_lease ON jobs (state, lease_expires_at)",
        ]
    }
}

extension Migrator {
    /// What ingestion and enrichment keep beyond the seed's columns: the
    /// source's facts, what to fetch to find the real error, why analysis
    /// failed, and the payload that opened the ticket.
    static let ingestionDetails = Migration(version: 2, name: "ingestion details") { _ in
        [
            "ALTER TABLE tickets ADD COLUMN details TEXT",
            "ALTER TABLE tickets ADD COLUMN enrichment TEXT",
            "ALTER TABLE tickets ADD COLUMN analysis_error TEXT",
            "ALTER TABLE tickets ADD COLUMN raw_payload_id BIGINT",
        ]
    }
}

extension Migrator {
    /// What an analysis adds beyond the seed's RCA columns: the taxonomy
    /// category, the quoted evidence, whether a retry may fix it, and which
    /// engine (and model) answered at what cost.
    static let analysisResults = Migration(version: 3, name: "analysis results") { dialect in
        [
            "ALTER TABLE tickets ADD COLUMN category TEXT",
            "ALTER TABLE tickets ADD COLUMN evidence TEXT",
            "ALTER TABLE tickets ADD COLUMN auto_heal_possible \(dialect.boolean)",
            "ALTER TABLE tickets ADD COLUMN analysis_engine TEXT",
            "ALTER TABLE tickets ADD COLUMN analysis_model TEXT",
            "ALTER TABLE tickets ADD COLUMN analysis_tokens INTEGER",
            "ALTER TABLE tickets ADD COLUMN analysis_latency_ms INTEGER",
            "ALTER TABLE tickets ADD COLUMN sla_deadline TEXT",
            "CREATE INDEX idx_tickets_sla_watch ON tickets (sla_status, sla_deadline)",
        ]
    }
}

extension Migrator {
    /// Links between tickets (recurrences, a pipeline and the run it called,
    /// a cluster and the jobs on it), the open ticket a recurrence was folded
    /// into, the Databricks cluster a failure ran on, and the daily count of model calls that all replicas share.
    static let ticketLinks = Migration(version: 4, name: "ticket links and model usage") { _ in
        [
            "ALTER TABLE tickets ADD COLUMN recurrence_of TEXT",
            "ALTER TABLE tickets ADD COLUMN cluster_id TEXT",
            "CREATE INDEX idx_tickets_cluster ON tickets (cluster_id, timestamp) WHERE cluster_id IS NOT NULL",
            "CREATE INDEX idx_tickets_fingerprint_pipeline ON tickets (fingerprint, pipeline)",
            "DROP INDEX idx_tickets_fingerprint",
            """
            CREATE TABLE ticket_links (
                ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
                related_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
                relation TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (ticket_id, related_id, relation)
            )
            """,
            "CREATE INDEX idx_ticket_links_related ON ticket_links (related_id)",
            """
            CREATE TABLE model_usage (
                day TEXT PRIMARY KEY,
                calls INTEGER NOT NULL DEFAULT 0,
                tokens BIGINT NOT NULL DEFAULT 0
            )
            """,
        ]
    }
}

extension Migrator {
    /// What the dashboard needs: who took a ticket in hand and when, the time
    /// to first response (MTTA), and indexes for its lists (recurrences are
    /// left out of every list) and its audit viewer. The lists' indexes replace
    /// the first schema's (status, timestamp) one; every index is paid for by
    /// each ingested ticket, so none is kept that no query uses.
    static let dashboard = Migration(version: 5, name: "dashboard") { _ in
        [
            "ALTER TABLE tickets ADD COLUMN in_progress_user TEXT",
            "ALTER TABLE tickets ADD COLUMN in_progress_ts TEXT",
            "ALTER TABLE tickets ADD COLUMN response_seconds INTEGER",
            "CREATE INDEX idx_tickets_queue ON tickets (status, (COALESCE(priority, 'P9')), first_seen, id) WHERE recurrence_of IS NULL",
            "CREATE INDEX idx_tickets_recent ON tickets (status, first_seen, id) WHERE recurrence_of IS NULL",
            "DROP INDEX idx_tickets_status_timestamp",
            "CREATE INDEX idx_audit_action_id ON audit_trail (action, id)",
        ]
    }
}

extension Migrator {
    /// Per ticket and channel: the remote object a notifier made (Slack
    /// message, Jira issue…), so that every later delivery updates it, and a
    /// lease so that two workers never deliver to one channel for one ticket
    /// at the same time.
    static let deliveries = Migration(version: 6, name: "deliveries") { _ in
        [
            """
            CREATE TABLE deliveries (
                ticket_id TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
                channel TEXT NOT NULL,
                remote_id TEXT,
                location TEXT,
                last_reason TEXT,
                last_error TEXT,
                lease_until BIGINT,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (ticket_id, channel)
            )
            """,
        ]
    }
}

extension Migrator {
    /// How many times a delivery was started, so that only a delivery an
    /// earlier attempt may have reached asks the channel what it already has
    /// (Slack allows few history calls a minute); and an index for counting
    /// a ticket's recurrences, which every notification shows (without it,
    /// each notification scanned the whole tickets table).
    static let deliveryAttempts = Migration(version: 7, name: "delivery attempts") { _ in
        [
            "ALTER TABLE deliveries ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
            "CREATE INDEX idx_tickets_recurrence_of ON tickets (recurrence_of) WHERE recurrence_of IS NOT NULL",
        ]
    }

    /// Indexes that keep the per-ticket lookups of the worker independent of
    /// how many tickets and jobs are stored: the analysis cache (the earliest
    /// analyzed ticket of a fingerprint), the recurrence check (the latest one
    /// of a fingerprint on a pipeline) and the job claim (the oldest queued job)
    /// each read one index entry instead of sorting every match.
    static let lookupsThatScale = Migration(version: 8, name: "lookups that scale") { _ in
        [
            "DROP INDEX idx_tickets_fingerprint_pipeline",
            """
            CREATE INDEX idx_tickets_analysis_cache ON tickets (fingerprint, first_seen, id)
            WHERE analysis_state = 'done' AND rca_result IS NOT NULL
            """,
            """
            CREATE INDEX idx_tickets_recurrence_candidates ON tickets (fingerprint, pipeline, first_seen, id)
            WHERE analysis_state = 'done' AND recurrence_of IS NULL
            """,
            "DROP INDEX idx_jobs_claim",
            "CREATE INDEX idx_jobs_claim ON jobs (state, run_after, id)",
        ]
    }

    /// Failed guesses of secrets (sign-in passwords, the webhook token),
    /// counted in a window per account or address, so that every replica and
    /// a restarted server hold a guesser to the same limit.
    static let guessFailures = Migration(version: 9, name: "guess failures") { _ in
        [
            """
            CREATE TABLE guess_failures (
                scope TEXT NOT NULL,
                subject TEXT NOT NULL,
                window_started TEXT NOT NULL,
                failures INTEGER NOT NULL,
                PRIMARY KEY (scope, subject)
            )
            """,
            "CREATE INDEX idx_guess_failures_window ON guess_failures (scope, window_started)",
        ]
    }

    /// When each account's sessions last ended (sign-out, password reset,
    /// role change, disabling): tokens issued before it are refused.
    static let sessionRevocation = Migration(version: 10, name: "session revocation") { _ in
        ["ALTER TABLE users ADD COLUMN sessions_valid_after TEXT"]
    }

    /// Responders' corrections of analyses, one per failure fingerprint: the
    /// worker reuses them for later tickets of the same failure, and
    /// `rca-assistant rules export` turns them into site rules. A correction
    /// names the ticket it was made on but outlives it.
    static let analysisCorrections = Migration(version: 11, name: "analysis corrections") { _ in
        [
            """
            CREATE TABLE analysis_corrections (
                fingerprint TEXT PRIMARY KEY,
                source TEXT NOT NULL,
                category TEXT NOT NULL,
                error_type TEXT NOT NULL,
                root_cause TEXT NOT NULL,
                severity TEXT NOT NULL,
                recommendations TEXT NOT NULL,
                evidence TEXT NOT NULL,
                ticket_id TEXT NOT NULL,
                corrected_by TEXT NOT NULL,
                corrected_at TEXT NOT NULL
            )
            """,
        ]
    }
}

extension Migrator {
    /// The lifecycle on-call tools use: acknowledging a ticket takes it (and
    /// stops the SLA clock) without closing it, and resolving closes it. The
    /// prototype's closing "acknowledged" becomes "resolved" with its times
    /// kept: the first response (in progress, or the close itself) is the
    /// acknowledgement, the close is the resolution. Also who owns a ticket,
    /// its resolution note, the severity the sender reported with the reason
    /// the analysis gave when it raised it, and what decided the analysis.
    static let lifecycle = Migration(
        version: 12, name: "acknowledge, resolve, owners and the sender's severity",
        statements: { dialect in
            var statements = [
                "ALTER TABLE tickets ADD COLUMN assignee TEXT",
                "ALTER TABLE tickets ADD COLUMN resolved_user TEXT",
                "ALTER TABLE tickets ADD COLUMN resolved_ts TEXT",
                "ALTER TABLE tickets ADD COLUMN resolve_seconds INTEGER",
                "ALTER TABLE tickets ADD COLUMN resolution_note TEXT",
                "ALTER TABLE tickets ADD COLUMN reported_severity TEXT",
                "ALTER TABLE tickets ADD COLUMN severity_reason TEXT",
                "ALTER TABLE tickets ADD COLUMN decided_by TEXT",
            ]
            if dialect == .postgres {
                statements.append(
                    """
                    ALTER TABLE tickets DROP CONSTRAINT tickets_status_check,
                        ADD CONSTRAINT tickets_status_check CHECK (status IN ('open', 'acknowledged', 'in_progress', 'resolved'))
                    """
                )
            }
            return statements
        },
        afterStatements: { sql, dialect in
            if dialect == .sqlite { try await widenSQLiteStatusCheck(sql) }
            try await sql.raw(
                """
                UPDATE tickets SET status = 'resolved', resolved_user = ack_user, resolved_ts = ack_ts, resolve_seconds = ack_seconds,
                    ack_user = COALESCE(in_progress_user, ack_user), ack_ts = COALESCE(in_progress_ts, ack_ts),
                    ack_seconds = COALESCE(response_seconds, ack_seconds), assignee = COALESCE(in_progress_user, ack_user)
                WHERE status = 'acknowledged'
                """
            ).run()
            try await sql.raw(
                """
                UPDATE tickets SET ack_user = in_progress_user, ack_ts = in_progress_ts, ack_seconds = response_seconds, assignee = in_progress_user,
                    sla_status = CASE WHEN sla_status = 'Pending' AND (sla_deadline IS NULL OR in_progress_ts <= sla_deadline) THEN 'Met'
                                      WHEN sla_status = 'Pending' THEN 'Breached' ELSE sla_status END
                WHERE status = 'in_progress'
                """
            ).run()
        }
    )

    static let ticketCounters = Migration(
        version: 13, name: "ticket counters",
        statements: { dialect in TicketCounters.Schema.createStatements(dialect) },
        afterStatements: { sql, _ in _ = try await TicketCounters.countCurrentTickets(on: sql) }
    )

    /// SQLite cannot alter a CHECK constraint; widening one (every stored row
    /// still satisfies it) is the schema-text edit SQLite's ALTER TABLE
    /// documentation describes, with the schema version bumped so that every
    /// connection reads the new text.
    private static func widenSQLiteStatusCheck(_ sql: any SQLDatabase) async throws {
        let old = "CHECK (status IN ('open', 'in_progress', 'acknowledged'))"
        let new = "CHECK (status IN ('open', 'acknowledged', 'in_progress', 'resolved'))"
        let version = try await sql.raw("PRAGMA schema_version").first()?.decode(column: "schema_version", as: Int.self) ?? 0
        try await sql.raw("PRAGMA writable_schema = ON").run()
        try await sql.raw(
            "UPDATE sqlite_schema SET sql = replace(sql, \(bind: old), \(bind: new)) WHERE type = 'table' AND name = 'tickets'"
        ).run()
        try await sql.raw("PRAGMA schema_version = \(unsafeRaw: String(version + 1))").run()
        try await sql.raw("PRAGMA writable_schema = OFF").run()
        let text = try await sql.raw("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'tickets'").first()?
            .decode(column: "sql", as: String.self) ?? ""
        guard text.contains(new) else { throw DatabaseError.schemaMismatch("tickets.status has a CHECK constraint migration 12 does not recognise; it was changed by hand") }
    }
}
