import Foundation
import Logging
import SQLiteKit

/// The three tables of the Python prototype's database (tickets, audit trail,
/// users), read from its SQLite file or from CSV exports of them. Each row
/// maps a column to its text; NULL and empty values are left out, because a
/// CSV export cannot tell them apart.
public struct PrototypeTables: Sendable {
    public typealias Row = [String: String]

    public var tickets: [Row]
    public var auditTrail: [Row]
    public var users: [Row]

    public init(tickets: [Row], auditTrail: [Row], users: [Row]) {
        self.tickets = tickets
        self.auditTrail = auditTrail
        self.users = users
    }

    /// The prototype's columns, the only ones read: a column name from the
    /// file never reaches a statement unless it is one of these.
    static let columns: [String: [String]] = [
        "tickets": [
            "id", "timestamp", "pipeline", "run_id", "rca_result", "recommendations", "confidence", "severity", "priority",
            "error_type", "affected_entity", "status", "ack_user", "ack_empid", "ack_ts", "ack_seconds", "sla_seconds",
            "sla_status", "slack_ts", "slack_channel", "finops_team", "finops_owner", "finops_cost_center", "blob_log_url",
            "itsm_ticket_id", "logic_app_run_id", "processing_mode",
        ],
        "audit_trail": [
            "id", "timestamp", "ticket_id", "pipeline", "run_id", "action", "user_name", "user_empid", "time_taken_seconds",
            "mttr_minutes", "sla_status", "rca_summary", "finops_team", "finops_owner", "details", "itsm_ticket_id",
        ],
        "users": ["id", "email", "password_hash", "full_name", "created_at", "last_login"],
    ]

    /// Columns without which a table is not the prototype's.
    static let required: [String: Set<String>] = [
        "tickets": ["id", "timestamp", "run_id", "status"],
        "audit_trail": ["ticket_id", "action"],
        "users": ["email", "password_hash"],
    ]

    /// Reads a prototype's SQLite file without changing it.
    public static func read(sqliteFile path: String, logger: Logger) async throws(PrototypeImportError) -> PrototypeTables {
        guard FileManager.default.isReadableFile(atPath: path) else { throw .unreadable("\(path) does not exist or cannot be read") }
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        } catch {
            throw .unreadable("\(path) cannot be opened as SQLite: \(Database.describe(error))")
        }
        do {
            let tables = try await readTables(connection.sql(), path: path)
            try await connection.close()
            return tables
        } catch {
            try? await connection.close()
            if let error = error as? PrototypeImportError { throw error }
            throw .notPrototype("\(path) is not a SQLite database (\(Database.describe(error)))")
        }
    }

    private static func readTables(_ sql: any SQLDatabase, path: String) async throws -> PrototypeTables {
        let names = Set(try await sql.raw("SELECT name FROM sqlite_master WHERE type = 'table'").all().map { try $0.decode(column: "name", as: String.self) })
        if names.contains("schema_migrations") {
            throw PrototypeImportError.notPrototype("\(path) is an RCA Assistant database, not the prototype's; point DATABASE_URL at it instead of importing it")
        }
        var read: [String: [Row]] = [:]
        for table in ["tickets", "audit_trail", "users"] {
            guard names.contains(table), let known = columns[table] else {
                throw PrototypeImportError.notPrototype("\(path) has no \(table) table, so it is not a prototype database")
            }
            let present = Set(try await sql.raw("SELECT name FROM pragma_table_info(\(bind: table))").all().map { try $0.decode(column: "name", as: String.self) })
            let missing = (required[table] ?? []).subtracting(present)
            guard missing.isEmpty else {
                throw PrototypeImportError.notPrototype("\(path) has a \(table) table without \(missing.sorted().joined(separator: ", ")), so it is not a prototype database")
            }
            let selected = known.filter(present.contains)
            let list = selected.map { "CAST(\($0) AS TEXT) AS \($0)" }.joined(separator: ", ")
            let order = present.contains("id") ? "id" : "rowid"
            read[table] = try await sql.raw("SELECT \(unsafeRaw: list) FROM \(unsafeRaw: table) ORDER BY \(unsafeRaw: order)").all().map { row in
                var values: Row = [:]
                for column in selected {
                    if let value = try row.decode(column: column, as: String?.self), !value.isEmpty { values[column] = value }
                }
                return values
            }
        }
        return PrototypeTables(tickets: read["tickets"] ?? [], auditTrail: read["audit_trail"] ?? [], users: read["users"] ?? [])
    }

    /// Reads `tickets.csv`, `audit_trail.csv` and `users.csv` from a folder:
    /// the prototype's tables exported from Azure SQL (docs/migrating.md).
    public static func read(csvDirectory directory: String) throws(PrototypeImportError) -> PrototypeTables {
        var read: [String: [Row]] = [:]
        for table in ["tickets", "audit_trail", "users"] {
            let path = URL(fileURLWithPath: directory).appendingPathComponent("\(table).csv").path
            guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable("\(path) does not exist or cannot be read") }
            let csv: CSVTable
            do {
                csv = try CSVTable(text: String(decoding: data, as: UTF8.self))
            } catch {
                throw .notPrototype("\(path) is not a CSV export of the prototype's \(table) table: \(error.description)")
            }
            let missing = (required[table] ?? []).subtracting(csv.header)
            guard missing.isEmpty else {
                throw .notPrototype("\(path) has no \(missing.sorted().joined(separator: ", ")) column, so it is not the prototype's \(table) table")
            }
            let known = Set(columns[table] ?? [])
            read[table] = csv.rows.map { fields in
                var values: Row = [:]
                for (column, value) in zip(csv.header, fields) where known.contains(column) && !value.isEmpty && value != "NULL" {
                    values[column] = value
                }
                return values
            }
        }
        return PrototypeTables(tickets: read["tickets"] ?? [], auditTrail: read["audit_trail"] ?? [], users: read["users"] ?? [])
    }
}

/// Why a prototype database could not be read; each says what to do in one line.
public enum PrototypeImportError: Error, Equatable, CustomStringConvertible {
    case unreadable(String)
    case notPrototype(String)

    public var description: String {
        switch self {
        case .unreadable(let reason), .notPrototype(let reason): reason
        }
    }
}
