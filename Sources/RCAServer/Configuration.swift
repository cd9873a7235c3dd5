import Foundation
import Logging
import RCACore
import RCASources
import RCAStore

/// Everything the server reads from its environment, read in one place.
/// Secrets have no defaults: when absent they are generated into the data
/// folder at start (see `DataDirectory`).
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: String
    /// `nil` means the embedded SQLite file in the data folder.
    public var database: DatabaseLocation?
    public var webhookToken: String?
    /// Where `webhookToken` came from: `WEBHOOK_TOKEN`, or the prototype's `RCA_API_KEY`.
    public var webhookTokenVariable = "WEBHOOK_TOKEN"
    public var jwtSecret: String?
    public var publicURL: String?
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    public var role: ServerRole
    public var workerConcurrency: Int
    /// How often workers look for tickets whose SLA ran out.
    public var slaCheckSeconds: Int
    public var jobLeaseSeconds: Int
    /// How long `/ready` waits for the database before answering 503.
    public var readyTimeoutSeconds: Int
    public var jobMaxAttempts: Int
    /// The Databricks workspace and token for the Jobs API; both or neither.
    public var databricks: (workspace: VendorEndpoint, token: String)?
    /// The service principal that reads Data Factory runs, with the factory
    /// used when an alert names none.
    public var dataFactory: DataFactorySettings?
    /// Deadline of each call to a platform's API during enrichment.
    public var enrichmentTimeoutSeconds: Int
    /// Largest webhook body accepted; larger ones are answered 413 and only their start is kept.
    public var maxBodyBytes: Int
    /// Wrong webhook tokens one address may send in ten minutes before it is refused with 429; 0 turns this off.
    public var webhookGuessLimit: Int
    /// `TRUSTED_PROXIES`: the reverse proxies whose `Forwarded` and
    /// `X-Forwarded-For` headers name the client.
    public var trustedProxies: [IPNetwork]
    /// Seconds a connection may send nothing before it is closed (a client that stalls mid-request).
    public var idleTimeoutSeconds: Int
    /// How often an open live feed checks that its session still stands.
    public var sessionRecheckSeconds: Int
    public var analysis: AnalysisSettings
    /// How long a dashboard session lasts.
    public var sessionSeconds: Int
    /// Whether anyone may create a viewer account with `POST /api/register`.
    public var allowRegistration: Bool
    public var notifications: NotificationSettings
    /// Most connections each server opens to PostgreSQL.
    public var databasePoolSize: Int
    /// Whether the statements run for every alert are prepared once per
    /// PostgreSQL connection; off behind a pooler that cannot keep them
    /// (PgBouncer before 1.21 in transaction mode).
    public var preparedStatements: Bool
    /// `DATABASE_AZURE_AD=true`: the service principal whose Entra ID tokens are
    /// the PostgreSQL password (Azure Database for PostgreSQL), renewed before they end.
    public var databaseAzureAD: AzureCredentials?
    /// Whether live events go through PostgreSQL `NOTIFY` so that dashboards on
    /// every replica see them; only for several replicas on PostgreSQL.
    public var shareLiveEvents: Bool

    /// The SQLite file used when `DATABASE_URL` is not set.
    public var sqlitePath: String { (dataDirectory as NSString).appendingPathComponent("rca.sqlite") }

    /// The variable to fix when the database cannot be used.
    public var databaseVariable: String { database == nil ? "DATA_DIR" : "DATABASE_URL" }

    /// The database in use, with the embedded default filled in.
    public var effectiveDatabase: DatabaseLocation { database ?? .sqlite(path: sqlitePath) }

    /// The address people and senders reach the server at, for printed URLs.
    public var baseURL: String {
        if let publicURL { return publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL }
        let shownHost = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
        return "http://\(shownHost.contains(":") ? "[\(shownHost)]" : shownHost):\(port)"
    }

    /// Reads the configuration from variables (the process environment merged
    /// over an optional `.env` file, see `EnvironmentVariables`).
    /// The value the prototype used when `RCA_API_KEY` was unset: printed in
    /// its source, so a server still using it would accept anyone's alerts.
    static let prototypeDefaultAPIKey = "balaji-rca-secret-2025"

    public init(environment: [String: String]) throws(ConfigurationError) {
        let reader = VariableReader(environment: environment)
        host = reader.string("HOST", default: "127.0.0.1")
        port = try reader.integer("PORT", default: 8000, range: 0...65535)
        dataDirectory = reader.string("DATA_DIR", default: "./data")
        if let url = reader.optional("DATABASE_URL") {
            do {
                database = try DatabaseLocation(url: url)
            } catch {
                throw ConfigurationError(variable: "DATABASE_URL", problem: error.description)
            }
        } else {
            database = nil
        }
        // The prototype's name for the same secret keeps working, so that its
        // alert senders need not be re-pointed; WEBHOOK_TOKEN wins when both are set.
        webhookTokenVariable = reader.optional("WEBHOOK_TOKEN") == nil && reader.optional("RCA_API_KEY") != nil ? "RCA_API_KEY" : "WEBHOOK_TOKEN"
        webhookToken = reader.optional(webhookTokenVariable)
        if let token = webhookToken, token.count < 16 {
            throw ConfigurationError(variable: webhookTokenVariable, problem: "must be at least 16 characters long; leave it unset to have one generated")
        }
        if webhookToken == Self.prototypeDefaultAPIKey {
            throw ConfigurationError(
                variable: webhookTokenVariable,
                problem: "is the prototype's published default, which anyone can read; set a secret of your own, or leave it unset to have one generated"
            )
        }
        jwtSecret = reader.optional("JWT_SECRET")
        if let secret = jwtSecret, secret.utf8.count < 32 {
            throw ConfigurationError(variable: "JWT_SECRET", problem: "must be at least 32 bytes long; leave it unset to have one generated")
        }
        publicURL = reader.optional("PUBLIC_URL")
        if let publicURL, URL(string: publicURL)?.scheme.map({ ["http", "https"].contains($0) }) != true {
            throw ConfigurationError(variable: "PUBLIC_URL", problem: "expected an http:// or https:// URL, got \"\(publicURL)\"")
        }
        logLevel = try reader.choice("LOG_LEVEL", default: .info) { Logger.Level(rawValue: $0.lowercased()) }
        logFormat = try reader.choice("LOG_FORMAT", default: .text) { LogFormat(rawValue: $0.lowercased()) }
        role = try reader.choice("ROLE", default: .all) { ServerRole(rawValue: $0.lowercased()) }
        workerConcurrency = try reader.integer("WORKER_CONCURRENCY", default: 4, range: 1...256)
        slaCheckSeconds = try reader.integer("SLA_CHECK_SECONDS", default: 15, range: 1...3600)
        jobLeaseSeconds = try reader.integer("JOB_LEASE_SECONDS", default: 60, range: 5...86_400)
        readyTimeoutSeconds = try reader.integer("READY_TIMEOUT_SECONDS", default: 1, range: 1...60)
        jobMaxAttempts = try reader.integer("JOB_MAX_ATTEMPTS", default: 8, range: 1...100)
        maxBodyBytes = try reader.integer("MAX_BODY_BYTES", default: 1_048_576, range: 1_024...67_108_864)
        webhookGuessLimit = try reader.integer("WEBHOOK_GUESS_LIMIT", default: 100, range: 0...1_000_000)
        trustedProxies = try (reader.list("TRUSTED_PROXIES") ?? []).map { text throws(ConfigurationError) in
            guard let network = IPNetwork(text) else {
                throw ConfigurationError(variable: "TRUSTED_PROXIES", problem: "expected addresses or networks such as 10.0.0.0/8 or fd00::/8, got \"\(text)\"")
            }
            return network
        }
        idleTimeoutSeconds = try reader.integer("IDLE_TIMEOUT_SECONDS", default: 30, range: 1...3600)
        sessionRecheckSeconds = try reader.integer("SESSION_RECHECK_SECONDS", default: 10, range: 1...3600)
        enrichmentTimeoutSeconds = try reader.integer("ENRICHMENT_TIMEOUT_SECONDS", default: 10, range: 1...300)
        switch (reader.optional("DATABRICKS_HOST"), reader.optional("DATABRICKS_TOKEN")) {
        case (let host?, let token?):
            databricks = (try reader.endpoint("DATABRICKS_HOST", default: host), token)
        case (nil, nil):
            databricks = nil
        case (.some, nil):
            throw ConfigurationError(variable: "DATABRICKS_TOKEN", problem: "is required when DATABRICKS_HOST is set")
        case (nil, .some):
            throw ConfigurationError(variable: "DATABRICKS_HOST", problem: "is required when DATABRICKS_TOKEN is set")
        }
        dataFactory = try Self.dataFactory(reader)
        analysis = try AnalysisSettings(reader)
        sessionSeconds = try reader.integer("JWT_TTL_SECONDS", default: 86_400, range: 60...2_592_000)
        allowRegistration = try reader.boolean("ALLOW_REGISTRATION", default: false)
        notifications = try NotificationSettings(reader, azureCredentials: dataFactory?.credentials)
        databasePoolSize = try reader.integer("DATABASE_POOL_SIZE", default: Database.defaultPostgresConnections, range: 1...500)
        preparedStatements = try reader.boolean("PREPARED_STATEMENTS", default: true)
        if try reader.boolean("DATABASE_AZURE_AD", default: false) {
            guard database?.isPostgres == true else {
                throw ConfigurationError(variable: "DATABASE_AZURE_AD", problem: "needs a PostgreSQL DATABASE_URL (Azure Database for PostgreSQL)")
            }
            guard let credentials = dataFactory?.credentials else {
                throw ConfigurationError(variable: "DATABASE_AZURE_AD", problem: "needs the service principal: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET")
            }
            databaseAzureAD = credentials
        }
        shareLiveEvents = try reader.boolean("SHARE_LIVE_EVENTS", default: false)
        if shareLiveEvents, database?.isPostgres != true {
            throw ConfigurationError(variable: "SHARE_LIVE_EVENTS", problem: "needs a PostgreSQL DATABASE_URL; a single SQLite process already sees all its events")
        }
    }
}

