import Foundation
import RCACore
import SQLKit

/// A webhook body exactly as it arrived.
public struct IncomingPayload: Sendable {
    public var endpoint: String
    public var contentType: String?
    public var remoteAddress: String?
    public var body: Data
    /// The body's full size; larger than `body.count` when only a prefix was kept.
    public var bodySize: Int
    public var receivedAt: Date

    public init(endpoint: String, contentType: String?, remoteAddress: String?, body: Data, bodySize: Int? = nil, receivedAt: Date = Date()) {
        self.endpoint = endpoint
        self.contentType = contentType
        self.remoteAddress = remoteAddress
        self.body = body
        self.bodySize = bodySize ?? body.count
        self.receivedAt = receivedAt
    }
}

/// What reading a payload produced, as the store records it.
public enum PayloadOutcome: Sendable, Equatable {
    case alerts([AlertEvent])
    case ignored(String)
    case failed(String)

    var parseStatus: String {
        switch self {
        case .alerts: "parsed"
        case .ignored: "ignored"
        case .failed: "failed"
        }
    }

    var parseError: String? {
        switch self {
        case .failed(let reason), .ignored(let reason): reason
        case .alerts: nil
        }
    }
}

/// What one payload did to the tickets.
public struct IngestionResult: Sendable, Equatable {
    public var payloadID: Int64
    public var created: [String] = []
    public var duplicates: [String] = []
    public var resolved: [String] = []
    /// Clears that matched no ticket (a resolution never opens one).
    public var unmatchedResolutions = 0

    public init(payloadID: Int64) {
        self.payloadID = payloadID
    }

    /// Every ticket the payload touched, in order, without repeats.
    public var ticketIDs: [String] {
        var seen = Set<String>()
        return (created + duplicates + resolved).filter { seen.insert($0).inserted }
    }
}

/// Writes what arrives on the webhooks: the raw payload, the tickets it opens
/// or updates (one per dedup key, by `INSERT … ON CONFLICT`, never
/// check-then-insert), their audit entries and the analysis jobs of new
/// tickets, all in the caller's transaction.
public struct IngestionStore: Sendable {
    public static let analyzeJobKind = "analyze"

    private let jobQueue: JobQueue

    public init(jobQueue: JobQueue) {
        self.jobQueue = jobQueue
    }

    /// Records a new payload and applies its outcome.
    public func record(_ payload: IncomingPayload, outcome: PayloadOutcome, on sql: any SQLDatabase) async throws -> IngestionResult {
        let row = try await sql.raw(
            """
            INSERT INTO raw_payloads (received_at, endpoint, content_type, remote_address, body, body_size, parse_status, parse_error)
            VALUES (\(bind: Timestamp.string(from: payload.receivedAt)), \(bind: payload.endpoint), \(bind: payload.contentType),
                    \(bind: payload.remoteAddress), \(bind: payload.body), \(bind: payload.bodySize),
                    \(bind: outcome.parseStatus), \(bind: outcome.parseError))
            RETURNING id
            """
        ).first()
        let payloadID = try row?.decode(column: "id", as: Int64.self) ?? 0
        return try await apply(outcome, payloadID: payloadID, receivedAt: payload.receivedAt, on: sql)
    }

    /// Applies a fresh reading of a stored payload (after a parser fix) to the
    /// tickets and records it on the payload's row. Deduplication makes a
    /// replay of an already applied payload count as a repeat delivery.
    public func replay(payloadID: Int64, outcome: PayloadOutcome, on sql: any SQLDatabase) async throws -> IngestionResult {
        try await sql.raw(
            "UPDATE raw_payloads SET parse_status = \(bind: outcome.parseStatus), parse_error = \(bind: outcome.parseError) WHERE id = \(bind: payloadID)"
        ).run()
        return try await apply(outcome, payloadID: payloadID, receivedAt: Date(), on: sql)
    }

    private func apply(_ outcome: PayloadOutcome, payloadID: Int64, receivedAt: Date, on sql: any SQLDatabase) async throws -> IngestionResult {
        var result = IngestionResult(payloadID: payloadID)
        guard case .alerts(let events) = outcome else { return result }
        let now = Timestamp.string(from: receivedAt)
        for event in events {
            switch event.status {
            case .firing: try await upsert(event, payloadID: payloadID, now: now, on: sql, into: &result)
            case .resolved: try await resolve(event, payloadID: payloadID, now: now, on: sql, into: &result)
            }
        }
        if !result.ticketIDs.isEmpty {
            let ids = String(decoding: try JSONEncoder().encode(result.ticketIDs), as: UTF8.self)
            try await sql.raw("UPDATE raw_payloads SET ticket_ids = \(bind: ids) WHERE id = \(bind: payloadID)").run()
        }
        return result
    }

