import Foundation
import Logging
import RCAStore
import ServiceLifecycle

/// Makes dashboards on every replica see every replica's events: events are
/// published with PostgreSQL `NOTIFY` on one channel, and each replica
/// listens on it and delivers what arrives to its own WebSocket clients. The
/// listening connection is re-opened after a failure. Only added with
/// PostgreSQL (a service that returns would stop the application).
struct LiveEventRelay: Service {
    static let channel = "rca_live_events"
    /// PostgreSQL refuses notification payloads of 8000 bytes or more.
    static let maximumPayload = 7900

    let database: Database
    let events: LiveEvents
    let logger: Logger

    /// Sends events through the database instead of delivering them locally,
    /// gathered for up to 50 ms into JSON arrays under the payload limit, so
    /// that a burst of webhooks costs a few notifications, not one each.
    static func connect(_ events: LiveEvents, to database: Database) {
        guard database.sharesNotifications else { return }
        let batcher = Batcher(database: database)
        events.broadcast { event in await batcher.add(event) }
    }

    /// Collects events and sends them in batches.
    actor Batcher {
        let database: Database
        var pending: [LiveEvent] = []
        var scheduled = false

        init(database: Database) {
            self.database = database
        }

        func add(_ event: LiveEvent) {
            pending.append(event)
            guard !scheduled else { return }
            scheduled = true
            Task {
                try? await Task.sleep(for: .milliseconds(50))
                await flush()
            }
        }

        private func flush() async {
            let batch = pending
            pending = []
            scheduled = false
            let encoder = JSONEncoder()
            var chunk: [String] = []
            var size = 2
            for event in batch {
                guard let text = try? String(decoding: encoder.encode(event), as: UTF8.self) else { continue }
                if size + text.utf8.count + 1 > LiveEventRelay.maximumPayload, !chunk.isEmpty {
                    await send(chunk)
                    chunk = []
                    size = 2
                }
                chunk.append(text)
                size += text.utf8.count + 1
            }
            if !chunk.isEmpty { await send(chunk) }
        }

        private func send(_ chunk: [String]) async {
            try? await database.notify(channel: LiveEventRelay.channel, payload: "[" + chunk.joined(separator: ",") + "]")
        }
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
