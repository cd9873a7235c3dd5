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

    /// `parsed`, `ignored` or `failed`, as recorded on the payload.
    public var parseStatus: String {
        switch self {
        case .alerts: "parsed"
        case .ignored: "ignored"
        case .failed: "failed"
        }
    }

    /// Why the payload opened nothing, when it did not.
    public var parseError: String? {
        switch self {
        case .failed(let reason), .ignored(let reason): StoredText.clean(reason)
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

/// Writes what arrives on the webhooks: the raw payloads, the tickets they
/// open or update (one per dedup key, by `INSERT … ON CONFLICT`, never
/// check-then-insert), their audit entries and the analysis jobs of new
/// tickets, all in the caller's transaction. A batch of payloads costs a
/// fixed handful of multi-row statements, whatever its size.
public struct IngestionStore: Sendable {
    public static let analyzeJobKind = "analyze"

    private let jobQueue: JobQueue
    /// Runs in the transaction that marks a ticket resolved at its source (to queue the notifications that say so).
    private let onResolved: @Sendable (_ ticketID: String, _ sql: any SQLDatabase) async throws -> Void
    /// Draws a new ticket's id at each write, so that a write retried after an
    /// id collision tries another id.
    private let ticketIDs: @Sendable (AlertSource, Date) -> String

    public init(
        jobQueue: JobQueue,
        ticketIDs: @escaping @Sendable (AlertSource, Date) -> String = TicketID.make,
        onResolved: @escaping @Sendable (String, any SQLDatabase) async throws -> Void = { _, _ in }
    ) {
        self.jobQueue = jobQueue
        self.ticketIDs = ticketIDs
        self.onResolved = onResolved
    }

    /// A payload with what its parser made of it, and the values its rows
    /// will need, computed when it is made (on the request's own task) so
    /// that the shared write transaction only binds them.
    public struct Arrival: Sendable {
        public let payload: IncomingPayload
        public let outcome: PayloadOutcome
        let receivedAt: String
        /// One per firing or resolved event of the outcome, in order.
        let events: [PreparedEvent]

        public init(payload: IncomingPayload, outcome: PayloadOutcome) throws {
            self.payload = payload
            self.outcome = outcome
            receivedAt = Timestamp.string(from: payload.receivedAt)
            events = try PreparedEvent.all(of: outcome)
        }
    }

    /// An event with its ticket row's derived values.
    struct PreparedEvent: Sendable {
        let event: AlertEvent
        let occurred: Date
        let occurredAt: String
        let details: String
        let enrichment: String?

        /// The prepared events of an outcome; none when it opens nothing.
        static func all(of outcome: PayloadOutcome) throws -> [PreparedEvent] {
            guard case .alerts(let alerts) = outcome else { return [] }
            return try alerts.map(PreparedEvent.init)
        }

        init(_ event: AlertEvent) throws {
            var event = event
            event.dedupKey = StoredText.clean(event.dedupKey)
            event.resource = StoredText.clean(event.resource)
            event.runID = event.runID.map(StoredText.clean)
            event.errorMessage = StoredText.clean(event.errorMessage)
            event.details = Dictionary(event.details.map { (StoredText.clean($0.key), StoredText.clean($0.value)) }) { first, _ in first }
            self.event = event
            occurred = event.occurredAt ?? Date()
            occurredAt = Timestamp.string(from: occurred)
            details = IngestionStore.jsonObject(event.details)
            enrichment = try event.enrichment.map(IngestionStore.json)
        }
    }

    /// Records one new payload and applies its outcome.
    public func record(_ payload: IncomingPayload, outcome: PayloadOutcome, on sql: any SQLDatabase) async throws -> IngestionResult {
        try await record([try Arrival(payload: payload, outcome: outcome)], on: sql)[0]
    }

    /// Records new payloads and applies their outcomes, in order; returns one result per payload.
    public func record(_ arrivals: [Arrival], on sql: any SQLDatabase) async throws -> [IngestionResult] {
        let ids = try await jobQueue.database.dialect.reserveIDs(in: "raw_payloads", count: arrivals.count, on: sql)
        var results = ids.map(IngestionResult.init(payloadID:))
        try await apply(arrivals.map { ($0.events, $0.receivedAt) }, into: &results, on: sql)
        let rows: [SQLQueryString] = zip(arrivals, results).map { arrival, result in
            let payload = arrival.payload
            let ticketIDs = result.ticketIDs.isEmpty ? nil : Self.jsonArray(result.ticketIDs)
            let values: [any Encodable & Sendable] = [
                result.payloadID, arrival.receivedAt, payload.endpoint, payload.contentType,
                payload.remoteAddress, payload.body, payload.bodySize, arrival.outcome.parseStatus, arrival.outcome.parseError, ticketIDs,
            ]
            return "(\(binds: values))"
        }
        _ = try await BulkInsert.run(
            "INSERT INTO raw_payloads (id, received_at, endpoint, content_type, remote_address, body, body_size, parse_status, parse_error, ticket_ids)",
            rows: rows,
            on: sql
        )
        return results
    }

    /// Applies a fresh reading of a stored payload (after a parser fix) to the
    /// tickets and records it on the payload's row. Deduplication makes a
    /// replay of an already applied payload count as a repeat delivery.
    public func replay(payloadID: Int64, outcome: PayloadOutcome, on sql: any SQLDatabase) async throws -> IngestionResult {
        var results = [IngestionResult(payloadID: payloadID)]
        try await apply([(try PreparedEvent.all(of: outcome), Timestamp.now())], into: &results, on: sql)
        let ticketIDs = results[0].ticketIDs.isEmpty ? nil : Self.jsonArray(results[0].ticketIDs)
        try await sql.raw(
            """
            UPDATE raw_payloads SET parse_status = \(bind: outcome.parseStatus), parse_error = \(bind: outcome.parseError),
                ticket_ids = COALESCE(\(bind: ticketIDs), ticket_ids)
            WHERE id = \(bind: payloadID)
            """
        ).run()
        return results[0]
    }

    /// One event of one payload in the batch.
    private struct Firing {
        let item: Int
        let prepared: PreparedEvent
        var event: AlertEvent { prepared.event }
    }

    private func apply(_ items: [(events: [PreparedEvent], receivedAt: String)], into results: inout [IngestionResult], on sql: any SQLDatabase) async throws {
        var firings: [Firing] = []
        var resolutions: [Firing] = []
        for (item, entry) in items.enumerated() {
            for prepared in entry.events {
                switch prepared.event.status {
                case .firing: firings.append(Firing(item: item, prepared: prepared))
                case .resolved: resolutions.append(Firing(item: item, prepared: prepared))
                }
            }
        }
        let receivedAt = items.map(\.receivedAt)
        if !firings.isEmpty {
            try await upsert(firings, receivedAt: receivedAt, into: &results, on: sql)
        }
        for resolution in resolutions {
            try await resolve(
                resolution.event, payloadID: results[resolution.item].payloadID, now: receivedAt[resolution.item], on: sql, into: &results[resolution.item]
            )
        }
    }

    /// Upserts one row per dedup key (repeats within the batch are counted,
    /// not inserted twice), then writes the audit entries and the jobs of the
    /// tickets that are new.
    private func upsert(_ firings: [Firing], receivedAt: [String], into results: inout [IngestionResult], on sql: any SQLDatabase) async throws {
        var order: [String] = []
        var byKey: [String: [Firing]] = [:]
        for firing in firings {
            if byKey[firing.event.dedupKey] == nil { order.append(firing.event.dedupKey) }
            byKey[firing.event.dedupKey, default: []].append(firing)
        }
        var rows: [SQLQueryString] = []
        for key in order {
            let group = byKey[key]!
            let first = group[0]
            let event = first.event
            let now = receivedAt[group.last!.item]
            let values: [any Encodable & Sendable] = [
                ticketIDs(event.source, first.prepared.occurred), first.prepared.occurredAt,
                event.resource, event.runID, event.severity?.rawValue, "open", "Pending", event.processingMode, event.source.rawValue,
                key, event.errorMessage, group.count, receivedAt[first.item], now, "firing", "pending", now,
                first.prepared.details, first.prepared.enrichment, results[first.item].payloadID,
            ]
            rows.append("(\(binds: values))")
        }
        let returned = try await BulkInsert.run(
            """
            INSERT INTO tickets (id, timestamp, pipeline, run_id, severity, status, sla_status, processing_mode, source, dedup_key,
                                 error_message, occurrence_count, first_seen, last_seen, source_status, analysis_state, updated_at,
                                 details, enrichment, raw_payload_id)
            """,
            rows: rows,
            suffix: """
                ON CONFLICT (dedup_key) DO UPDATE
                SET occurrence_count = tickets.occurrence_count + excluded.occurrence_count,
                    last_seen = excluded.last_seen, updated_at = excluded.updated_at
                RETURNING id, dedup_key, occurrence_count
                """,
            on: sql
        )
        var tickets: [String: (id: String, total: Int)] = [:]
        for row in returned {
            tickets[try row.decode(column: "dedup_key", as: String.self)] =
                (try row.decode(column: "id", as: String.self), try row.decode(column: "occurrence_count", as: Int.self))
        }
        var audits: [SQLQueryString] = []
        var jobs: [(payload: String, uniqueKey: String)] = []
        for key in order {
            guard let ticket = tickets[key], let group = byKey[key] else { continue }
            let isNew = ticket.total == group.count
            for (position, firing) in group.enumerated() {
                let payloadID = results[firing.item].payloadID
                let occurrence = ticket.total - group.count + position + 1
                let created = isNew && position == 0
                if created {
                    results[firing.item].created.append(ticket.id)
                    jobs.append((#"{"payload_id":"\#(payloadID)","ticket_id":"\#(Self.jsonEscaped(ticket.id))"}"#, "analyze:\(ticket.id)"))
                } else {
                    results[firing.item].duplicates.append(ticket.id)
                }
                let action = created ? "Ticket Created" : "Duplicate Run Detected"
                let details = created
                    ? "Source \(firing.event.source.rawValue) via \(firing.event.processingMode); payload #\(payloadID)"
                    : "Occurrence \(occurrence); payload #\(payloadID)"
                let values: [any Encodable & Sendable] = [
                    receivedAt[firing.item], ticket.id, firing.event.resource, firing.event.runID, action, details,
                ]
                audits.append("(\(binds: values))")
            }
        }
        _ = try await BulkInsert.run("INSERT INTO audit_trail (timestamp, ticket_id, pipeline, run_id, action, details)", rows: audits, on: sql)
        try await jobQueue.enqueue(kind: Self.analyzeJobKind, payloads: jobs, on: sql)
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
            try await TicketStore.appendAudit(
                ticketID: ticketID, action: "Resolved at Source", details: "The source reports the failure cleared; payload #\(payloadID)", on: sql
            )
            try await onResolved(ticketID, sql)
            return
        }
        let existing = try await sql.raw("SELECT id FROM tickets WHERE dedup_key = \(bind: event.dedupKey)").first()
        if let existing {
            result.resolved.append(try existing.decode(column: "id", as: String.self))
        } else {
            result.unmatchedResolutions += 1
        }
    }

    /// A JSON object of strings with its keys sorted, as `json(_:)` writes
    /// it, without the cost of an encoder (about 3 % of the server's CPU
    /// while ingesting, in the profile of `bench/ingest.sh postgres`).
    public static func jsonObject(_ strings: [String: String]) -> String {
        "{" + strings.sorted { $0.key < $1.key }.map { "\"\(jsonEscaped($0.key))\":\"\(jsonEscaped($0.value))\"" }.joined(separator: ",") + "}"
    }

    /// A JSON array of strings, without the cost of an encoder.
    public static func jsonArray(_ strings: [String]) -> String {
        "[" + strings.map { "\"\(jsonEscaped($0))\"" }.joined(separator: ",") + "]"
    }

    /// `text` escaped for use inside a JSON string.
    static func jsonEscaped(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where scalar.value < 0x20: escaped += String(format: "\\u%04x", scalar.value)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// Compact JSON with sorted keys, as every JSON column is written.
    public static func json<Value: Encodable>(_ value: Value) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// Text as both databases can store it: PostgreSQL refuses NUL characters
/// in text columns, though JSON strings may carry them (`\u0000`).
enum StoredText {
    static func clean(_ text: String) -> String {
        text.utf8.contains(0) ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text
    }
}

/// Ticket ids in the prototype's form: source prefix, UTC time, random suffix
/// (`ADF-20261129T143022-a3f2c1d0`). The suffix has 32 random bits, so ids
/// made in the same second rarely collide, yet a storm of alerts that all
/// carry the same time makes a collision likely (about one per 100,000
/// tickets of one second): it fails only its transaction, and the group
/// committer retries each item alone with newly drawn ids.
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
        let digits = Timestamp.string(from: date).utf8.prefix(19).filter { $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: ":") }
        let compact = String(decoding: digits, as: UTF8.self)
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(prefix(for: source))-\(compact)-\(String(repeating: "0", count: 8 - suffix.count))\(suffix)"
    }
}
