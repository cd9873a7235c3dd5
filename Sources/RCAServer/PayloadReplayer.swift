import Foundation
import RCACore
import RCASources
import RCAStore

/// Re-reads stored webhook payloads with the current parsers and applies
/// what they say, for payloads that failed before a parser fix. Tickets are
/// deduplicated as usual, so replaying twice opens nothing twice.
public struct PayloadReplayer: Sendable {
    /// What replaying one payload did.
    public struct Outcome: Sendable, Equatable {
        public let payloadID: Int64
        public let endpoint: String
        /// `parsed`, `ignored` or `failed`, as now recorded on the payload.
        public let status: String
        public let detail: String?
        public let result: IngestionResult?
    }

    private let database: Database
    private let parsers: [any AlertPayloadParser]
    private let store: IngestionStore

    public init(database: Database, parsers: [any AlertPayloadParser] = SourceRegistry.parsers, jobQueue: JobQueue) {
        self.database = database
        self.parsers = parsers
        store = IngestionStore(jobQueue: jobQueue)
    }

    /// Replays the given payloads, or, with no ids, every payload whose parsing failed.
    public func replay(ids: [Int64], limit: Int = 1000) async throws -> [Outcome] {
        let payloads = RawPayloadStore(database: database)
        var records: [RawPayloadRecord] = []
        if ids.isEmpty {
            records = try await payloads.list(status: "failed", limit: limit)
        } else {
            for id in ids {
                guard let record = try await payloads.find(id: id) else { throw ReplayError.noSuchPayload(id) }
                records.append(record)
            }
        }
        var outcomes: [Outcome] = []
        for record in records {
            outcomes.append(try await replay(record))
        }
        return outcomes
    }

    private func replay(_ record: RawPayloadRecord) async throws -> Outcome {
        guard let parser = parsers.first(where: { $0.endpoint == record.endpoint }) else {
            return Outcome(payloadID: record.id, endpoint: record.endpoint, status: record.parseStatus, detail: "no parser serves \(record.endpoint) any more", result: nil)
        }
        guard record.body.count == record.bodySize else {
            return Outcome(payloadID: record.id, endpoint: record.endpoint, status: "failed", detail: "only the first \(record.body.count) of \(record.bodySize) bytes were kept", result: nil)
        }
        let (outcome, _) = parser.outcome(of: record.body, receivedAt: Timestamp.dateOrNow(record.receivedAt))
        let result = try await database.transaction { sql in
            try await store.replay(payloadID: record.id, outcome: outcome, on: sql)
        }
        return Outcome(payloadID: record.id, endpoint: record.endpoint, status: outcome.parseStatus, detail: outcome.parseError, result: result)
    }
}

/// Why a replay could not start.
public enum ReplayError: Error, Equatable, CustomStringConvertible {
    case noSuchPayload(Int64)

    public var description: String {
        switch self {
        case .noSuchPayload(let id): "no stored payload #\(id)"
        }
    }
}

extension Timestamp {
    static func dateOrNow(_ text: String) -> Date { date(from: text) ?? Date() }
}
