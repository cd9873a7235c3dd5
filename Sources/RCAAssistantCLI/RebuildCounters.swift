import ArgumentParser
import Foundation
import RCAServer
import RCAStore

/// `rca-assistant rebuild-counters`: recounts the dashboard's counters from
/// the tickets, after tickets were loaded by SQL or to check them.
struct RebuildCounters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild-counters",
        abstract: "Recount the dashboard summary's counters from the stored tickets and exit.",
        discussion: "Ticket writers wait while it runs (seconds at a million tickets). Changes made through the server are counted as they happen; this is for tickets written around it."
    )

    func run() async throws {
        try await CommandFailure.run {
            let configuration = try ServerConfiguration.current()
            _ = try DataDirectory(path: configuration.dataDirectory)
            let database = try await ServerStartup.openDatabase(configuration, logger: commandLogger(configuration))
            let started = ContinuousClock.now
            let rows: Int
            do {
                try await Migrator(database: database).checkReady()
                rows = try await TicketCounters(database: database).rebuild()
            } catch {
                await database.close()
                throw error
            }
            await database.close()
            Console.print("Recounted the tickets into \(rows) counter rows in \(started.duration(to: .now)).")
        }
    }
}
