import Foundation
import Synchronization
import Logging
import PostgresKit
import NIOPosix
import SQLiteKit

/// The store's connection to its database, on either backend, through one
/// SQLKit code path: reads run on any connection, writes run in a transaction.
///
/// On SQLite one writer connection is shared and transactions are serialized
/// by an async lock (the fast path for SQLite in WAL mode), while a separate
/// connection serves reads and a third checkpoints the WAL in the background,
/// off the writer's path. On PostgreSQL a pool serves both.
public final class Database: Sendable {
    public let dialect: Dialect
    public let location: DatabaseLocation
    private let backend: Backend
    private let logger: Logger
    /// Names of the statements prepared on PostgreSQL connections; nil when they are not prepared.
    private let statements: PostgresStatementCache?

    private enum Backend: Sendable {
        case sqlite(writer: SQLiteConnection, reader: SQLiteConnection, writeLock: AsyncLock, checkpointer: Task<Void, Never>)
        case postgres(pool: PostgresPool, acquireTimeout: Duration)
    }

    private init(dialect: Dialect, location: DatabaseLocation, backend: Backend, logger: Logger, statements: PostgresStatementCache? = nil) {
        self.dialect = dialect
        self.location = location
        self.backend = backend
        self.logger = logger
        self.statements = statements
    }

    /// The most connections a PostgreSQL pool opens unless configured
    /// otherwise (`DATABASE_POOL_SIZE`).
    public static let defaultPostgresConnections = 16

    /// Opens the database and checks that it answers; fails with a reason a
    /// person can act on rather than hanging when the server is unreachable.
    ///
    /// `walRestartFrames` (SQLite) is how many WAL frames may pile up before
    /// the checkpointer makes the WAL start over; see `checkpointPeriodically`.
    /// `postgresConnections` is the most connections the PostgreSQL pool
    /// opens; `preparedStatements` whether `ReusableStatement`s are prepared
    /// on them (`PostgresStatementCache`) or sent unnamed like the others.
    public static func open(
        _ location: DatabaseLocation,
        logger: Logger,
        connectTimeout: Duration = .seconds(5),
        walRestartFrames: Int = 32_768,
        postgresConnections: Int = defaultPostgresConnections,
        preparedStatements: Bool = true,
        tokenPassword: PostgresTokenPassword? = nil
    ) async throws(DatabaseError) -> Database {
        switch location {
        case .sqlite(let path):
            return try await openSQLite(path: path, location: location, logger: logger, walRestartFrames: walRestartFrames)
        case .postgres(let endpoint):
            var endpoint = endpoint
            var firstRenewal: Date?
            if let tokenPassword {
                do {
                    let (token, renewAt) = try await tokenPassword.fetch()
                    endpoint.password = token
                    firstRenewal = renewAt
                } catch {
                    throw .unavailable("cannot get an access token for PostgreSQL: \(error)")
                }
            }
            let database = try await openPostgres(
                endpoint, location: location, logger: logger, connectTimeout: connectTimeout, maximumConnections: postgresConnections,
                statements: preparedStatements ? PostgresStatementCache() : nil
            )
            if let tokenPassword, let firstRenewal, case .postgres(let pool, _) = database.backend {
                let opened = endpoint
                pool.renew(with: tokenPassword, firstRenewal: firstRenewal, logger: logger) { token in
                    var renewed = opened
                    renewed.password = token
                    return PostgresClient(configuration: Self.clientConfiguration(renewed, connectTimeout: connectTimeout, maximumConnections: postgresConnections), backgroundLogger: Self.poolLogger(logger))
                }
            }
            return database
        }
    }

