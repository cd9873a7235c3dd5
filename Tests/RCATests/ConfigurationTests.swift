import Foundation
import Logging
import RCACore
import RCAServer
import RCAStore
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    @Test("with no variables at all it listens on 127.0.0.1:8000 with SQLite in ./data")
    func defaults() throws {
        let configuration = try ServerConfiguration(environment: [:])
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8000)
        #expect(configuration.dataDirectory == "./data")
        #expect(configuration.effectiveDatabase == .sqlite(path: "./data/rca.sqlite"))
        #expect(configuration.webhookToken == nil)
        #expect(configuration.jwtSecret == nil)
        #expect(configuration.baseURL == "http://127.0.0.1:8000")
        #expect(configuration.databasePoolSize == 16)
        #expect(configuration.preparedStatements)
    }

    @Test("variables set the server's values")
    func explicitValues() throws {
        let configuration = try ServerConfiguration(environment: [
            "HOST": "0.0.0.0", "PORT": "9000", "DATA_DIR": "/var/lib/rca",
            "DATABASE_URL": "postgres://rca:pw@db:5432/rca", "WEBHOOK_TOKEN": "0123456789abcdef",
            "JWT_SECRET": String(repeating: "k", count: 40), "PUBLIC_URL": "https://rca.example.com/",
            "LOG_LEVEL": "DEBUG", "LOG_FORMAT": "json", "WORKER_CONCURRENCY": "8",
            "DATABASE_POOL_SIZE": "40", "PREPARED_STATEMENTS": "off",
        ])
        #expect(configuration.port == 9000)
        #expect(configuration.effectiveDatabase == .postgres(PostgresEndpoint(host: "db", username: "rca", password: "pw", database: "rca", tls: .require)))
        #expect(configuration.webhookToken == "0123456789abcdef")
        #expect(configuration.baseURL == "https://rca.example.com")
        #expect(configuration.logLevel == .debug)
        #expect(configuration.logFormat == .json)
        #expect(configuration.workerConcurrency == 8)
        #expect(configuration.databasePoolSize == 40)
        #expect(!configuration.preparedStatements)
    }

    @Test("a bad value is refused with the variable's name and what is wrong", arguments: [
        (["PORT": "abc"], "PORT: expected a whole number from 0 to 65535, got \"abc\""),
        (["PORT": "70000"], "PORT: expected a whole number from 0 to 65535, got \"70000\""),
        (["DATABASE_URL": "mysql://x/y"], "DATABASE_URL: unsupported scheme \"mysql\"; use postgres:// or sqlite://"),
        (["JWT_SECRET": "short"], "JWT_SECRET: must be at least 32 bytes long; leave it unset to have one generated"),
        (["WEBHOOK_TOKEN": "abc"], "WEBHOOK_TOKEN: must be at least 16 characters long; leave it unset to have one generated"),
        (["LOG_LEVEL": "loud"], "LOG_LEVEL: expected one of trace, debug, info, notice, warning, error, critical, got \"loud\""),
        (["LOG_FORMAT": "xml"], "LOG_FORMAT: expected one of text, json, got \"xml\""),
        (["PUBLIC_URL": "rca.example.com"], "PUBLIC_URL: expected an http:// or https:// URL, got \"rca.example.com\""),
        (["WORKER_CONCURRENCY": "0"], "WORKER_CONCURRENCY: expected a whole number from 1 to 256, got \"0\""),
        (["SHARE_LIVE_EVENTS": "true"], "SHARE_LIVE_EVENTS: needs a PostgreSQL DATABASE_URL; a single SQLite process already sees all its events"),
        (["SLACK_BOT_TOKEN": "xoxb-1"], "SLACK_CHANNEL: is required with SLACK_BOT_TOKEN, SLACK_CHANNEL"),
        (["AZURE_BLOB_CONTAINER_SAS_URL": "https://a.blob.core.windows.net/c"], "AZURE_BLOB_CONTAINER_SAS_URL: expected a container SAS URL such as https://ACCOUNT.blob.core.windows.net/CONTAINER?sv=…&sig=…"),
        (["DATABASE_POOL_SIZE": "0"], "DATABASE_POOL_SIZE: expected a whole number from 1 to 500, got \"0\""),
        (["PREPARED_STATEMENTS": "sometimes"], "PREPARED_STATEMENTS: expected true or false, got \"sometimes\""),
        (["JWT_TTL_SECONDS": "10"], "JWT_TTL_SECONDS: expected a whole number from 60 to 2592000, got \"10\""),
    ])
    func refused(environment: [String: String], message: String) {
        #expect {
            try ServerConfiguration(environment: environment)
        } throws: { error in
            (error as? ConfigurationError)?.description == message
        }
    }

    @Test(".env files are read, and the process environment wins over them")
    func dotEnv() throws {
        let text = """
            # comment
            export PORT=9100
            HOST = 0.0.0.0
            SLACK_CHANNEL="#aiops alerts" 
            GREETING='single # not a comment'
            MULTI="line1\\nline2"
            TRAILING=value # comment

            """
        let parsed = try EnvironmentVariables.parseDotEnv(text)
        #expect(parsed["PORT"] == "9100")
        #expect(parsed["HOST"] == "0.0.0.0")
        #expect(parsed["SLACK_CHANNEL"] == "#aiops alerts")
        #expect(parsed["GREETING"] == "single # not a comment")
        #expect(parsed["MULTI"] == "line1\nline2")
        #expect(parsed["TRAILING"] == "value")

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rca-\(UUID().uuidString).env")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let merged = try EnvironmentVariables.load(process: ["PORT": "9200"], dotEnvPath: file.path)
        #expect(merged["PORT"] == "9200")
        #expect(merged["HOST"] == "0.0.0.0")
        #expect(try EnvironmentVariables.load(process: ["A": "1"], dotEnvPath: "/nonexistent/.env") == ["A": "1"])
    }

    @Test("a malformed .env line is refused with its line number")
    func dotEnvErrors() {
        #expect(throws: ConfigurationError(variable: ".env line 2", problem: "expected KEY=value")) {
            try EnvironmentVariables.parseDotEnv("A=1\nnot a setting\n")
        }
        #expect(throws: ConfigurationError(variable: ".env line 1", problem: "the value of A has an unterminated quote")) {
            try EnvironmentVariables.parseDotEnv("A=\"open\n")
        }
        #expect(throws: ConfigurationError(variable: ".env line 1", problem: "\"1A\" is not a valid variable name")) {
            try EnvironmentVariables.parseDotEnv("1A=x\n")
        }
    }
}

