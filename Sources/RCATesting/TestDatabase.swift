import Foundation
import Logging
import RCACore
import RCAStore
import SQLKit

/// The database backends the storage suites run on.
public enum TestBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { self == .sqlite ? "SQLite" : "PostgreSQL" }

    /// The server the PostgreSQL suites use, from `RCA_TEST_POSTGRES_URL`.
    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment["RCA_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether PostgreSQL suites run: when a server is configured, or when CI
    /// demands them (`RCA_TEST_REQUIRE_POSTGRES=1`), in which case a missing
    /// server fails them instead of skipping them.
    public static var postgresEnabled: Bool {
        postgresURL != nil || ProcessInfo.processInfo.environment["RCA_TEST_REQUIRE_POSTGRES"] == "1"
    }
}

/// Why a test database could not be made.
public struct TestDatabaseError: Error, CustomStringConvertible {
    public let description: String
}

/// A database of its own for one test: a fresh SQLite file in a temporary
/// folder, or a fresh PostgreSQL database created on the test server and
/// dropped afterwards.
public struct TestDatabase: Sendable {
    public let backend: TestBackend
    public let location: DatabaseLocation
    /// A temporary folder owned by the test (holds the SQLite file).
    public let folder: URL
    private let postgresAdmin: PostgresEndpoint?

    public static func make(_ backend: TestBackend) async throws -> TestDatabase {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rca-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        switch backend {
        case .sqlite:
            return TestDatabase(
                backend: backend,
                location: .sqlite(path: folder.appendingPathComponent("test.sqlite").path),
                folder: folder,
                postgresAdmin: nil
            )
        case .postgres:
            guard let url = TestBackend.postgresURL else {
                throw TestDatabaseError(description: "RCA_TEST_POSTGRES_URL is not set; start a server with scripts/postgres-up.sh")
            }
            guard case .postgres(let admin) = try DatabaseLocation(url: url) else {
                throw TestDatabaseError(description: "RCA_TEST_POSTGRES_URL must be a postgres:// URL")
            }
            let name = "rca_test_\(RandomSecret.token(bits: 60).lowercased().replacingOccurrences(of: "-", with: "_"))"
            try await administer(admin, "CREATE DATABASE \(name)")
            var endpoint = admin
            endpoint.database = name
            return TestDatabase(backend: backend, location: .postgres(endpoint), folder: folder, postgresAdmin: admin)
        }
    }

    /// Opens the test database, migrated unless asked otherwise; with
    /// `postgresConnections: 1`, every statement runs on the same session.
    public func open(
        migrated: Bool = true, logger: Logger = TestDatabase.quietLogger, postgresConnections: Int = Database.defaultPostgresConnections, preparedStatements: Bool = true
    ) async throws -> Database {
        let database = try await Database.open(
            location, logger: logger, postgresConnections: postgresConnections, preparedStatements: preparedStatements
        )
        if migrated { try await Migrator(database: database).migrate() }
        return database
    }

    /// Makes a PostgreSQL test database unreachable, as if its server were
    /// down: open connections are terminated and new ones refused, until
    /// `destroy`. Only the test role's sessions are terminated: an autovacuum
    /// worker on the database has no role, and PostgreSQL refuses to let a
    /// role that is not a superuser terminate it.
    public func refuseConnections() async throws {
        guard let admin = postgresAdmin, case .postgres(let endpoint) = location else { return }
        try await Self.administer(admin, "ALTER DATABASE \(endpoint.database) WITH ALLOW_CONNECTIONS false")
        try await Self.administer(
            admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(endpoint.database)' AND usename = current_user"
        )
    }

    /// Removes the database and the temporary folder.
    public func destroy() async {
        if let admin = postgresAdmin, case .postgres(let endpoint) = location {
            try? await Self.administer(admin, "DROP DATABASE IF EXISTS \(endpoint.database) WITH (FORCE)")
        }
        try? FileManager.default.removeItem(at: folder)
    }

    /// Runs `body` with a fresh, migrated database, and cleans up afterwards.
    /// The database logs to `logger` (its statements at trace level).
    public static func with<Result>(
        _ backend: TestBackend,
        migrated: Bool = true,
        logger: Logger = quietLogger,
        postgresConnections: Int = Database.defaultPostgresConnections,
        preparedStatements: Bool = true,
        _ body: (Database, TestDatabase) async throws -> Result
    ) async throws -> Result {
        let testDatabase = try await make(backend)
        let database: Database
        do {
            database = try await testDatabase.open(
                migrated: migrated, logger: logger, postgresConnections: postgresConnections, preparedStatements: preparedStatements
            )
        } catch {
            await testDatabase.destroy()
            throw error
        }
        do {
            let result = try await body(database, testDatabase)
            await database.close()
            await testDatabase.destroy()
            return result
        } catch {
            await database.close()
            await testDatabase.destroy()
            throw error
        }
    }

    public static var quietLogger: Logger {
        var logger = Logger(label: "rca-test")
        logger.logLevel = .critical
        return logger
    }

    private static func administer(_ admin: PostgresEndpoint, _ statement: String) async throws {
        let database = try await Database.open(.postgres(admin), logger: quietLogger)
        do {
            try await database.read { sql in try await sql.raw(SQLQueryString(statement)).run() }
            await database.close()
        } catch {
            await database.close()
            throw error
        }
    }
}

extension TestBackend {
    /// The backends this run tests: SQLite always, PostgreSQL when enabled.
    public static var enabled: [TestBackend] {
        postgresEnabled ? [.sqlite, .postgres] : [.sqlite]
    }
}
