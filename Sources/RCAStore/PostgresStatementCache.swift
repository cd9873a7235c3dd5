import Foundation
import PostgresNIO
import SQLKit
import Synchronization

/// The server-side names of the store's `ReusableStatement`s on one
/// PostgreSQL database. A statement is known by its text and the types of
/// its bound values (a value left NULL lets the server infer the type, so it
/// makes a statement of its own); PostgresNIO prepares each name on a
/// connection the first time it is run there, and only binds and runs it
/// afterwards.
///
/// A name the server refused to run for any reason but a broken constraint
/// is retired and the statement gets a new one. PostgresNIO keeps a failed preparation
/// for the life of the connection (for example one sent inside a transaction
/// already aborted by an earlier error), and PostgreSQL refuses a prepared
/// `SELECT *` once another server has added a column ("cached plan must not
/// change result type"): under a new name, every connection prepares the
/// statement again from its text.
final class PostgresStatementCache: Sendable {
    struct Key: Hashable {
        let sql: String
        let types: [PostgresDataType]
    }

    private struct State {
        var names: [Key: String] = [:]
        var lastNumber = 0

        mutating func newName(for key: Key) -> String {
            lastNumber += 1
            let name = "rca_\(lastNumber)"
            names[key] = name
            return name
        }
    }

    private let state = Mutex(State())

    func name(for key: Key) -> String {
        state.withLock { state in state.names[key] ?? state.newName(for: key) }
    }

    /// Retires `name` after the server refused to run it with `error`, unless
    /// the data broke a constraint, which says nothing of the statement. A
    /// lost connection retires nothing: its prepared statements went with it.
    func runFailed(_ key: Key, name: String, error: any Error) {
        guard let error = error as? PSQLError, error.code == .server,
              error.serverInfo?[.sqlState]?.hasPrefix("23") == false else { return }
        state.withLock { state in
            if state.names[key] == name { _ = state.newName(for: key) }
        }
    }
}

/// A bound `ReusableStatement` in the shape PostgresNIO prepares and runs.
///
/// PostgresNIO's prepared-statement API takes the name, text and parameter
/// types as static members of a type, one type per statement written in the
/// source. The store's statements are SQLKit expressions instead, so the
/// static members read the statement being run from a task-local value,
/// which `LiveConnectionSQLDatabase` binds around the call; PostgresNIO reads
/// them on the calling task when the run starts (and again only to describe
/// a failure).
struct PostgresReusableRun: PostgresPreparedStatement {
    typealias Row = PostgresRow

    struct Statement: Sendable {
        var name = ""
        var sql = ""
        var types: [PostgresDataType] = []
    }

    @TaskLocal static var current = Statement()

    static var name: String { current.name }
    static var sql: String { current.sql }
    static var bindingDataTypes: [PostgresDataType] { current.types }

    let bindings: PostgresBindings

    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }

    /// The statement's bindings and their types, or nil when a value is of a
    /// type not encoded here, for the caller to run the statement unprepared.
    static func bind(_ values: [any Encodable & Sendable]) throws -> (PostgresBindings, [PostgresDataType])? {
        var bindings = PostgresBindings(capacity: values.count)
        var types: [PostgresDataType] = []
        types.reserveCapacity(values.count)
        for value in values {
            guard let type = try append(value, to: &bindings) else { return nil }
            types.append(type)
        }
        return (bindings, types)
    }

    private static func append(_ value: Any, to bindings: inout PostgresBindings) throws -> PostgresDataType? {
        switch value {
        case let optional as any OptionalBind:
            guard let wrapped = optional.wrappedBind else {
                bindings.appendNull()
                return .null
            }
            return try append(wrapped, to: &bindings)
        case let text as String:
            bindings.append(text)
            return .text
        case let number as Int:
            bindings.append(number)
            return .int8
        case let number as Int64:
            bindings.append(number)
            return .int8
        case let number as Int32:
            bindings.append(number)
            return .int4
        case let number as Double:
            bindings.append(number)
            return .float8
        case let flag as Bool:
            bindings.append(flag)
            return .bool
        case let bytes as Data:
            try bindings.append(bytes)
            return .bytea
        default:
            return nil
        }
    }
}

/// An optional bound value, seen through `any Encodable`.
private protocol OptionalBind {
    var wrappedBind: Any? { get }
}

extension Optional: OptionalBind {
    fileprivate var wrappedBind: Any? { self.map { $0 } }
}
