import ArgumentParser
import Foundation
import Logging
import RCAAnalysis
import RCAServer
import RCAStore

/// The operator's interface: one executable whose subcommands run the server
/// and administer its data.
@main
struct RCAAssistant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rca-assistant",
        abstract: "Turns pipeline-failure alerts into analysed, deduplicated tickets.",
        discussion: "Configuration comes from environment variables and an optional .env file in the current folder; see README.md.",
        version: "0.5.0",
        subcommands: [Serve.self, Migrate.self, UserCommand.self, Replay.self, Analyze.self, Evaluate.self, RulesCommand.self, ImportPrototype.self, DoctorCommand.self, RebuildCounters.self]
    )
}

/// Expected failures of a command, printed as one line on standard error
/// before exiting non-zero: no stack trace for a problem the operator can fix.
enum CommandFailure {
    static func run<Result>(_ body: () async throws -> Result) async throws -> Result {
        umask(0o077)
        do {
            return try await body()
        } catch let error as ConfigurationError {
            exit(with: error.description)
        } catch let error as CommandError {
            exit(with: error.message)
        }
    }

    static func exit(with message: String) -> Never {
        FileHandle.standardError.write(Data("rca-assistant: \(message)\n".utf8))
        Foundation.exit(1)
    }
}

/// A command's own refusal, with the message to show.
struct CommandError: Error {
    let message: String
}

/// Console output that must reach the terminal at once, even through a pipe.
enum Console {
    static func print(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

extension ServerConfiguration {
    /// The configuration of this process: its environment over `./.env`.
    static func current() throws(ConfigurationError) -> ServerConfiguration {
        try ServerConfiguration(environment: EnvironmentVariables.load())
    }
}

/// The rules engine as the server runs it: with the operator's rules of
/// `KNOWLEDGE_BASE_FILE` (environment or `./.env`) before the built-in ones.
func configuredRulesEngine() throws -> RulesEngine {
    let site = try AnalysisSettings.siteRules(file: EnvironmentVariables.load()["KNOWLEDGE_BASE_FILE"])
    return try RulesEngine(siteRules: site)
}

/// A logger for commands other than `serve`, quiet unless something is wrong.
func commandLogger(_ configuration: ServerConfiguration) -> Logger {
    var logger = Logger(label: "rca-assistant")
    logger.logLevel = max(configuration.logLevel, .warning)
    return logger
}

/// Opens the configured database, migrated, for a command other than
/// `serve`; closes it afterwards whatever happens.
func withMigratedDatabase<Result>(_ body: (Database) async throws -> Result) async throws -> Result {
    let configuration = try ServerConfiguration.current()
    _ = try DataDirectory(path: configuration.dataDirectory)
    let database = try await ServerStartup.openDatabase(configuration, logger: commandLogger(configuration))
    do {
        _ = try await ServerStartup.migrate(database, configuration: configuration)
        let result = try await body(database)
        await database.close()
        return result
    } catch {
        await database.close()
        throw error
    }
}