    private func upsert(_ event: AlertEvent, payloadID: Int64, now: String, on sql: any SQLDatabase, into result: inout IngestionResult) async throws {
        let newID = TicketID.make(source: event.source, at: event.occurredAt ?? Date())
        let details = try Self.json(event.details)
        let enrichment = try event.enrichment.map(Self.json)
        let occurred = Timestamp.string(from: event.occurredAt ?? Date())
        let row = try await sql.raw(
            """
            INSERT INTO tickets (id, timestamp, pipeline, run_id, severity, status, sla_status, processing_mode, source, dedup_key,
                                 error_message, occurrence_count, first_seen, last_seen, source_status, analysis_state, updated_at,
                                 details, enrichment, raw_payload_id)
            VALUES (\(bind: newID), \(bind: occurred), \(bind: event.resource), \(bind: event.runID), \(bind: event.severity?.rawValue),
                    'open', 'Pending', \(bind: event.processingMode), \(bind: event.source.rawValue), \(bind: event.dedupKey),
                    \(bind: event.errorMessage), 1, \(bind: now), \(bind: now), 'firing', 'pending', \(bind: now),
                    \(bind: details), \(bind: enrichment), \(bind: payloadID))
            ON CONFLICT (dedup_key) DO UPDATE
            SET occurrence_count = tickets.occurrence_count + 1, last_seen = excluded.last_seen, updated_at = excluded.updated_at
            RETURNING id, occurrence_count
            """
        ).first()
        guard let row else { return }
        let ticketID = try row.decode(column: "id", as: String.self)
        let occurrences = try row.decode(column: "occurrence_count", as: Int.self)
        if occurrences == 1 {
            result.created.append(ticketID)
            try await audit(ticketID, event, action: "Ticket Created", details: "Source \(event.source.rawValue) via \(event.processingMode); payload #\(payloadID)", now: now, on: sql)
            let job = try Self.json(["ticket_id": ticketID, "payload_id": String(payloadID)])
            try await jobQueue.enqueue(kind: Self.analyzeJobKind, payload: job, uniqueKey: "analyze:\(ticketID)", on: sql)
        } else {
            result.duplicates.append(ticketID)
            try await audit(ticketID, event, action: "Duplicate Run Detected", details: "Occurrence \(occurrences); payload #\(payloadID)", now: now, on: sql)
        }
    }

    private func resolve(_ event: AlertEvent, payloadID: Int64, now: String, on sql: any SQLDatabase, into result: inout IngestionResult) async throws {
        let cleared = try await sql.raw(
            """
            UPDATE tickets SET source_status = 'resolved', updated_at = \(bind: now)
            WHERE dedup_key = \(bind: event.dedupKey) AND source_status = 'firing'
            RETURNING id
            """
        ).first()
        if let cleared {
            let ticketID = try cleared.decode(column: "id", as: String.self)
            result.resolved.append(ticketID)
            try await audit(ticketID, event, action: "Resolved at Source", details: "The source reports the failure cleared; payload #\(payloadID)", now: now, on: sql)
            return
        }
        let existing = try await sql.raw("SELECT id FROM tickets WHERE dedup_key = \(bind: event.dedupKey)").first()
        if let existing {
            result.resolved.append(try existing.decode(column: "id", as: String.self))
        } else {
            result.unmatchedResolutions += 1
        }
    }

    private func audit(_ ticketID: String, _ event: AlertEvent, action: String, details: String, now: String, on sql: any SQLDatabase) async throws {
        try await sql.raw(
            """
            INSERT INTO audit_trail (timestamp, ticket_id, pipeline, run_id, action, details)
            VALUES (\(bind: now), \(bind: ticketID), \(bind: event.resource), \(bind: event.runID), \(bind: action), \(bind: details))
            """
        ).run()
    }

    static func json<Value: Encodable>(_ value: Value) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// Ticket ids in the prototype's form: source prefix, UTC time, random suffix
/// (`ADF-20261129T143022-a3f2c1d0`). The suffix has 32 random bits, so ids
/// made in the same second rarely collide; a collision fails only its own
/// transaction, which the group committer retries with a new id.
public enum TicketID {
    public static func prefix(for source: AlertSource) -> String {
        switch source {
        case .adf: "ADF"
        case .databricks: "DBX"
        case .azureMonitor: "AZM"
        case .alertmanager: "ALM"
        case .generic: "GEN"
        }
    }

    public static func make(source: AlertSource, at date: Date) -> String {
        let compact = Timestamp.string(from: date).prefix(19).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(prefix(for: source))-\(compact)-\(String(repeating: "0", count: 8 - suffix.count))\(suffix)"
    }
}