    private static func openSQLite(
        path: String,
        location: DatabaseLocation,
        logger: Logger,
        walRestartFrames: Int
    ) async throws(DatabaseError) -> Database {
        var opened: [SQLiteConnection] = []
        do {
            let writer = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            opened.append(writer)
            let writerSQL = writer.sql(queryLogLevel: .trace)
            try await writerSQL.raw("PRAGMA page_size = 2048").run()
            try await writerSQL.raw("PRAGMA journal_mode = WAL").run()
            let reader = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            opened.append(reader)
            let checkpointConnection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            opened.append(checkpointConnection)
            for connection in [writer, reader, checkpointConnection] {
                let sql = connection.sql(queryLogLevel: .trace)
                try await sql.raw("PRAGMA busy_timeout = \(unsafeRaw: String(Self.sqliteBusyTimeoutMilliseconds))").run()
                try await sql.raw("PRAGMA foreign_keys = ON").run()
            }
            try await writerSQL.raw("PRAGMA cache_size = -4096").run()
            try await reader.sql(queryLogLevel: .trace).raw("PRAGMA cache_size = -32768").run()
            try await writerSQL.raw("PRAGMA synchronous = NORMAL").run()
            try await writerSQL.raw("PRAGMA wal_autocheckpoint = 0").run()
            let pageSize = try await writerSQL.raw("PRAGMA page_size").first()?.decode(column: "page_size", as: Int.self) ?? 4096
            try await writerSQL.raw("PRAGMA journal_size_limit = \(unsafeRaw: String(walRestartFrames * pageSize))").run()
            let writeLock = AsyncLock()
            let checkpointer = Task {
                await Self.checkpointPeriodically(checkpointConnection, writeLock: writeLock, restartFrames: walRestartFrames, logger: logger)
            }
            return Database(
                dialect: .sqlite,
                location: location,
                backend: .sqlite(writer: writer, reader: reader, writeLock: writeLock, checkpointer: checkpointer),
                logger: logger
            )
        } catch {
            let connections = opened
            await uncancelled {
                for connection in connections { try? await connection.close() }
            }
            throw .unavailable("cannot open SQLite database at \(path): \(Database.describe(error))")
        }
    }

