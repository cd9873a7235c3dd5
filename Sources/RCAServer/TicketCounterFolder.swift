import Foundation
import Logging
import RCAStore
import ServiceLifecycle

/// Folds the ticket changes the triggers recorded into the dashboard's
/// counters every few seconds, so that the summary, which adds the changes
/// not folded yet to the counters, reads a few hundred rows however many
/// tickets there are. Every worker process runs one; on PostgreSQL they take
/// turns, and a replica that finds another one folding skips its round.
struct TicketCounterFolder: Service {
    let counters: TicketCounters
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await counters.fold()
            } catch {
                logger.warning("cannot fold the ticket counters", metadata: ["error": "\(Database.describe(error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
