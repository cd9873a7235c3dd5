import Foundation
import Logging
import RCAStore
import SQLKit
import ServiceLifecycle

/// Makes dashboards on every replica see every replica's events: events are
/// sent with PostgreSQL `NOTIFY` on one channel by the transactions that
/// make them, and each replica listens on it and delivers what arrives to
/// its own WebSocket clients. The
/// listening connection is re-opened after a failure. Only added with
/// PostgreSQL (a service that returns would stop the application).
struct LiveEventRelay: Service {
    static let channel = "rca_live_events"
    /// PostgreSQL refuses notification payloads of 8000 bytes or more.
    static let maximumPayload = 7900

    let database: Database
    let events: LiveEvents
    let logger: Logger

    /// Makes `events` travel through the database: each announcing
    /// transaction sends its events as JSON arrays under the payload limit.
    static func connect(_ events: LiveEvents, to database: Database) {
        guard database.sharesNotifications else { return }
        events.share { batch, sql in
            for payload in try payloads(batch) {
                try await sql.raw("SELECT pg_notify(\(bind: channel), \(bind: payload))").run()
            }
        }
    }

    /// The events as few JSON arrays as fit under `maximumPayload` bytes each.
    static func payloads(_ events: [LiveEvent]) throws -> [String] {
        let encoder = JSONEncoder()
        var payloads: [String] = []
        var chunk: [String] = []
        var size = 2
        for event in events {
            let text = String(decoding: try encoder.encode(event), as: UTF8.self)
            if size + text.utf8.count + 1 > maximumPayload, !chunk.isEmpty {
                payloads.append("[" + chunk.joined(separator: ",") + "]")
                chunk = []
                size = 2
            }
            chunk.append(text)
            size += text.utf8.count + 1
        }
        if !chunk.isEmpty { payloads.append("[" + chunk.joined(separator: ",") + "]") }
        return payloads
    }

    func run() async throws {
        let decoder = JSONDecoder()
        var delay = Duration.milliseconds(200)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown {
                    try await database.listen(channel: Self.channel) { payload in
                        for event in (try? decoder.decode([LiveEvent].self, from: Data(payload.utf8))) ?? [] { events.deliver(event) }
                    }
                }
                delay = .milliseconds(200)
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                logger.warning("live event relay lost its connection; retrying", metadata: ["error": "\(Database.describe(error))"])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(10))
        }
    }
}
