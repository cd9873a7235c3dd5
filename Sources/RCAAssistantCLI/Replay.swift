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
            let outcomes: [PayloadReplayer.Outcome]
            do {
                outcomes = try await withMigratedDatabase { database in
                    try await PayloadReplayer(database: database, jobQueue: JobQueue(database: database)).replay(ids: ids)
                }
            } catch let error as ReplayError {
                throw CommandError(message: error.description)
            }
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
