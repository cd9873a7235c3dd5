import AsyncHTTPClient
import Foundation
import NIOHTTP1
import RCACore
import RCASources

/// Posts each ticket to a Slack channel once (`chat.postMessage`) and edits
/// that same message (`chat.update`) whenever the ticket changes. Slack
/// reports most errors as HTTP 200 with `"ok": false`; those are failures
/// too. Messages carry the ticket id in their metadata, so that a message
/// posted by an attempt that crashed before recording it is found
/// (`conversations.history`) rather than posted again.
public struct SlackNotifier: Notifier {
    public static let defaultAPIURL = "https://slack.com/api"
    public let channel = "slack"
    public let displayName = "Slack"

    private let token: String
    private let channelID: String
    private let apiURL: String
    private let http: NotifyHTTP
    private let pacer: ChannelPacer

    /// Slack error codes that mean "try again later".
    static let transientErrors: Set<String> = ["ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"]

    public init(token: String, channel: String, apiURL: String = defaultAPIURL, httpClient: HTTPClient, timeout: Duration, pacing: Duration = .seconds(1)) {
        self.token = token
        self.channelID = channel
        self.apiURL = VendorHTTP.base(apiURL)
        self.http = NotifyHTTP(client: httpClient, timeout: timeout, service: "Slack", secrets: [token])
        self.pacer = ChannelPacer(interval: pacing)
    }

    /// How far back a look-up reads: 10,000 messages, nearly three hours of a
    /// channel at Slack's pace of a message a second. An unpaced channel
    /// (`SLACK_PACING_MS=0`) can bury a lost post under thousands of newer
    /// ones in the seconds before its lease runs out.
    static let lookupPages = 50

    public func handles(_ reason: NotificationReason) -> Bool { true }

    /// Pages through the channel's history since shortly before the ticket
    /// was first seen (newest first, at most `lookupPages` pages of 200).
    public func lookUp(_ ticket: TicketSnapshot) async throws(DeliveryError) -> RemoteReference? {
        let oldest = (Timestamp.date(from: ticket.firstSeen) ?? Date()).timeIntervalSince1970 - 300
        var cursor = ""
        for _ in 0..<Self.lookupPages {
            var query = "channel=\(Self.encode(channelID))&limit=200&include_all_metadata=true&oldest=\(Int(oldest))"
            if !cursor.isEmpty { query += "&cursor=\(Self.encode(cursor))" }
            let answer: JSONValue
            do {
                answer = try await call(.GET, "conversations.history?\(query)", body: nil)
            } catch {
                if error.isRetryable { throw error }
                return nil
            }
            for message in answer["messages"].array ?? [] where message["metadata"]["event_type"].string == "rca_ticket" {
                if message["metadata"]["event_payload"]["ticket_id"].string == ticket.id, let ts = message["ts"].string {
                    return RemoteReference(id: ts, location: channelID)
                }
            }
            cursor = answer["response_metadata"]["next_cursor"].string ?? ""
            guard answer["has_more"].bool == true, !cursor.isEmpty else { return nil }
        }
        return nil
    }

    public func deliver(_ ticket: TicketSnapshot, reason: NotificationReason, existing: RemoteReference?, payload: Data?) async throws(DeliveryError) -> RemoteReference {
        guard reason == .noted, let note = ticket.note else { return try await post(ticket, existing: existing) }
        let message: RemoteReference
        if let existing { message = existing } else { message = try await post(ticket, existing: nil) }
        let target = message.location ?? channelID
        await pacer.wait(for: target)
        _ = try await call(.POST, "chat.postMessage", body: .object([
            "channel": .string(target), "thread_ts": .string(message.id), "text": .string(SlackMessage.noteReply(note)), "unfurl_links": false,
        ]))
        return message
    }

    /// Brings the ticket's message up to date, posting it when there is none.
    private func post(_ ticket: TicketSnapshot, existing: RemoteReference?) async throws(DeliveryError) -> RemoteReference {
        let target = existing?.location ?? channelID
        await pacer.wait(for: target)
        if let existing {
            do {
                _ = try await call(.POST, "chat.update", body: .object([
                    "channel": .string(target), "ts": .string(existing.id),
                    "text": .string(SlackMessage.text(ticket)), "blocks": SlackMessage.blocks(ticket),
                ]))
                return existing
            } catch where error.message.contains("message_not_found") {
                // The message was deleted in Slack: post the ticket again.
            }
        }
        let answer = try await call(.POST, "chat.postMessage", body: .object([
            "channel": .string(channelID),
            "text": .string(SlackMessage.text(ticket)),
            "blocks": SlackMessage.blocks(ticket),
            "unfurl_links": false,
            "metadata": .object(["event_type": "rca_ticket", "event_payload": .object(["ticket_id": .string(ticket.id)])]),
        ]))
        guard let ts = answer["ts"].string else { throw DeliveryError(.retryable(after: nil), "Slack accepted the message but returned no ts") }
        return RemoteReference(id: ts, location: answer["channel"].string ?? channelID)
    }

    /// One Web API method; an answer with `"ok": false` is an error.
    private func call(_ method: HTTPMethod, _ path: String, body: JSONValue?) async throws(DeliveryError) -> JSONValue {
        let answer = try await http.json(method, "\(apiURL)/\(path)", headers: [("Authorization", "Bearer \(token)")], body: body)
        guard answer["ok"].bool == true else {
            let code = answer["error"].string ?? "unknown_error"
            let kind: DeliveryError.Kind = Self.transientErrors.contains(code) ? .retryable(after: nil) : .permanent
            throw DeliveryError(kind, "Slack refused \(path.split(separator: "?")[0]): \(code)")
        }
        return answer
    }

    public static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }
}

/// Spaces messages to one channel about `interval` apart (Slack allows about
/// one message per second per channel).
actor ChannelPacer {
    private let interval: Duration
    private var next: [String: ContinuousClock.Instant] = [:]

    init(interval: Duration) {
        self.interval = interval
    }

    func wait(for channel: String) async {
        let now = ContinuousClock.now
        let slot = max(now, next[channel] ?? now)
        next[channel] = slot + interval
        if slot > now { try? await Task.sleep(until: slot, clock: .continuous) }
    }
}
