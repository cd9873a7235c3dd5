import Foundation
import RCACore
import SQLKit

/// What an import did: how many rows of each table it added, and each row
/// it left out with the reason, so that a person can check the result.
public struct PrototypeImportReport: Sendable, Equatable {
    /// One row the import left out: its table, the row's key and why.
    public struct Skipped: Error, Sendable, Equatable {
        public let table: String
        public let key: String
        public let reason: String
    }

    public var tickets = 0
    public var auditEntries = 0
    public var users = 0
    /// Open tickets already past their SLA, imported as Breached without a notification.
    public var breachedAtImport = 0
    public var skipped: [Skipped] = []

    public var isEmpty: Bool { tickets == 0 && auditEntries == 0 && users == 0 }
}

/// Brings the prototype's tickets, audit trail and accounts into this
/// store, so that a team moving over keeps its history, its open work and its
/// sign-ins. Ticket ids are kept; a run id becomes the dedup key the matching
/// source computes, so a resent alert of an imported run folds into the
/// imported ticket. Slack, Jira and Blob references become delivery records,
/// so later updates edit the prototype's Slack message instead of posting a
/// new one. Running it again adds nothing: rows already here are skipped.
/// Tickets are written `batchSize` at a time, each with its audit lines and
/// references in the same transaction, so a failure leaves no half ticket
/// and running again finishes the import.
public struct PrototypeImporter: Sendable {
    private let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Tickets written per transaction, with their audit lines and references:
    /// a large history goes in as many short transactions, and a run that
    /// stops half-way is finished by running it again.
    public static let batchSize = 250

    public func run(_ tables: PrototypeTables, role: UserRole, now: Date = Date()) async throws -> PrototypeImportReport {
        var report = PrototypeImportReport()
        var prepared: [PreparedTicket] = []
        var seenIDs: Set<String> = []
        var seenKeys: Set<String> = []
        for row in tables.tickets {
            switch Self.prepare(row, now: now) {
            case .success(let ticket):
                guard !seenIDs.contains(ticket.id), !seenKeys.contains(ticket.dedupKey) else {
                    report.skipped.append(.init(table: "tickets", key: ticket.id, reason: "its id or run appears earlier in the file"))
                    continue
                }
                seenIDs.insert(ticket.id)
                seenKeys.insert(ticket.dedupKey)
                prepared.append(ticket)
            case .failure(let skipped):
                report.skipped.append(skipped)
            }
        }
        var auditByTicket: [String: [PrototypeTables.Row]] = [:]
        for row in tables.auditTrail {
            guard let ticketID = row["ticket_id"], seenIDs.contains(ticketID) else {
                report.skipped.append(.init(table: "audit_trail", key: Self.auditKey(row), reason: "its ticket was not imported in this run"))
                continue
            }
            auditByTicket[ticketID, default: []].append(row)
        }
        for batch in prepared.chunked(Self.batchSize) {
            let entries = batch.map { (ticket: $0, audits: auditByTicket[$0.id] ?? []) }
            let outcome = try await database.transaction { sql in
                try await Self.importBatch(entries, now: now, on: sql)
            }
            report.tickets += outcome.tickets
            report.auditEntries += outcome.auditEntries
            report.breachedAtImport += outcome.breachedAtImport
            report.skipped += outcome.skipped
        }
        let users = try await database.transaction { sql in
            var outcome = PrototypeImportReport()
            for row in tables.users {
                if let reason = try await Self.importUser(row, role: role, now: now, on: sql) {
                    outcome.skipped.append(.init(table: "users", key: row["email"] ?? "?", reason: reason))
                } else {
                    outcome.users += 1
                }
            }
            return outcome
        }
        report.users = users.users
        report.skipped += users.skipped
        return report
    }

    private static func auditKey(_ row: PrototypeTables.Row) -> String {
        row["id"] ?? "\(row["ticket_id"] ?? "?") \(row["action"] ?? "?")"
    }

