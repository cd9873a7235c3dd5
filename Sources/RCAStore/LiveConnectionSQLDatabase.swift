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
struct LiveConnectionSQLDatabase: SQLDatabase {
    let connection: PostgresConnection
    let base: any SQLDatabase

    init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.base = connection.sql(queryLogLevel: .trace, logger: logger)
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
        try await execute(sql: query, onRow).get()
    }

    func withSession<Result>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await closure(self)
    }
}
