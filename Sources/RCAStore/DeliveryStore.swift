import Foundation
import RCACore
import SQLKit

/// What was delivered for one ticket on one channel.
public struct DeliveryRecord: Sendable, Equatable, Decodable {
    public let ticketID: String
    public let channel: String
    public let remoteID: String?
    public let location: String?
    public let lastReason: String?
    public let lastError: String?
    /// Deliveries started so far, this one included; more than one means an
    /// earlier one may have reached the channel without being recorded.
    public let attempts: Int

    enum CodingKeys: String, CodingKey {
        case channel, location, attempts
        case ticketID = "ticket_id"
        case remoteID = "remote_id"
        case lastReason = "last_reason"
        case lastError = "last_error"
    }
}

/// A delivery that reached its channel: what it made there, and the audit line that says so.
public struct DeliverySuccess: Sendable {
    public var ticketID: String
    public var channel: String
    /// The channel's id of what the delivery made or edited (Slack ts, Jira key, blob URL).
    public var remoteID: String
    public var location: String?
    public var reason: String
    public var auditAction: String
    public var auditDetails: String

    public init(ticketID: String, channel: String, remoteID: String, location: String?, reason: String, auditAction: String, auditDetails: String) {
        self.ticketID = ticketID
        self.channel = channel
        self.remoteID = remoteID
        self.location = location
        self.reason = reason
        self.auditAction = auditAction
        self.auditDetails = auditDetails
    }
}

/// The per-ticket, per-channel delivery state, with a lease that keeps two
/// workers (of any replica) from delivering to one channel for one ticket at
/// once. The lease is held across the remote call, outside any transaction.
public struct DeliveryStore: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Takes the lease for `duration`; nil if another worker holds it. One
    /// statement, atomic by itself: it makes the row on the first attempt and
    /// takes a free or lapsed lease on the others.
    public func acquire(ticketID: String, channel: String, for duration: Duration, now: Date = Date()) async throws -> DeliveryRecord? {
        let nowMillis = Timestamp.epochMillis(now)
        let until = nowMillis + Int64(duration.components.seconds * 1000)
        return try await database.autocommit { sql in
            try await sql.reusable(
                """
                INSERT INTO deliveries (ticket_id, channel, updated_at, lease_until, attempts)
                VALUES (\(bind: ticketID), \(bind: channel), \(bind: Timestamp.string(from: now)), \(bind: until), 1)
                ON CONFLICT (ticket_id, channel) DO UPDATE SET lease_until = excluded.lease_until, attempts = deliveries.attempts + 1
                WHERE deliveries.lease_until IS NULL OR deliveries.lease_until < \(bind: nowMillis)
                RETURNING ticket_id, channel, remote_id, location, last_reason, last_error, attempts
                """
            ).first(decoding: DeliveryRecord.self)
        }
    }

    /// Records a delivery that reached its channel and completes its job, at
    /// once: releases the lease, keeps the remote reference on the ticket
    /// (`referenceColumns`), writes the audit line and marks the job done.
    /// On PostgreSQL that is one statement of data-modifying `WITH`s, which
    /// commits by itself; SQLite has no such statement, and runs the four in
    /// a transaction. Each statement a worker runs per alert costs CPU in the
    /// driver and the server, whatever its size (BENCHMARKS.md).
    public func recordSuccess(_ success: DeliverySuccess, completing completion: JobCompletion) async throws {
        let delivered: SQLQueryString = """
            UPDATE deliveries SET remote_id = \(bind: success.remoteID), location = \(bind: success.location),
                last_reason = \(bind: success.reason), last_error = NULL, lease_until = NULL, updated_at = \(bind: Timestamp.now())
            WHERE ticket_id = \(bind: success.ticketID) AND channel = \(bind: success.channel)
            """
        let kept: SQLQueryString? = Self.referenceColumns(for: success.channel).map { columns in
            let location: SQLQueryString = columns.location.map { ", \(unsafeRaw: $0) = \(bind: success.location)" } ?? ""
            return "UPDATE tickets SET \(unsafeRaw: columns.id) = \(bind: success.remoteID)" + location + " WHERE id = \(bind: success.ticketID)"
        }
        let audited = TicketStore.auditStatement(ticketID: success.ticketID, action: success.auditAction, details: success.auditDetails)
        switch database.dialect {
        case .postgres:
            let statement: SQLQueryString = "WITH delivered AS (" + delivered + "), "
                + (kept.map { "kept AS (" + $0 + "), " } ?? "")
                + "audited AS (" + audited + "), finished AS (" + completion.completionStatement + ") "
                + "SELECT COUNT(*) AS held FROM finished"
            let held = try await database.autocommit { sql in
                try await sql.reusable(statement).first()?.decode(column: "held", as: Int.self)
            }
            completion.completed(held: held == 1)
        case .sqlite:
            try await database.transaction { sql in
                try await sql.reusable(delivered).run()
                if let kept { try await sql.reusable(kept).run() }
                try await sql.reusable(audited).run()
                try await completion.complete(on: sql)
            }
        }
    }

    /// The ticket columns where a channel's remote reference is kept, for
    /// the dashboard and Jira sync to read: its id and, for Slack, where it is.
    static func referenceColumns(for channel: String) -> (id: String, location: String?)? {
        switch channel {
        case "slack": ("slack_ts", "slack_channel")
        case "jira": ("itsm_ticket_id", nil)
        case "blob": ("blob_log_url", nil)
        default: nil
        }
    }

    /// Records a failed attempt and releases the lease, inside the caller's transaction.
    public static func recordFailure(ticketID: String, channel: String, error: String, on sql: any SQLDatabase) async throws {
        try await sql.raw(
            """
            UPDATE deliveries SET last_error = \(bind: error), lease_until = NULL, updated_at = \(bind: Timestamp.now())
            WHERE ticket_id = \(bind: ticketID) AND channel = \(bind: channel)
            """
        ).run()
    }

    public func records(ticketID: String) async throws -> [DeliveryRecord] {
        try await database.read { sql in
            try await sql.raw(
                "SELECT ticket_id, channel, remote_id, location, last_reason, last_error, attempts FROM deliveries WHERE ticket_id = \(bind: ticketID) ORDER BY channel"
            ).all(decoding: DeliveryRecord.self)
        }
    }
}
