import ArgumentParser
import RCAServer
import RCAStore

/// `rca-assistant migrate`: brings the database schema up to date (the server
/// also does this at start).
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations and exit.")

    func run() async throws {
        try await CommandFailure.run {
            let configuration = try ServerConfiguration.current()
            _ = try DataDirectory(path: configuration.dataDirectory)
            let database = try await ServerStartup.openDatabase(configuration, logger: commandLogger(configuration))
            let applied: [Int]
            do {
                applied = try await ServerStartup.migrate(database, configuration: configuration)
            } catch {
                await database.close()
                throw error
            }
            await database.close()
            if applied.isEmpty {
                Console.print("Schema is up to date (version \(Migrator.latestVersion)).")
            } else {
                Console.print("Applied migrations \(applied.map(String.init).joined(separator: ", ")); schema is at version \(Migrator.latestVersion).")
            }
        }
    }
}
