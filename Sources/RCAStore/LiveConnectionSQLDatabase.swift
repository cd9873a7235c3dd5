import Logging
import NIOCore
import PostgresKit
import SQLKit

/// Runs each statement on a PostgreSQL connection only while the connection
/// is still open, and fails it at once otherwise.
///
/// PostgresNIO (1.33) hands a statement to its channel without a promise for
/// the hand-over. Once the server has closed the connection and the channel
/// has shed its handlers, the statement is dropped on the floor and its
/// result never arrives: the caller waits for ever. That happens to every
/// statement sent on a connection between the server going away and the pool
/// noticing it, for example when PostgreSQL is stopped or restarted under
/// load. Checking that the channel is active on its own event loop, right
/// before the statement is written there in the same turn, closes the gap:
/// an active channel still has the handler that answers every statement.
///
/// A `ReusableStatement` runs prepared (`PostgresStatementCache`). PostgresNIO
/// runs prepared statements only from a task, so that task runs on the
/// connection's event loop (`EventLoopTaskExecutor`) while it checks the
/// connection and hands the statement over: the same turn, the same guarantee.
struct LiveConnectionSQLDatabase: SQLDatabase {
    let connection: PostgresConnection
    let base: any SQLDatabase
    let statements: PostgresStatementCache?

    init(_ connection: PostgresConnection, statements: PostgresStatementCache?, logger: Logger) {
        self.connection = connection
        self.base = connection.sql(queryLogLevel: .trace, logger: logger)
        self.statements = statements
    }

    var logger: Logger { base.logger }
    var eventLoop: any EventLoop { base.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { base.version }
    var dialect: any SQLDialect { base.dialect }
    var queryLogLevel: Logger.Level? { base.queryLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        let connection = connection
        let base = base
        return connection.eventLoop.flatSubmit {
            guard !connection.isClosed else {
                return connection.eventLoop.makeFailedFuture(DatabaseError.unavailable("the connection to PostgreSQL was lost"))
            }
            return base.execute(sql: query, onRow)
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        guard query is ReusableStatement, let statements else {
            return try await execute(sql: query, onRow).get()
        }
        let (text, values) = serialize(query)
        guard let (bindings, types) = try PostgresReusableRun.bind(values) else {
            return try await execute(sql: query, onRow).get()
        }
        let key = PostgresStatementCache.Key(sql: text, types: types)
        let name = statements.name(for: key)
        logger.trace("Executing query", metadata: ["sql": .string(text), "statement": .string(name)])
        let connection = connection
        let logger = logger
        do {
            try await withTaskExecutorPreference(EventLoopTaskExecutor(connection.eventLoop)) {
                guard !connection.isClosed else {
                    throw DatabaseError.unavailable("the connection to PostgreSQL was lost")
                }
                try await PostgresReusableRun.$current.withValue(.init(name: name, sql: text, types: types)) {
                    for try await row in try await connection.execute(PostgresReusableRun(bindings: bindings), logger: logger) {
                        onRow(row.sql())
                    }
                }
            }
        } catch {
            statements.runFailed(key, name: name, error: error)
            throw error
        }
    }

    func withSession<Result>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await closure(self)
    }
}

/// Runs a task's jobs on a NIO event loop, so that code written as a task
/// can act in the same turn as the loop's own work (see `LiveConnectionSQLDatabase`).
final class EventLoopTaskExecutor: TaskExecutor {
    private let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