    /// A prototype ticket checked and turned into this store's row, ready to insert.
    struct PreparedTicket: Sendable {
        let id: String
        let dedupKey: String
        let columns: [(String, any Encodable & Sendable)]
        let references: [(channel: String, id: String, location: String?)]
        let pastDeadline: Bool
    }

    /// Inserts the tickets of one batch that are not here yet, with their references and audit lines.
    private static func importBatch(
        _ batch: [(ticket: PreparedTicket, audits: [PrototypeTables.Row])], now: Date, on sql: any SQLDatabase
    ) async throws -> PrototypeImportReport {
        var outcome = PrototypeImportReport()
        var present: [String: String] = [:]
        let ids = batch.map(\.ticket.id)
        let keys = batch.map(\.ticket.dedupKey)
        for row in try await sql.raw("SELECT id, dedup_key FROM tickets WHERE id IN (\(binds: ids)) OR dedup_key IN (\(binds: keys))").all() {
            let id = try row.decode(column: "id", as: String.self)
            present[id] = id
            present[try row.decode(column: "dedup_key", as: String.self)] = id
        }
        var fresh: [(ticket: PreparedTicket, audits: [PrototypeTables.Row])] = []
        for entry in batch {
            guard let other = present[entry.ticket.id] ?? present[entry.ticket.dedupKey] else {
                fresh.append(entry)
                continue
            }
            let reason = other == entry.ticket.id ? "a ticket with this id is already here" : "its run already has ticket \(other) here"
            outcome.skipped.append(.init(table: "tickets", key: entry.ticket.id, reason: reason))
            outcome.skipped += entry.audits.map { .init(table: "audit_trail", key: auditKey($0), reason: "its ticket was not imported in this run") }
        }
        guard let first = fresh.first else { return outcome }
        let names = first.ticket.columns.map(\.0).joined(separator: ", ")
        for chunk in fresh.chunked(100) {
            let rows: [SQLQueryString] = chunk.map { "(\(binds: $0.ticket.columns.map(\.1)))" }
            try await sql.raw("INSERT INTO tickets (\(unsafeRaw: names)) VALUES " + rows.joined(separator: ", ")).run()
        }
        let stamp = Timestamp.string(from: now)
        let references: [SQLQueryString] = fresh.flatMap { entry in
            entry.ticket.references.map { "(\(bind: entry.ticket.id), \(bind: $0.channel), \(bind: $0.id), \(bind: $0.location), 'imported', \(bind: stamp), 1)" }
        }
        for chunk in references.chunked(500) {
            try await sql.raw(
                "INSERT INTO deliveries (ticket_id, channel, remote_id, location, last_reason, updated_at, attempts) VALUES " + chunk.joined(separator: ", ")
            ).run()
        }
        var auditRows: [SQLQueryString] = []
        for entry in fresh {
            for row in entry.audits {
                guard let timestamp = row["timestamp"].flatMap(PrototypeTime.normalized) else {
                    outcome.skipped.append(.init(table: "audit_trail", key: auditKey(row), reason: "its timestamp is missing or not a date"))
                    continue
                }
                auditRows.append("(\(binds: auditValues(row, ticketID: entry.ticket.id, timestamp: timestamp)))")
            }
        }
        for chunk in auditRows.chunked(500) {
            try await sql.raw("INSERT INTO audit_trail (\(unsafeRaw: auditColumns.joined(separator: ", "))) VALUES " + chunk.joined(separator: ", ")).run()
        }
        let breached = fresh.filter(\.ticket.pastDeadline)
        let lines: [(ticketID: String, action: String, details: String?)] =
            fresh.map { ($0.ticket.id, "Imported", "from the Python prototype's database") }
            + breached.map { ($0.ticket.id, "SLA Breached", "past its deadline when imported; no notification sent") }
        for chunk in lines.chunked(8) {
            try await TicketStore.appendAudits(Array(chunk), on: sql)
        }
        outcome.tickets = fresh.count
        outcome.auditEntries = auditRows.count
        outcome.breachedAtImport = breached.count
        return outcome
    }

