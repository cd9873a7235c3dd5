import Foundation

/// Where the store keeps its data: an embedded SQLite file (the default, for
/// one process) or a PostgreSQL server (for production and several replicas).
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresEndpoint)

    public var isPostgres: Bool {
        if case .postgres = self { return true }
        return false
    }

    /// Reads a `DATABASE_URL`: `postgres://user:password@host:port/database?sslmode=…`
    /// or `sqlite:///absolute/path.sqlite` (`sqlite://relative/path.sqlite`).
    public init(url text: String) throws(DatabaseLocationError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw .malformed("expected postgres://user:password@host:port/database or sqlite:///path/to/file.sqlite")
        }
        switch scheme {
        case "postgres", "postgresql":
            self = .postgres(try PostgresEndpoint(components: components))
        case "sqlite":
            let path = (components.host ?? "") + components.path
            guard !path.isEmpty else { throw .malformed("sqlite URL names no file, e.g. sqlite:///var/lib/rca/rca.sqlite") }
            self = .sqlite(path: path)
        default:
            throw .malformed("unsupported scheme \"\(scheme)\"; use postgres:// or sqlite://")
        }
    }
}

/// The parts of a PostgreSQL URL the client needs. The password is kept out
/// of `description` so that the endpoint can be logged.
public struct PostgresEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// How the connection uses TLS, following libpq's `sslmode` names.
    public enum TLSMode: String, Sendable {
        case disable
        case prefer
        case require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    public init(host: String, port: Int = 5432, username: String, password: String?, database: String, tls: TLSMode = .prefer) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
    }

    init(components: URLComponents) throws(DatabaseLocationError) {
        guard let host = components.host, !host.isEmpty else {
            throw .malformed("no host, expected postgres://user:password@host:5432/database")
        }
        guard let username = components.user, !username.isEmpty else {
            throw .malformed("no user name, expected postgres://user:password@host:5432/database")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw .malformed("no database name, expected postgres://user:password@host:5432/database")
        }
        var tls = Self.isLocal(host) ? TLSMode.prefer : TLSMode.require
        if let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value {
            guard let parsed = TLSMode(rawValue: mode) else {
                throw .malformed("sslmode \"\(mode)\" is not one of disable, prefer, require")
            }
            tls = parsed
        }
        self.init(
            host: host,
            port: components.port ?? 5432,
            username: username.removingPercentEncoding ?? username,
            password: components.password.map { $0.removingPercentEncoding ?? $0 },
            database: database,
            tls: tls
        )
    }

    public var description: String {
        "postgres://\(username)@\(host):\(port)/\(database)"
    }

    /// Whether `host` is this machine, where a connection without TLS crosses
    /// no network: without `sslmode`, other hosts get `require`, so that a
    /// password never travels in clear because a server offered no TLS.
    static func isLocal(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return bare == "localhost" || bare == "::1" || bare.hasPrefix("127.") || bare.hasPrefix("/")
    }
}

/// A `DATABASE_URL` that cannot be used, with the reason in words.
public enum DatabaseLocationError: Error, Equatable, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let reason): reason
        }
    }
}