    /// Copies committed WAL pages into the database file every half second,
    /// without blocking the writer (a passive checkpoint). A passive checkpoint
    /// alone never lets the WAL start over while writes keep coming (they add
    /// frames as fast as it copies them), so the file would grow by every
    /// byte written: once the WAL passes `restartFrames`, the checkpointer
    /// takes the write lock, copies the few frames left and resets the WAL (a
    /// restart checkpoint), and the writer truncates the file back to
    /// `journal_size_limit`. That pause includes an fsync of the database
    /// file, so it is kept rare (64 MiB of WAL by default, a few seconds at
    /// full ingestion speed). When cancelled, it truncates the WAL and closes
    /// its connection.
    private static func checkpointPeriodically(
        _ connection: SQLiteConnection,
        writeLock: AsyncLock,
        restartFrames: Int,
        logger: Logger
    ) async {
        let sql = connection.sql(queryLogLevel: .trace)
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(500))
            guard var progress = try? await passiveCheckpoint(sql), progress.frames >= restartFrames else { continue }
            for _ in 0..<4 where progress.frames - progress.copied > 1024 {
                guard let next = try? await passiveCheckpoint(sql) else { break }
                progress = next
            }
            let started = ContinuousClock.now
            _ = try? await writeLock.withLock {
                try await sql.raw("PRAGMA wal_checkpoint(RESTART)").run()
            }
            logger.debug(
                "WAL restarted",
                metadata: ["frames": "\(progress.frames)", "left_to_copy": "\(progress.frames - progress.copied)", "writes_paused": "\(ContinuousClock.now - started)"]
            )
        }
        await uncancelled {
            try? await sql.raw("PRAGMA wal_checkpoint(TRUNCATE)").run()
            try? await connection.close()
        }
    }

    /// Copies what it can of the WAL into the database file without blocking
    /// the writer; returns the frames in the WAL and how many are copied.
    private static func passiveCheckpoint(_ sql: any SQLDatabase) async throws -> (frames: Int, copied: Int) {
        guard let row = try await sql.raw("PRAGMA wal_checkpoint(PASSIVE)").first() else { return (0, 0) }
        return (try row.decode(column: "log", as: Int.self), try row.decode(column: "checkpointed", as: Int.self))
    }

    /// Runs clean-up that must happen even when the calling task was
    /// cancelled (SQLiteNIO refuses to start work for a cancelled task).
    private static func uncancelled(_ work: @escaping @Sendable () async -> Void) async {
        await Task.detached(operation: work).value
    }

    private static func openPostgres(
        _ endpoint: PostgresEndpoint,
        location: DatabaseLocation,
        logger: Logger,
        connectTimeout: Duration,
        maximumConnections: Int,
        statements: PostgresStatementCache?
    ) async throws(DatabaseError) -> Database {
        do {
            try await checkReachable(endpoint, timeout: connectTimeout, logger: logger)
        } catch {
            throw .unavailable("cannot connect to \(endpoint): \(Database.describe(error))")
        }
        let client = PostgresClient(
            configuration: clientConfiguration(endpoint, connectTimeout: connectTimeout, maximumConnections: maximumConnections),
            backgroundLogger: poolLogger(logger)
        )
        let database = Database(
            dialect: .postgres,
            location: location,
            backend: .postgres(pool: PostgresPool(client), acquireTimeout: connectTimeout),
            logger: logger,
            statements: statements
        )
        do {
            try await database.ping()
        } catch {
            await database.close()
            throw .unavailable("cannot connect to \(endpoint): \(error.reason)")
        }
        return database
    }

    private static func clientConfiguration(_ endpoint: PostgresEndpoint, connectTimeout: Duration, maximumConnections: Int) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: endpoint.host,
            port: endpoint.port,
            username: endpoint.username,
            password: endpoint.password,
            database: endpoint.database,
            tls: endpoint.clientTLS
        )
        configuration.options.connectTimeout = connectTimeout
        configuration.options.maximumConnections = maximumConnections
        return configuration
    }

    private static func poolLogger(_ logger: Logger) -> Logger {
        var poolLogger = logger
        poolLogger.logLevel = max(logger.logLevel, .warning)
        return poolLogger
    }

    /// One direct connection attempt, so that a wrong host, port, password or
    /// database name is reported at once with the server's own reason.
    private static func checkReachable(_ endpoint: PostgresEndpoint, timeout: Duration, logger: Logger) async throws {
        var configuration = PostgresConnection.Configuration(
            host: endpoint.host,
            port: endpoint.port,
            username: endpoint.username,
            password: endpoint.password,
            database: endpoint.database,
            tls: try endpoint.connectionTLS()
        )
        configuration.options.connectTimeout = .init(timeout)
        var quiet = logger
        quiet.logLevel = .critical
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: quiet)
        try await connection.close()
    }

    /// Runs `body` outside any transaction; for reads.
    public func read<Result: Sendable>(
        _ body: @Sendable @escaping (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        switch backend {
        case .sqlite(_, let reader, _, _):
            return try await body(reader.sql(queryLogLevel: .trace))
        case .postgres(let pool, let timeout):
            return try await withPostgresSQL(pool.client, timeout: timeout, body)
        }
    }

    /// Runs `body` on the writing connection with every statement committed
    /// on its own; for a write that is one statement, atomic by itself. It
    /// saves the two round trips of `BEGIN` and `COMMIT` (on PostgreSQL)
    /// that `transaction` would add to it.
    public func autocommit<Result: Sendable>(
        _ body: @Sendable @escaping (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        switch backend {
        case .sqlite(let writer, _, let lock, _):
            return try await lock.withLock { try await body(writer.sql(queryLogLevel: .trace)) }
        case .postgres(let pool, let timeout):
            return try await withPostgresSQL(pool.client, timeout: timeout, body)
        }
    }

    /// How long a SQLite statement waits for another process's write lock
    /// before failing with "database is locked".
    static let sqliteBusyTimeoutMilliseconds = 5000

    /// Runs `body` in one transaction: committed when it returns, rolled back
    /// when it throws.
    ///
    /// `lockWait` lets a rare, long-lived writer (the migrator) wait longer
    /// than usual for another process's SQLite write lock. It waits by polling
    /// with async sleeps rather than through SQLite's busy handler, which
    /// sleeps on one of the few threads every SQLite connection shares:
    /// several waiters could otherwise occupy them all and stall the very
    /// process holding the lock. PostgreSQL's locks already wait without a limit.
    public func transaction<Result: Sendable>(
        lockWait: Duration? = nil,
        _ body: @Sendable @escaping (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        switch backend {
        case .sqlite(let writer, _, let lock, _):
            return try await lock.withLock {
                let sql = writer.sql(queryLogLevel: .trace)
                guard let lockWait else {
                    return try await Self.inTransaction(sql, begin: "BEGIN IMMEDIATE", body)
                }
                try await Self.beginImmediatePolling(sql, for: lockWait)
                return try await Self.inTransaction(sql, begin: nil, body)
            }
        case .postgres(let pool, let timeout):
            return try await withPostgresSQL(pool.client, timeout: timeout) { sql in
                try await Self.inTransaction(sql, begin: "BEGIN", body)
            }
        }
    }

    /// Starts a SQLite write transaction, retrying while another process holds
    /// the write lock, until `limit` has passed.
    private static func beginImmediatePolling(_ sql: any SQLDatabase, for limit: Duration) async throws {
        let deadline = ContinuousClock.now + limit
        let restore: SQLQueryString = "PRAGMA busy_timeout = \(unsafeRaw: String(sqliteBusyTimeoutMilliseconds))"
        try await sql.raw("PRAGMA busy_timeout = 0").run()
        do {
            while true {
                do {
                    try await sql.raw("BEGIN IMMEDIATE").run()
                    break
                } catch let error as SQLiteError where error.reason == .busy && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
        } catch {
            try? await sql.raw(restore).run()
            throw error
        }
        do {
            try await sql.raw(restore).run()
        } catch {
            try? await sql.raw("ROLLBACK").run()
            throw error
        }
    }

    private static func inTransaction<Result: Sendable>(
        _ sql: any SQLDatabase,
        begin: SQLQueryString?,
        _ body: (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        if let begin { try await sql.reusable(begin).run() }
        do {
            let result = try await body(sql)
            try await sql.reusable("COMMIT").run()
            return result
        } catch {
            try? await sql.raw("ROLLBACK").run()
            throw error
        }
    }

    /// Whether `notify` reaches other processes (PostgreSQL); with SQLite there
    /// is only one process, so there is no one else to tell.
    public var sharesNotifications: Bool { dialect == .postgres }

    /// Listens on `channel` until cancelled or the connection fails, calling
    /// `handle` with each payload (PostgreSQL `LISTEN`; returns at once on SQLite).
    public func listen(channel: String, _ handle: @escaping @Sendable (String) async -> Void) async throws {
        guard case .postgres(let pool, _) = backend else { return }
        try await pool.client.withConnection { connection in
            try await connection.listen(on: channel) { notifications in
                for try await notification in notifications {
                    await handle(notification.payload)
                }
            }
        }
    }

    /// Checks that the database answers a trivial query.
    public func ping() async throws(DatabaseError) {
        do {
            try await read { sql in try await sql.raw("SELECT 1").run() }
        } catch let error as DatabaseError {
            throw error
        } catch {
            throw .unavailable(Database.describe(error))
        }
    }

    /// Closes every connection. The database must not be used afterwards.
    public func close() async {
        switch backend {
        case .sqlite(let writer, let reader, _, let checkpointer):
            checkpointer.cancel()
            await checkpointer.value
            await Self.uncancelled {
                try? await reader.close()
                try? await writer.close()
            }
        case .postgres(let pool, _):
            await pool.shutdown()
        }
    }

    /// The longest a PostgreSQL operation may take once it has a connection.
    static let operationTimeout = Duration.seconds(30)

    /// Runs `body` with a pooled connection whose statements fail at once,
    /// rather than never return, once the server has closed it
    /// (`LiveConnectionSQLDatabase`): every statement the store sends to
    /// PostgreSQL goes through here.
    private func withPostgresSQL<Result: Sendable>(
        _ client: PostgresClient,
        timeout: Duration,
        _ body: @Sendable @escaping (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await withPostgresConnection(client, timeout: timeout) { connection in
            try await body(LiveConnectionSQLDatabase(connection, statements: self.statements, logger: self.logger))
        }
    }

    /// Leases a pooled connection and runs `body` on it, giving up with
    /// `DatabaseError.unavailable` when no connection can be had within
    /// `timeout` (the server is down or overloaded) or the operation takes
    /// longer than `operationTimeout`, so that callers answer 503 instead of
    /// waiting without end. The caller is answered even when the abandoned
    /// work does not notice its cancellation (a pool waiting on a dead server),
    /// and work whose caller gave up before a connection came never runs, so
    /// a 503 for want of a connection means nothing was written.
    private func withPostgresConnection<Result: Sendable>(
        _ client: PostgresClient,
        timeout: Duration,
        _ body: @Sendable @escaping (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let lease = LeaseDecision()
        let outcome = OnceResult<Result>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
                outcome.attach(continuation)
                let watchdog = Task {
                    do {
                        try await Task.sleep(for: timeout)
                        if lease.abandon() {
                            outcome.resolve(.failure(DatabaseError.unavailable("no PostgreSQL connection could be had within \(timeout)")))
                            return
                        }
                        try await Task.sleep(for: Self.operationTimeout - timeout)
                        outcome.resolve(.failure(DatabaseError.unavailable("the PostgreSQL operation did not finish within \(Self.operationTimeout)")))
                    } catch {
                        return
                    }
                }
                Task {
                    do {
                        let result = try await client.withConnection { connection in
                            guard lease.lease() else { throw CancellationError() }
                            return try await body(connection)
                        }
                        outcome.resolve(.success(result))
                    } catch {
                        outcome.resolve(.failure(Self.unavailability(error) ?? error))
                    }
                    watchdog.cancel()
                }
            }
        } onCancel: {
            _ = lease.abandon()
            outcome.resolve(.failure(CancellationError()))
        }
    }

    /// `DatabaseError.unavailable` when `error` means the server went away
    /// (connection lost or refused, the server shutting down or restarting,
    /// SQLSTATE classes 08 and 57P), so that callers answer 503 and retry
    /// rather than treating it as a fault of the request.
    static func unavailability(_ error: any Error) -> DatabaseError? {
        guard let error = error as? PSQLError else { return nil }
        switch error.code {
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown, .poolClosed:
            return .unavailable("the connection to PostgreSQL was lost (\(error.code))")
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            guard state.hasPrefix("08") || state.hasPrefix("57P") else { return nil }
            return .unavailable("PostgreSQL is unavailable: \(error.serverInfo?[.message] ?? state)")
        default:
            return nil
        }
    }

    /// A one-line reason for a store failure, without internal detail.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.reason }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return describe(underlying) }
            return String(describing: error.code)
        }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return describe(first.error) }
            if let dnsError = error.dnsAAAAError ?? error.dnsAError { return "cannot resolve host: \(dnsError)" }
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        return String(describing: error)
    }
}

/// Why the store could not do what was asked.
public enum DatabaseError: Error, Equatable, CustomStringConvertible {
    /// The database cannot be reached or opened right now; worth retrying later.
    case unavailable(String)
    /// The schema is older or newer than this build expects.
    case schemaMismatch(String)

    public var reason: String {
        switch self {
        case .unavailable(let reason), .schemaMismatch(let reason): reason
        }
    }

    public var description: String { reason }
}

/// The first of several racing outcomes, delivered once to a continuation.
private final class OnceResult<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var early: Result<Value, any Error>?
        var done = false
    }

    private let state = Mutex(State())

    func attach(_ continuation: CheckedContinuation<Value, any Error>) {
        let early = state.withLock { state -> Result<Value, any Error>? in
            if let early = state.early {
                state.early = nil
                return early
            }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func resolve(_ result: Result<Value, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            guard !state.done else { return nil }
            state.done = true
            guard let continuation = state.continuation else {
                state.early = result
                return nil
            }
            state.continuation = nil
            return continuation
        }
        continuation?.resume(with: result)
    }
}

/// Whether an operation got its connection before its caller gave up
/// waiting; decided once, so that work the caller was told failed never runs,
/// and a slow query is not mistaken for an unreachable server.
private final class LeaseDecision: Sendable {
    private enum State { case waiting, leased, abandoned }
    private let state = Mutex(State.waiting)

    /// True when the connection arrived in time and the work may run.
    func lease() -> Bool {
        state.withLock { state in
            guard state == .waiting else { return state == .leased }
            state = .leased
            return true
        }
    }

    /// True when the caller gave up before any connection arrived.
    func abandon() -> Bool {
        state.withLock { state in
            guard state == .waiting else { return state == .abandoned }
            state = .abandoned
            return true
        }
    }
}

extension PostgresEndpoint {
    fileprivate var clientTLS: PostgresClient.Configuration.TLS {
        switch tls {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    fileprivate func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        switch tls {
        case .disable: .disable
        case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
    }
}
