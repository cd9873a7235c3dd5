import Foundation
import RCACore
import RCANotify
import RCAStore

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
        let outbox = self.outbox
        let events = self.events
        let event = LiveEvent(.ticketUpdated, ticketID: ticketID, user: user)
        let previous = try await TicketCollaboration(database: database).assign(ticketID: ticketID, to: assignee, by: user) { sql in
            try await outbox.enqueue(ticketID: ticketID, reason: .assigned, on: sql)
            try await events.announce([event], on: sql)
        }
        wakeups.signal(jobs: outbox.channels)
        events.afterCommit([event])
        return previous
    }

    func addNote(ticketID: String, text: String, by user: String) async throws -> TicketNote {
        let outbox = self.outbox
        let events = self.events
        let event = LiveEvent(.ticketUpdated, ticketID: ticketID, user: user)
        let note = try await TicketCollaboration(database: database).addNote(ticketID: ticketID, text: text, by: user) { note, sql in
            try await outbox.enqueue(ticketID: ticketID, reason: .noted, noteID: note.auditID, on: sql)
            try await events.announce([event], on: sql)
        }
        wakeups.signal(jobs: outbox.channels)
        events.afterCommit([event])
        return note
    }
}
