import Logging
import RCACore
import RCASources
import RCAStore

/// Where a secret in use came from, so that the console can say what it did.
public enum SecretOrigin: Sendable, Equatable {
    case environment(variable: String)
    case storedFile(path: String)
    case generatedFile(path: String)
}

/// A secret value and its origin. Its description never shows the value.
public struct ResolvedSecret: Sendable, CustomStringConvertible {
    public let value: String
    public let origin: SecretOrigin

    public var description: String { "<secret>" }
}

/// The server's state once every start-up check has passed: data folder
/// usable, secrets resolved, database reachable and migrated, first admin in place.
public struct PreparedServer: Sendable {
    public let configuration: ServerConfiguration
    public let database: Database
    public let jwtSecret: ResolvedSecret
    public let webhookToken: ResolvedSecret
    /// Set only on the start that created the first admin account.
    public let firstAdminPassword: String?
    public let appliedMigrations: [Int]
}

/// The start-up sequence shared by `serve` and the other commands. Every
/// expected failure is a `ConfigurationError` naming the variable to fix.
public enum ServerStartup {
    /// The login of the account created on a first start.
    public static let firstAdminLogin = "admin"

    public static func prepare(
        _ configuration: ServerConfiguration,
        logger: Logger,
        hasher: PasswordHasher = PasswordHasher()
    ) async throws(ConfigurationError) -> PreparedServer {
        let dataDirectory = try DataDirectory(path: configuration.dataDirectory)
        let jwtSecret = try resolve(
            configuration.jwtSecret, variable: "JWT_SECRET", file: "jwt_secret", in: dataDirectory
        ) { RandomSecret.token(bits: 384) }
        let webhookToken = try resolve(
            configuration.webhookToken, variable: configuration.webhookTokenVariable, file: "webhook_token", in: dataDirectory
        ) { RandomSecret.token(bits: 256) }
        let database = try await openDatabase(configuration, logger: logger)
        do {
            let applied = try await migrate(database, configuration: configuration)
            let password = try await createFirstAdminIfNeeded(database: database, hasher: hasher, configuration: configuration)
            return PreparedServer(
                configuration: configuration,
                database: database,
                jwtSecret: jwtSecret,
                webhookToken: webhookToken,
                firstAdminPassword: password,
                appliedMigrations: applied
            )
        } catch {
            await database.close()
            throw error
        }
    }

    /// Opens the configured database, or says which variable to fix.
    public static func openDatabase(_ configuration: ServerConfiguration, logger: Logger) async throws(ConfigurationError) -> Database {
        do {
            return try await Database.open(
                configuration.effectiveDatabase, logger: logger,
                postgresConnections: configuration.databasePoolSize, preparedStatements: configuration.preparedStatements,
                tokenPassword: configuration.databaseAzureAD.map(Self.entraIDPassword)
            )
        } catch {
            throw ConfigurationError(variable: configuration.databaseVariable, problem: error.reason)
        }
    }

    /// The scope of Entra ID tokens that Azure Database for PostgreSQL takes as passwords.
    static let postgresTokenScope = "https://ossrdbms-aad.database.windows.net/.default"

    /// The service principal's tokens as the PostgreSQL password.
    static func entraIDPassword(_ credentials: AzureCredentials) -> PostgresTokenPassword {
        let tokens = AzureTokenProvider(credentials: credentials, scope: postgresTokenScope, timeout: .seconds(10))
        return PostgresTokenPassword { try await tokens.tokenAndRenewal() }
    }

    /// Applies pending migrations, or says which variable points at the database that refused them.
    public static func migrate(_ database: Database, configuration: ServerConfiguration) async throws(ConfigurationError) -> [Int] {
        do {
            return try await Migrator(database: database).migrate()
        } catch {
            throw ConfigurationError(variable: configuration.databaseVariable, problem: "migrating the database failed: \(Database.describe(error))")
        }
    }