    private static func prepare(_ row: PrototypeTables.Row, now: Date) -> Result<PreparedTicket, PrototypeImportReport.Skipped> {
        func skip(_ key: String, _ reason: String) -> Result<PreparedTicket, PrototypeImportReport.Skipped> {
            .failure(.init(table: "tickets", key: key, reason: reason))
        }
        guard let id = row["id"], PrototypeText.isTicketID(id) else {
            return skip(row["id"] ?? "?", "its id is missing or holds characters a ticket id may not (letters, digits, . _ : - only, up to 100)")
        }
        guard let timestamp = row["timestamp"].flatMap(PrototypeTime.normalized) else {
            return skip(id, "its timestamp is missing or not a date")
        }
        guard let status = row["status"].flatMap(Self.status) else {
            return skip(id, "its status \"\(row["status"] ?? "")\" is not open, in_progress or acknowledged")
        }
        let source = PrototypeRunKey.source(ticketID: id)
        let dedupKey = PrototypeRunKey.dedupKey(source: source, runID: row["run_id"], ticketID: id)
        let slaSeconds = row["sla_seconds"].flatMap(PrototypeNumber.int)
        let deadline = slaSeconds.flatMap { seconds in
            Timestamp.date(from: timestamp).map { Timestamp.string(from: $0.addingTimeInterval(TimeInterval(seconds))) }
        }
        var slaStatus = row["sla_status"] ?? (status == .resolved ? nil : "Pending")
        // The prototype's clock ran until a ticket was closed, and it did not
        // record when work started: an unresolved ticket past its deadline was breached there.
        let breached = status != .resolved && slaStatus == "Pending" && deadline.map { $0 <= Timestamp.string(from: now) } == true
        if breached { slaStatus = "Breached" }
        let ackTime = row["ack_ts"].flatMap(PrototypeTime.normalized)
        let ackSeconds = row["ack_seconds"].flatMap(PrototypeNumber.int)
        let resolved = status == .resolved
        let columns: [(String, any Encodable & Sendable)] = [
            ("id", id), ("timestamp", timestamp), ("pipeline", row["pipeline"]), ("run_id", row["run_id"]),
            ("rca_result", row["rca_result"]), ("recommendations", PrototypeText.jsonArray(row["recommendations"])),
            ("confidence", row["confidence"]), ("severity", row["severity"]), ("priority", row["priority"]),
            ("error_type", row["error_type"]), ("affected_entity", row["affected_entity"]), ("status", status.rawValue),
            ("ack_user", row["ack_user"]), ("ack_empid", row["ack_empid"]), ("ack_ts", ackTime),
            ("ack_seconds", ackSeconds), ("sla_seconds", slaSeconds), ("sla_status", slaStatus),
            ("resolved_user", resolved ? row["ack_user"] : nil), ("resolved_ts", resolved ? ackTime : nil),
            ("resolve_seconds", resolved ? ackSeconds : nil), ("assignee", resolved ? row["ack_user"] : nil),
            ("sla_deadline", deadline), ("slack_ts", row["slack_ts"]), ("slack_channel", row["slack_channel"]),
            ("finops_team", row["finops_team"]), ("finops_owner", row["finops_owner"]), ("finops_cost_center", row["finops_cost_center"]),
            ("blob_log_url", row["blob_log_url"]), ("itsm_ticket_id", row["itsm_ticket_id"]), ("logic_app_run_id", row["logic_app_run_id"]),
            ("processing_mode", row["processing_mode"] ?? "prototype_import"), ("source", source.rawValue), ("dedup_key", dedupKey),
            ("occurrence_count", 1), ("first_seen", timestamp), ("last_seen", timestamp), ("source_status", "firing"),
            ("analysis_state", "done"), ("analysis_engine", "prototype"), ("updated_at", ackTime ?? timestamp),
        ]
        let references: [(channel: String, id: String?, location: String?)] = [
            ("slack", row["slack_ts"], row["slack_channel"]), ("jira", row["itsm_ticket_id"], nil), ("blob", row["blob_log_url"], nil),
        ]
        return .success(PreparedTicket(
            id: id, dedupKey: dedupKey, columns: columns,
            references: references.compactMap { reference in reference.id.map { (reference.channel, $0, reference.location) } },
            pastDeadline: breached
        ))
    }

