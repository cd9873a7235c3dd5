import Foundation
import RCACore
import RCANotify
import RCAStore
import SQLKit

/// Assignments and notes from the dashboard or the API: each stored with its
/// audit line, the channels that show them told in the same transaction
/// (a note goes to the Slack thread), and dashboards updated live.
struct Collaboration: Sendable {
    let database: Database
    let events: LiveEvents
    let outbox: Outbox
    let wakeups: JobWakeups

    /// Returns the previous owner.
    func assign(ticketID: String, to assignee: String?, by user: String) async throws -> String? {
        try await announcing(ticketID, by: user) { tell in
            try await TicketCollaboration(database: database).assign(ticketID: ticketID, to: assignee, by: user) { sql in
                try await tell(.assigned, nil, sql)
            }
        }
    }

    func addNote(ticketID: String, text: String, by user: String) async throws -> TicketNote {
        try await announcing(ticketID, by: user) { tell in
            try await TicketCollaboration(database: database).addNote(ticketID: ticketID, text: text, by: user) { note, sql in
                try await tell(.noted, note.auditID, sql)
            }
        }
    }

    /// Runs `change`, handing it what to call inside its transaction: queue
    /// the notification (with the note it posts, if any) and the live event;
    /// after the commit, wakes the delivery workers and tells dashboards.
    private func announcing<Result: Sendable>(
        _ ticketID: String,
        by user: String,
        _ change: (_ tell: @escaping @Sendable (NotificationReason, Int64?, any SQLDatabase) async throws -> Void) async throws -> Result
    ) async throws -> Result {
        let outbox = self.outbox
        let events = self.events
        let event = LiveEvent(.ticketUpdated, ticketID: ticketID, user: user)
        let result = try await change { reason, noteID, sql in
            try await outbox.enqueue(ticketID: ticketID, reason: reason, noteID: noteID, on: sql)
            try await events.announce([event], on: sql)
        }
        wakeups.signal(jobs: outbox.channels)
        events.afterCommit([event])
        return result
    }
}
