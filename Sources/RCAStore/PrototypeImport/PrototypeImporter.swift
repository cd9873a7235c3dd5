import Foundation
import RCACore
import SQLKit

/// What an import did: how many rows of each table it added, and each row
/// it left out with the reason, so that a person can check the result.
public struct PrototypeImportReport: Sendable, Equatable {
    /// One row the import left out: its table, the row's key and why.
    public struct Skipped: Sendable, Equatable {
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
/// Everything is written in one transaction, so a failure leaves no half import.
public struct PrototypeImporter: Sendable {
    private let database: Database

    public init(database: Database) {
        self.database = database
    }

    public func run(_ tables: PrototypeTables, role: UserRole, now: Date = Date()) async throws -> PrototypeImportReport {
        try await database.transaction { sql in
            var report = PrototypeImportReport()
            var imported: Set<String> = []
            var breached: [String] = []
            for row in tables.tickets {
                switch try await Self.importTicket(row, now: now, on: sql) {
                case .imported(let id, let pastDeadline):
                    imported.insert(id)
                    report.tickets += 1
                    if pastDeadline { breached.append(id) }
                case .skipped(let key, let reason):
                    report.skipped.append(.init(table: "tickets", key: key, reason: reason))
                }
            }
            for row in tables.auditTrail {
                let key = row["id"] ?? "\(row["ticket_id"] ?? "?") \(row["action"] ?? "?")"
                guard let ticketID = row["ticket_id"], imported.contains(ticketID) else {
                    report.skipped.append(.init(table: "audit_trail", key: key, reason: "its ticket was not imported in this run"))
                    continue
                }
                guard let timestamp = row["timestamp"].flatMap(PrototypeTime.normalized) else {
                    report.skipped.append(.init(table: "audit_trail", key: key, reason: "its timestamp is missing or not a date"))
                    continue
                }
                try await Self.insertAudit(row, ticketID: ticketID, timestamp: timestamp, on: sql)
                report.auditEntries += 1
            }
            for id in imported {
                try await TicketStore.appendAudit(ticketID: id, action: "Imported", details: "from the Python prototype's database", on: sql)
            }
            for id in breached {
                try await TicketStore.appendAudit(ticketID: id, action: "SLA Breached", details: "past its deadline when imported; no notification sent", on: sql)
            }
            report.breachedAtImport = breached.count
            for row in tables.users {
                if let reason = try await Self.importUser(row, role: role, now: now, on: sql) {
                    report.skipped.append(.init(table: "users", key: row["email"] ?? "?", reason: reason))
                } else {
                    report.users += 1
                }
            }
            return report
        }
    }

    private enum TicketOutcome {
        case imported(id: String, pastDeadline: Bool)
        case skipped(key: String, reason: String)
    }

