import Foundation
import RCACore
import RCANotify
import RCAStore

/// A responder's correction of a ticket's analysis, from the dashboard or the
/// API: stored for the failure's fingerprint, the channels that show the
/// analysis told in the same transaction, and dashboards updated live.
struct AnalysisCorrections: Sendable {
    let database: Database
    let events: LiveEvents
    let outbox: Outbox
    let wakeups: JobWakeups

    func apply(_ request: CorrectionRequest, by user: String) async throws -> AnalysisCorrection {
        let outbox = self.outbox
        let events = self.events
        let event = LiveEvent(.ticketUpdated, ticketID: request.ticketID)
        let correction = try await CorrectionStore(database: database).correct(request, by: user) { sql in
            try await outbox.enqueue(ticketID: request.ticketID, reason: .corrected, on: sql)
            try await events.announce([event], on: sql)
        }
        wakeups.signal(jobs: outbox.channels)
        events.afterCommit([event])
        return correction
    }
}