@Suite("Data folder")
struct DataDirectoryTests {
    static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("rca-data-\(UUID().uuidString)").path
    }

    @Test("a secret is generated once with owner-only permissions and reused afterwards")
    func secretPersistence() throws {
        let path = Self.temporaryPath() + "/nested/data"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let folder = try DataDirectory(path: path)

        let first = try folder.secret(named: "jwt_secret") { "generated-value" }
        #expect(first.generated)
        #expect(first.value == "generated-value")
        let permissions = try FileManager.default.attributesOfItem(atPath: first.file)[.posixPermissions] as? Int
        #expect(permissions == 0o600)

        let second = try DataDirectory(path: path).secret(named: "jwt_secret") { "a different value" }
        #expect(!second.generated)
        #expect(second.value == "generated-value")
    }

    @Test("a folder that cannot be created is refused with the system's reason")
    func uncreatable() throws {
        let file = Self.temporaryPath()
        try Data().write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(throws: ConfigurationError(variable: "DATA_DIR", problem: "cannot create \(file)/data: Not a directory")) {
            try DataDirectory(path: file + "/data")
        }
        #expect(throws: ConfigurationError(variable: "DATA_DIR", problem: "\(file) exists and is not a folder")) {
            try DataDirectory(path: file)
        }
    }

    @Test("an emptied secret file is refused rather than silently replaced")
    func emptySecret() throws {
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let folder = try DataDirectory(path: path)
        try "\n".write(toFile: path + "/webhook_token", atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) { try folder.secret(named: "webhook_token") { "x" } }
    }

    @Test("the analysis engine follows the keys present, and ANALYSIS_ENGINE can force one")
    func analysisEngine() throws {
        #expect(try ServerConfiguration(environment: [:]).analysis.model == nil)
        let gemini = try ServerConfiguration(environment: ["GEMINI_API_KEY": "k"]).analysis.model
        guard case .gemini(_, let model, let baseURL)? = gemini else { Issue.record("expected gemini, got \(String(describing: gemini))"); return }
        #expect(model == "gemini-2.5-flash")
        #expect(baseURL == "https://generativelanguage.googleapis.com/v1beta")
        let local = try ServerConfiguration(environment: ["OPENAI_MODEL": "llama3.1", "OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"]).analysis.model
        guard case .openAI(_, nil, "Authorization", "llama3.1")? = local else { Issue.record("expected a keyless local server, got \(String(describing: local))"); return }
        #expect(try ServerConfiguration(environment: ["GEMINI_API_KEY": "k", "ANALYSIS_ENGINE": "rules"]).analysis.model == nil)
        let sla = try ServerConfiguration(environment: ["SLA_P1_SECONDS": "300", "SLA_P4_SECONDS": "86400"]).analysis.slaPolicy
        #expect(sla.seconds == [.p1: 300, .p2: 1800, .p3: 7200, .p4: 86400])
    }

    @Test("bad analysis settings name the variable", arguments: [
        (["ANALYSIS_ENGINE": "claude"], "ANALYSIS_ENGINE: expected one of rules, gemini, openai, got \"claude\""),
        (["ANALYSIS_ENGINE": "openai"], "OPENAI_MODEL: is required when ANALYSIS_ENGINE is openai (for example gpt-4o-mini, or the model a local server loaded)"),
        (["OPENAI_MODEL": "gpt-4o-mini"], "OPENAI_API_KEY: is required for api.openai.com; set OPENAI_BASE_URL to use a local server without a key"),
        (["GEMINI_API_KEY": "k", "GEMINI_BASE_URL": "ftp://x"], "GEMINI_BASE_URL: expected an http:// or https:// URL, got \"ftp://x\""),
        (["SLA_P1_SECONDS": "5"], "SLA_P1_SECONDS: expected a whole number from 60 to 2592000, got \"5\""),
        (["RECURRENCE_LINKING": "maybe"], "RECURRENCE_LINKING: expected true or false, got \"maybe\""),
        (["MODEL_DAILY_CALL_LIMIT": "-1"], "MODEL_DAILY_CALL_LIMIT: expected a whole number from 0 to 100000000, got \"-1\""),
    ])
    func badAnalysisSettings(environment: [String: String], message: String) {
        #expect(throws: ConfigurationError.self) { try ServerConfiguration(environment: environment) }
        do {
            _ = try ServerConfiguration(environment: environment)
        } catch {
            #expect(error.description == message)
        }
    }
}
