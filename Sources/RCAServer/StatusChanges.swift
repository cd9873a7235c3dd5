import Foundation
import RCACore
import RCANotify
import RCAStore

/// One place that moves a ticket for every caller (dashboard, Slack button,
/// Jira webhook): the workflow change, the notifications it causes queued in
/// the same transaction (except back to the channel it came from), and the
/// live event for dashboards.
struct StatusChanges: Sendable {
    let database: Database
    let events: LiveEvents
    let outbox: Outbox
    let wakeups: JobWakeups

    static func reason(for status: TicketStatus) -> NotificationReason {
        switch status {
        case .open: .reopened
        case .acknowledged: .acknowledged
        case .inProgress: .inProgress
        case .resolved: .resolved
        }
    }

    /// `origin` is the channel the change came from (`slack`, `jira`), which is not told about it again.
    func apply(ticketID: String, to target: TicketStatus, by user: String, note: String?, origin: String?, mayReopen: Bool = true) async throws -> StatusChange {
        let outbox = self.outbox
        let events = self.events
        let change = try await TicketWorkflow(database: database).change(ticketID: ticketID, to: target, by: user, note: note, mayReopen: mayReopen) { change, sql in
            let skipping = origin == "slack" ? nil : origin
            try await outbox.enqueue(ticketID: change.ticketID, reason: Self.reason(for: change.to), skipping: skipping, on: sql)
            try await events.announce([Self.liveEvent(change, by: user)], on: sql)
        }
        wakeups.signal(jobs: outbox.channels)
        events.afterCommit([Self.liveEvent(change, by: user)])
        return change
    }

    static func liveEvent(_ change: StatusChange, by user: String) -> LiveEvent {
        LiveEvent(.statusUpdate, ticketID: change.ticketID, status: change.to.rawValue, slaStatus: change.slaStatus, user: user)
    }
}
