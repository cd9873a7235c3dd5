import ArgumentParser
import RCAServer
import RCAStore

/// `rca-assistant replay`: re-runs stored webhook payloads through the
/// current parsers (after a fix), opening or updating their tickets.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-run stored webhook payloads through the parsers (all that failed, or the given ids)."
    )

    @Argument(help: "Payload ids, as named in 4xx answers and logs. None: every payload whose parsing failed.")
    var ids: [Int64] = []

    func run() async throws {
        try await CommandFailure.run {
            let configuration = try ServerConfiguration.current()
            _ = try DataDirectory(path: configuration.dataDirectory)
            let database = try await ServerStartup.openDatabase(configuration, logger: commandLogger(configuration))
            let outcomes: [PayloadReplayer.Outcome]
            do {
                _ = try await ServerStartup.migrate(database, configuration: configuration)
                let queue = JobQueue(database: database)
                outcomes = try await PayloadReplayer(database: database, jobQueue: queue).replay(ids: ids)
            } catch let error as ReplayError {
                await database.close()
                throw CommandError(message: error.description)
            } catch {
                await database.close()
                throw error
            }
            await database.close()
            if outcomes.isEmpty { Console.print("Nothing to replay: no stored payload failed to parse.") }
            for outcome in outcomes {
                var line = "#\(outcome.payloadID) \(outcome.endpoint): \(outcome.status)"
                if let result = outcome.result, !result.ticketIDs.isEmpty {
                    line += "; new tickets: \(result.created.count), repeats: \(result.duplicates.count), resolved: \(result.resolved.count) (\(result.ticketIDs.joined(separator: ", ")))"
                }
                if let detail = outcome.detail { line += "; \(detail)" }
                Console.print(line)
            }
        }
    }
}
