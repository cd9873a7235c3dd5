import AsyncHTTPClient
import Foundation
import RCACore
import RCANotify
import RCASources
import RCAStore
import SQLKit

/// The notifiers the configuration turns on, in a fixed order (the
/// registry of channels: one line per channel).
public func makeNotifiers(_ settings: NotificationSettings, httpClient: HTTPClient = VendorHTTP.sharedClient) -> [any Notifier] {
    let timeout = Duration.seconds(settings.timeoutSeconds)
    var notifiers: [any Notifier] = []
    if let slack = settings.slack {
        notifiers.append(SlackNotifier(
            token: slack.botToken, channel: slack.channel, apiURL: slack.apiURL, httpClient: httpClient, timeout: timeout,
            pacing: .milliseconds(slack.pacingMilliseconds)
        ))
    }
    if let jira = settings.jira {
        notifiers.append(JiraNotifier(
            domain: jira.domain, email: jira.email, apiToken: jira.apiToken, projectKey: jira.projectKey, issueType: jira.issueType,
            doneTransition: jira.doneTransition, httpClient: httpClient, timeout: timeout
        ))
    }
    if let url = settings.teamsWebhookURL { notifiers.append(TeamsNotifier(webhookURL: url, httpClient: httpClient, timeout: timeout)) }
    if let pagerDuty = settings.pagerDuty {
        notifiers.append(PagerDutyNotifier(routingKey: pagerDuty.routingKey, eventsURL: pagerDuty.eventsURL, httpClient: httpClient, timeout: timeout))
    }
    if let webhook = settings.outgoingWebhook {
        notifiers.append(OutgoingWebhookNotifier(url: webhook.url, secret: webhook.secret, httpClient: httpClient, timeout: timeout))
    }
    if let archive = settings.blobArchive {
        notifiers.append(BlobArchiver(target: archive.target, httpClient: httpClient, timeout: timeout))
    }
    return notifiers
}

/// Writes notification jobs, one per channel that cares about the reason,
/// inside the transaction that made the change they announce, so that a
/// change is never committed without its notifications (nor the reverse).
public struct Outbox: Sendable {
    public static let jobKind = "notify"

    struct Payload: Codable {
        let ticket_id: String
        let channel: String
        let reason: NotificationReason
        /// The audit id of the note a `.noted` delivery posts.
        var note_id: Int64? = nil
    }

    let queue: JobQueue
    let notifiers: [any Notifier]

    public init(queue: JobQueue, notifiers: [any Notifier]) {
        self.queue = queue
        self.notifiers = notifiers
    }

    /// How many channels are configured: the most jobs one change can queue.
    var channels: Int { notifiers.count }

    /// Queues `reason` for every channel that handles it, except `skipping` (the channel the change came from).
    @discardableResult
    func enqueue(ticketID: String, reason: NotificationReason, skipping: String? = nil, noteID: Int64? = nil, on sql: any SQLDatabase) async throws -> Int {
        try await enqueue(ticketID: ticketID, reason: reason, skipping: skipping, noteID: noteID, leasingFirstTo: nil, on: sql).queued
    }

    /// Like `enqueue(ticketID:reason:skipping:on:)`, but the first channel's
    /// job is leased to the worker of `completion` (when given), for it to
    /// run as soon as the transaction commits; returns how many jobs were
    /// queued for other workers, and the leased one.
    func enqueue(
        ticketID: String,
        reason: NotificationReason,
        skipping: String? = nil,
        noteID: Int64? = nil,
        leasingFirstTo completion: JobCompletion?,
        on sql: any SQLDatabase
    ) async throws -> (queued: Int, leased: ClaimedJob?) {
        var queued = 0
        var leased: ClaimedJob?
        var leaseOffered = completion == nil
        for notifier in notifiers where notifier.handles(reason) && notifier.channel != skipping {
            let payload = String(decoding: try JSONEncoder().encode(Payload(ticket_id: ticketID, channel: notifier.channel, reason: reason, note_id: noteID)), as: UTF8.self)
            let uniqueKey = reason == .opened ? "notify:\(ticketID):\(notifier.channel):opened" : nil
            if !leaseOffered, let completion {
                leaseOffered = true
                leased = try await completion.lease(kind: Self.jobKind, payload: payload, uniqueKey: uniqueKey, on: sql)
            } else {
                try await queue.enqueue(kind: Self.jobKind, payload: payload, uniqueKey: uniqueKey, on: sql)
                queued += 1
            }
        }
        return (queued, leased)
    }
}