    /// Creates the `admin` account with a random password when there are no
    /// accounts at all; returns the password, which is shown once and never logged.
    static func createFirstAdminIfNeeded(
        database: Database,
        hasher: PasswordHasher,
        configuration: ServerConfiguration
    ) async throws(ConfigurationError) -> String? {
        let users = UserStore(database: database)
        do {
            guard try await users.count() == 0 else { return nil }
            let password = RandomSecret.password()
            let hash = try await hasher.hash(password)
            let created = try await users.insertIfAbsent(email: firstAdminLogin, passwordHash: hash, fullName: "Administrator", role: .admin)
            return created ? password : nil
        } catch {
            throw ConfigurationError(variable: configuration.databaseVariable, problem: "cannot create the first admin account: \(Database.describe(error))")
        }
    }

    private static func resolve(
        _ configured: String?,
        variable: String,
        file: String,
        in dataDirectory: DataDirectory,
        generate: () -> String
    ) throws(ConfigurationError) -> ResolvedSecret {
        if let configured { return ResolvedSecret(value: configured, origin: .environment(variable: variable)) }
        let secret = try dataDirectory.secret(named: file, generate: generate)
        return ResolvedSecret(value: secret.value, origin: secret.generated ? .generatedFile(path: secret.file) : .storedFile(path: secret.file))
    }
}

/// What `serve` prints on the console once it listens: where, with which
/// database, the first admin password (first start only) and the webhook URLs.
/// Secrets appear only on the start that generated them, since console
/// output usually ends up in logs.
public enum StartupBanner {
    /// Whether Slack's buttons and Jira's webhook are served: each needs its
    /// own secret, and a channel configured without it says how to turn it on.
    public static func integrationLines(_ notifications: NotificationSettings, base: String) -> [String] {
        var lines: [String] = []
        if let slack = notifications.slack {
            lines.append(slack.signingSecret == nil
                ? "Slack buttons: off; set SLACK_SIGNING_SECRET to let responders act from Slack"
                : "Slack buttons: \(base)/slack/interactions (signed with SLACK_SIGNING_SECRET)")
        }
        if let jira = notifications.jira {
            lines.append(jira.webhookSecret == nil
                ? "Jira webhook: off; set JIRA_WEBHOOK_SECRET to let Jira status changes move tickets"
                : "Jira webhook: \(base)/webhook/jira (signed with JIRA_WEBHOOK_SECRET)")
        }
        return lines
    }

    public static func lines(for server: PreparedServer, listeningPort: Int, webhookPaths: [String]) -> [String] {
        var configuration = server.configuration
        configuration.port = listeningPort
        let base = configuration.baseURL
        var lines = ["RCA Assistant is listening on \(base)"]
        switch server.database.location {
        case .sqlite(let path): lines.append("Data: SQLite database at \(path)")
        case .postgres(let endpoint): lines.append("Data: PostgreSQL at \(endpoint)")
        }
        if let password = server.firstAdminPassword {
            lines.append("First start: created user \"\(ServerStartup.firstAdminLogin)\" with password \(password)")
            lines.append("  (shown this once; change it with `rca-assistant user reset-password \(ServerStartup.firstAdminLogin)`)")
        }
        switch server.webhookToken.origin {
        case .generatedFile(let path), .storedFile(let path):
            lines.append("Webhook token: kept in \(path)")
        case .environment(let variable):
            lines.append("Webhook token: from \(variable)")
        }
        let token: String
        switch server.webhookToken.origin {
        case .generatedFile: token = server.webhookToken.value
        case .storedFile(let path): token = "<the token in \(path)>"
        case .environment(let variable): token = "<$\(variable)>"
        }
        if webhookPaths.isEmpty {
            lines.append("Webhook URLs: none; this process runs the workers only (ROLE=worker)")
        } else {
            lines.append("Webhook URLs (send alerts here; the token authenticates the sender):")
            for path in webhookPaths {
                lines.append("  \(base)\(path)?token=\(token)")
            }
            lines += integrationLines(configuration.notifications, base: base)
        }
        return lines
    }
}