    /// The prototype's statuses: its "acknowledged" closed a ticket, which is "resolved" here.
    static func status(_ text: String) -> TicketStatus? {
        switch text {
        case "open": .open
        case "in_progress": .inProgress
        case "acknowledged": .resolved
        default: nil
        }
    }

    static let auditColumns = [
        "timestamp", "ticket_id", "pipeline", "run_id", "action", "user_name", "user_empid", "time_taken_seconds", "mttr_minutes",
        "sla_status", "rca_summary", "finops_team", "finops_owner", "details", "itsm_ticket_id",
    ]

    /// One prototype audit line's values, in the order of `auditColumns`.
    private static func auditValues(_ row: PrototypeTables.Row, ticketID: String, timestamp: String) -> [any Encodable & Sendable] {
        [
            timestamp, ticketID, row["pipeline"], row["run_id"], row["action"] ?? "Unknown", row["user_name"], row["user_empid"],
            row["time_taken_seconds"].flatMap(PrototypeNumber.int), row["mttr_minutes"].flatMap(Double.init), row["sla_status"],
            row["rca_summary"], row["finops_team"], row["finops_owner"], row["details"], row["itsm_ticket_id"],
        ]
    }

    /// Adds one account; returns why it was left out, or nil when it was added.
    private static func importUser(_ row: PrototypeTables.Row, role: UserRole, now: Date, on sql: any SQLDatabase) async throws -> String? {
        guard let rawEmail = row["email"], rawEmail.contains("@"), rawEmail.count <= 320 else { return "its e-mail address is missing or malformed" }
        let email = UserStore.normalize(email: rawEmail)
        guard let hash = row["password_hash"], PrototypeText.isBcryptHash(hash) else {
            return "its password hash is not a bcrypt hash, so its password could not be checked"
        }
        let taken = try await sql.raw("SELECT COUNT(*) AS count FROM users WHERE email = \(bind: email)").first()?.decode(column: "count", as: Int.self)
        guard taken == 0 else { return "an account with this e-mail is already here" }
        let created = row["created_at"].flatMap(PrototypeTime.normalized) ?? Timestamp.string(from: now)
        try await sql.raw(
            """
            INSERT INTO users (email, password_hash, full_name, created_at, last_login, role)
            VALUES (\(bind: email), \(bind: hash), \(bind: row["full_name"]), \(bind: created),
                    \(bind: row["last_login"].flatMap(PrototypeTime.normalized)), \(bind: role.rawValue))
            """
        ).run()
        return nil
    }
}

/// How the prototype's run ids become this store's dedup keys: the key the
/// matching source computes for the same run, so that a resent alert finds
/// the imported ticket.
enum PrototypeRunKey {
    /// The source a prototype ticket came from, by its id's prefix (`ADF-…`, `DBX-…`).
    static func source(ticketID: String) -> AlertSource {
        let prefix = ticketID.split(separator: "-", maxSplits: 1).first.map { $0.uppercased() } ?? ""
        switch prefix {
        case "ADF": return .adf
        case "DBX", "DATABRICKS": return .databricks
        default: return .generic
        }
    }

    static func dedupKey(source: AlertSource, runID: String?, ticketID: String) -> String {
        guard let runID else { return "prototype:\(ticketID)" }
        switch source {
        case .adf:
            return "adf:run:\(runID)"
        case .databricks:
            return isClusterRunID(runID) ? "databricks-cluster:\(runID)" : "databricks:run:\(runID)"
        case .azureMonitor, .alertmanager, .generic:
            return "prototype:\(ticketID)"
        }
    }