/// Data Factory enrichment: the service principal, the factory used when
/// an alert names none, and the factories the worker may query at all.
public struct DataFactorySettings: Sendable {
    public var credentials: AzureCredentials
    public var defaultFactory: AzureResourceID?
    /// `ADF_ALLOWED_FACTORIES`: names or resource ids; nil allows every factory the principal can read.
    public var allowedFactories: Set<String>?
}

extension ServerConfiguration {
    /// Data Factory enrichment: the three credential variables go together;
    /// the factory variables are a default for alerts that name no factory.
    static func dataFactory(_ reader: VariableReader) throws(ConfigurationError) -> DataFactorySettings? {
        let credentialNames = ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"]
        let credentialValues = credentialNames.map { reader.optional($0) }
        let factoryNames = ["ADF_SUBSCRIPTION_ID", "ADF_RESOURCE_GROUP", "ADF_FACTORY_NAME"]
        let factoryValues = factoryNames.map { reader.optional($0) }
        if credentialValues.allSatisfy({ $0 == nil }) { return nil }
        if let missing = zip(credentialNames, credentialValues).first(where: { $0.1 == nil })?.0 {
            throw ConfigurationError(variable: missing, problem: "is required with \(credentialNames.joined(separator: ", ")) for Data Factory enrichment")
        }
        if factoryValues.contains(where: { $0 != nil }), let missing = zip(factoryNames, factoryValues).first(where: { $0.1 == nil })?.0 {
            throw ConfigurationError(variable: missing, problem: "is required with \(factoryNames.joined(separator: ", "))")
        }
        let credentials = AzureCredentials(
            tenantID: credentialValues[0]!,
            clientID: credentialValues[1]!,
            clientSecret: credentialValues[2]!,
            authorityHost: try reader.endpoint("AZURE_AUTHORITY_HOST", default: "https://login.microsoftonline.com"),
            managementURL: try reader.endpoint("AZURE_MANAGEMENT_URL", default: "https://management.azure.com")
        )
        var factory: AzureResourceID?
        if factoryValues.allSatisfy({ $0 != nil }) {
            guard Identifiers.isGUID(factoryValues[0]!) else {
                throw ConfigurationError(variable: "ADF_SUBSCRIPTION_ID", problem: "expected a subscription id (a GUID)")
            }
            guard Identifiers.isDataFactoryName(factoryValues[2]!) else {
                throw ConfigurationError(variable: "ADF_FACTORY_NAME", problem: "expected 3-63 letters, digits and single hyphens")
            }
            guard let id = AzureResourceID(
                subscriptionID: factoryValues[0]!, resourceGroup: factoryValues[1]!,
                providerNamespace: "Microsoft.DataFactory", resourceType: "factories", name: factoryValues[2]!
            ) else {
                throw ConfigurationError(variable: "ADF_RESOURCE_GROUP", problem: "expected 1-90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'")
            }
            factory = id
        }
        let allowed = reader.list("ADF_ALLOWED_FACTORIES").map(Set.init)
        return DataFactorySettings(credentials: credentials, defaultFactory: factory, allowedFactories: allowed)
    }
}