    private static func importTicket(_ row: PrototypeTables.Row, now: Date, on sql: any SQLDatabase) async throws -> TicketOutcome {
        guard let id = row["id"], PrototypeText.isTicketID(id) else {
            return .skipped(key: row["id"] ?? "?", reason: "its id is missing or holds characters a ticket id may not (letters, digits, . _ : - only, up to 100)")
        }
        guard let timestamp = row["timestamp"].flatMap(PrototypeTime.normalized) else {
            return .skipped(key: id, reason: "its timestamp is missing or not a date")
        }
        guard let status = row["status"].flatMap(TicketStatus.init(rawValue:)) else {
            return .skipped(key: id, reason: "its status \"\(row["status"] ?? "")\" is not open, in_progress or acknowledged")
        }
        let source = PrototypeRunKey.source(ticketID: id)
        let dedupKey = PrototypeRunKey.dedupKey(source: source, runID: row["run_id"], ticketID: id)
        let existing = try await sql.raw(
            "SELECT id, dedup_key FROM tickets WHERE id = \(bind: id) OR dedup_key = \(bind: dedupKey)"
        ).all()
        if let other = try existing.first?.decode(column: "id", as: String.self) {
            return .skipped(key: id, reason: other == id ? "a ticket with this id is already here" : "its run already has ticket \(other) here")
        }
        let slaSeconds = row["sla_seconds"].flatMap(PrototypeNumber.int)
        let deadline = slaSeconds.flatMap { seconds in
            Timestamp.date(from: timestamp).map { Timestamp.string(from: $0.addingTimeInterval(TimeInterval(seconds))) }
        }
        var slaStatus = row["sla_status"] ?? (status == .acknowledged ? nil : "Pending")
        let breached = status != .acknowledged && slaStatus == "Pending" && deadline.map { $0 <= Timestamp.string(from: now) } == true
        if breached { slaStatus = "Breached" }
        let ackTime = row["ack_ts"].flatMap(PrototypeTime.normalized)
        let columns: [(String, any Encodable & Sendable)] = [
            ("id", id), ("timestamp", timestamp), ("pipeline", row["pipeline"]), ("run_id", row["run_id"]),
            ("rca_result", row["rca_result"]), ("recommendations", PrototypeText.jsonArray(row["recommendations"])),
            ("confidence", row["confidence"]), ("severity", row["severity"]), ("priority", row["priority"]),
            ("error_type", row["error_type"]), ("affected_entity", row["affected_entity"]), ("status", status.rawValue),
            ("ack_user", row["ack_user"]), ("ack_empid", row["ack_empid"]), ("ack_ts", ackTime),
            ("ack_seconds", row["ack_seconds"].flatMap(PrototypeNumber.int)), ("sla_seconds", slaSeconds), ("sla_status", slaStatus),
            ("sla_deadline", deadline), ("slack_ts", row["slack_ts"]), ("slack_channel", row["slack_channel"]),
            ("finops_team", row["finops_team"]), ("finops_owner", row["finops_owner"]), ("finops_cost_center", row["finops_cost_center"]),
            ("blob_log_url", row["blob_log_url"]), ("itsm_ticket_id", row["itsm_ticket_id"]), ("logic_app_run_id", row["logic_app_run_id"]),
            ("processing_mode", row["processing_mode"] ?? "prototype_import"), ("source", source.rawValue), ("dedup_key", dedupKey),
            ("occurrence_count", 1), ("first_seen", timestamp), ("last_seen", timestamp), ("source_status", "firing"),
            ("analysis_state", "done"), ("analysis_engine", "prototype"), ("updated_at", ackTime ?? timestamp),
        ]
        try await sql.raw(
            "INSERT INTO tickets (\(unsafeRaw: columns.map(\.0).joined(separator: ", "))) VALUES (\(binds: columns.map(\.1)))"
        ).run()
        let references: [(channel: String, id: String?, location: String?)] = [
            ("slack", row["slack_ts"], row["slack_channel"]), ("jira", row["itsm_ticket_id"], nil), ("blob", row["blob_log_url"], nil),
        ]
        for reference in references {
            guard let remoteID = reference.id else { continue }
            try await sql.raw(
                """
                INSERT INTO deliveries (ticket_id, channel, remote_id, location, last_reason, updated_at, attempts)
                VALUES (\(bind: id), \(bind: reference.channel), \(bind: remoteID), \(bind: reference.location), 'imported', \(bind: Timestamp.string(from: now)), 1)
                """
            ).run()
        }
        return .imported(id: id, pastDeadline: breached)
    }

    private static func insertAudit(_ row: PrototypeTables.Row, ticketID: String, timestamp: String, on sql: any SQLDatabase) async throws {
        let columns: [(String, any Encodable & Sendable)] = [
            ("timestamp", timestamp), ("ticket_id", ticketID), ("pipeline", row["pipeline"]), ("run_id", row["run_id"]),
            ("action", row["action"] ?? "Unknown"), ("user_name", row["user_name"]), ("user_empid", row["user_empid"]),
            ("time_taken_seconds", row["time_taken_seconds"].flatMap(PrototypeNumber.int)),
            ("mttr_minutes", row["mttr_minutes"].flatMap(Double.init)), ("sla_status", row["sla_status"]),
            ("rca_summary", row["rca_summary"]), ("finops_team", row["finops_team"]), ("finops_owner", row["finops_owner"]),
            ("details", row["details"]), ("itsm_ticket_id", row["itsm_ticket_id"]),
        ]
        try await sql.raw(
            "INSERT INTO audit_trail (\(unsafeRaw: columns.map(\.0).joined(separator: ", "))) VALUES (\(binds: columns.map(\.1)))"
        ).run()
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