    /// The prototype's cluster alerts have run ids `{cluster}_{code}_{yyyyMMddHHmmss}`.
    static func isClusterRunID(_ runID: String) -> Bool {
        let parts = runID.split(separator: "_")
        guard parts.count >= 3, let last = parts.last else { return false }
        return last.count == 14 && last.allSatisfy { $0.isASCII && $0.isNumber }
    }
}

/// The prototype wrote Python's `isoformat()` (no zone, microseconds) and
/// SQLite's `YYYY-MM-DD HH:MM:SS`, both in UTC; this store keeps one fixed form.
enum PrototypeTime {
    static func normalized(_ text: String) -> String? {
        if let date = Timestamp.date(from: text) { return Timestamp.string(from: date) }
        var characters = Array(text.trimmingCharacters(in: .whitespaces))
        guard characters.count >= 19 else { return nil }
        if characters[10] == " " { characters[10] = "T" }
        let seconds = String(characters[..<19])
        var rest = characters[19...]
        var millis = ""
        if rest.first == "." {
            let digits = rest.dropFirst().prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty else { return nil }
            millis = "." + String(digits.prefix(3)).padding(toLength: 3, withPad: "0", startingAt: 0)
            rest = rest.dropFirst(1 + digits.count)
        }
        let zone = rest.isEmpty ? "Z" : String(rest)
        return Timestamp.date(from: seconds + millis + zone).map(Timestamp.string(from:))
    }
}

enum PrototypeNumber {
    /// SQLite and CSV exports may write an INTEGER column as `900` or `900.0`.
    static func int(_ text: String) -> Int? {
        Int(text) ?? Double(text).flatMap { $0.isFinite && abs($0) < 1e15 ? Int($0) : nil }
    }
}

enum PrototypeText {
    /// The prototype kept recommendations as a JSON array; a plain text is kept as an array of its one line.
    static func jsonArray(_ text: String?) -> String? {
        guard let text else { return nil }
        if let data = text.data(using: .utf8), (try? JSONSerialization.jsonObject(with: data)) is [Any] { return text }
        return IngestionStore.jsonArray([text])
    }

    /// Ticket ids reach URLs (the dashboard's `/api/tickets/{id}`, Slack and
    /// Jira links), so an imported one holds only what the prototype's ids do.
    static func isTicketID(_ text: String) -> Bool {
        (1...100).contains(text.utf8.count) && text.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "._:-".unicodeScalars.contains(scalar))
        }
    }

    /// Python's bcrypt writes `$2b$`; other tools `$2a$` or `$2y$`: 60 characters in all.
    static func isBcryptHash(_ text: String) -> Bool {
        text.count == 60 && ["$2a$", "$2b$", "$2y$"].contains(where: text.hasPrefix)
    }
}

extension PrototypeImportReport {
    /// What the import command prints: the counts, then each reason rows
    /// were left out with how many and the first few of their keys.
    public var summaryLines: [String] {
        var lines = ["Imported \(tickets) tickets, \(auditEntries) audit entries and \(users) users."]
        if breachedAtImport > 0 {
            lines.append("\(breachedAtImport) open tickets were past their SLA and are marked Breached (no notification was sent).")
        }
        var reasons: [String: [String]] = [:]
        var order: [String] = []
        for row in skipped {
            let heading = "Skipped \(row.table): \(row.reason)"
            if reasons[heading] == nil { order.append(heading) }
            reasons[heading, default: []].append(row.key)
        }
        for heading in order {
            let keys = reasons[heading] ?? []
            let shown = keys.prefix(5).joined(separator: ", ") + (keys.count > 5 ? ", …" : "")
            lines.append("\(heading): \(keys.count) (\(shown))")
        }
        if isEmpty && skipped.isEmpty { lines.append("The prototype's tables are empty; nothing to import.") }
        return lines
    }
}

extension Array {
    /// The array cut into consecutive pieces of at most `size` elements.
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
