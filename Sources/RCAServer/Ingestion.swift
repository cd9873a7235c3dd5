import Foundation
import Logging
import RCANotify
import RCASources
import RCAStore

/// Turns stored webhook payloads into tickets: shared transactions (group
/// commit) for throughput, then wakes the workers and counts new tickets.
public struct Ingestion: Sendable {
    private let committer: GroupCommitter<IngestionStore.Arrival, IngestionResult>
    private let wakeups: JobWakeups
    private let metrics: AppMetrics
    private let events: LiveEvents

    private let database: Database
    private let store: IngestionStore
    private let logger: Logger

    public init(database: Database, jobQueue: JobQueue, wakeups: JobWakeups, metrics: AppMetrics, events: LiveEvents, outbox: Outbox, logger: Logger) {
        let store = IngestionStore(jobQueue: jobQueue, onResolved: { ticketID, sql in
            try await outbox.enqueue(ticketID: ticketID, reason: .resolvedAtSource, on: sql)
        })
        self.database = database
        self.store = store
        self.logger = logger
        committer = GroupCommitter(database: database) { arrivals, sql in
            let results = try await store.record(arrivals, on: sql)
            try await events.announce(results.flatMap(Self.liveEvents), on: sql)
            return results
        }
        self.wakeups = wakeups
        self.metrics = metrics
        self.events = events
    }

    /// Stores the payload with what its parser made of it and applies that to
    /// the tickets; returns once everything is committed. If applying it fails
    /// for any reason but an unreachable database, the payload is still kept,
    /// marked failed, so that it can be replayed once the cause is fixed.
    public func ingest(_ payload: IncomingPayload, outcome: PayloadOutcome) async throws -> IngestionResult {
        let result: IngestionResult
        do {
            result = try await committer.submit(try IngestionStore.Arrival(payload: payload, outcome: outcome))
        } catch let error as DatabaseError {
            throw error
        } catch {
            let reason = "could not be applied to the tickets: \(Database.describe(error))"
            logger.error("webhook payload kept but not applied", metadata: ["endpoint": .string(payload.endpoint), "error": .string(Database.describe(error))])
            let kept = try await database.transaction { [store] sql in
                try await store.record(payload, outcome: .failed(reason), on: sql)
            }
            throw IngestionFailure(payloadID: kept.payloadID, reason: reason)
        }
        if !result.created.isEmpty {
            metrics.ticketCreated(count: result.created.count)
        }
        if !result.created.isEmpty || !result.resolved.isEmpty { wakeups.signal(jobs: result.created.count + result.resolved.count) }
        events.afterCommit(Self.liveEvents(result))
        return result
    }

    /// What dashboards hear of one payload: its new tickets, and the existing ones it counted again or resolved.
    static func liveEvents(_ result: IngestionResult) -> [LiveEvent] {
        let now = Date()
        let updated = Set(result.duplicates + result.resolved).subtracting(result.created).sorted()
        return result.created.map { LiveEvent(.newTicket, ticketID: $0, at: now) } + updated.map { LiveEvent(.ticketUpdated, ticketID: $0, at: now) }
    }
}

/// A payload that was kept but could not be applied: a fault of ours, not
/// the sender's, reported with the payload's id for replay.
struct IngestionFailure: Error {
    let payloadID: Int64
    let reason: String
}

extension AlertPayloadParser {
    /// Reads a body into the outcome the store records.
    func outcome(of body: Data, receivedAt: Date) -> (PayloadOutcome, PayloadError?) {
        do {
            switch try parse(body: body, receivedAt: receivedAt) {
            case .alerts(let events): return (.alerts(events), nil)
            case .ignored(let reason): return (.ignored(reason), nil)
            }
        } catch {
            return (.failed(error.description), error)
        }
    }
}
