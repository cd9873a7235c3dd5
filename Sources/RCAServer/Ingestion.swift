import Foundation
import RCASources
import RCAStore

/// Turns stored webhook payloads into tickets: shared transactions (group
/// commit) for throughput, then wakes the workers and counts new tickets.
public struct Ingestion: Sendable {
    private let committer: GroupCommitter<IngestionStore.Arrival, IngestionResult>
    private let wakeups: JobWakeups
    private let metrics: AppMetrics

    public init(database: Database, jobQueue: JobQueue, wakeups: JobWakeups, metrics: AppMetrics) {
        let store = IngestionStore(jobQueue: jobQueue)
        committer = GroupCommitter(database: database) { arrivals, sql in
            try await store.record(arrivals, on: sql)
        }
        self.wakeups = wakeups
        self.metrics = metrics
    }

    /// Stores the payload with what its parser made of it and applies that to
    /// the tickets; returns once everything is committed.
    public func ingest(_ payload: IncomingPayload, outcome: PayloadOutcome) async throws -> IngestionResult {
        let result = try await committer.submit(try IngestionStore.Arrival(payload: payload, outcome: outcome))
        if !result.created.isEmpty {
            metrics.ticketCreated(count: result.created.count)
            wakeups.signal()
        }
        return result
    }
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