/// A configuration value that cannot be used. Its description is the one line
/// printed before the server refuses to start.
public struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    public let variable: String
    public let problem: String

    public init(variable: String, problem: String) {
        self.variable = variable
        self.problem = problem
    }

    public var description: String { "\(variable): \(problem)" }
}

/// Typed access to string variables, with errors that name the variable.
struct VariableReader {
    let environment: [String: String]

    func optional(_ name: String) -> String? {
        guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    func string(_ name: String, default defaultValue: String) -> String {
        optional(name) ?? defaultValue
    }

    func url(_ name: String, default defaultValue: String) throws(ConfigurationError) -> String {
        let text = string(name, default: defaultValue)
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw ConfigurationError(variable: name, problem: "expected an http:// or https:// URL, got \"\(text)\"")
        }
        return text
    }

    /// A service's base URL; a bare host name gets `https://`.
    func endpoint(_ name: String, default defaultValue: String) throws(ConfigurationError) -> VendorEndpoint {
        do {
            return try VendorEndpoint(string(name, default: defaultValue))
        } catch {
            throw ConfigurationError(variable: name, problem: "expected an http:// or https:// URL with a host and no query, got \"\(string(name, default: defaultValue))\"")
        }
    }

    /// A comma-separated list; nil when the variable is unset or empty.
    func list(_ name: String) -> [String]? {
        let items = optional(name)?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return items?.isEmpty == false ? items : nil
    }

    func integer(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let text = optional(name) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(variable: name, problem: "expected a whole number from \(range.lowerBound) to \(range.upperBound), got \"\(text)\"")
        }
        return value
    }

    func choice<Value: CaseIterable & RawRepresentable>(
        _ name: String,
        default defaultValue: Value,
        parse: (String) -> Value?
    ) throws(ConfigurationError) -> Value where Value.RawValue == String {
        guard let text = optional(name) else { return defaultValue }
        guard let value = parse(text) else {
            let allowed = Value.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError(variable: name, problem: "expected one of \(allowed), got \"\(text)\"")
        }
        return value
    }
}

/// What a server process does: answer HTTP (webhooks, API, dashboard), run
/// the background workers, or both. Several `web` and `worker` processes can
/// share one PostgreSQL database.
public enum ServerRole: String, Sendable, CaseIterable {
    case all
    case web
    case worker

    public var runsWorkers: Bool { self != .web }
    public var servesWebhooks: Bool { self != .worker }
}

/// How log lines are written: for people (`text`) or for log collectors (`json`).
public enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json
}
