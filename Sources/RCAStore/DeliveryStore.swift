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

    /// Records a successful delivery and releases the lease, inside the caller's transaction.
    public static func recordSuccess(
        ticketID: String, channel: String, remoteID: String, location: String?, reason: String, on sql: any SQLDatabase
    ) async throws {
        try await sql.reusable(
            """
            UPDATE deliveries SET remote_id = \(bind: remoteID), location = \(bind: location), last_reason = \(bind: reason),
                last_error = NULL, lease_until = NULL, updated_at = \(bind: Timestamp.now())
            WHERE ticket_id = \(bind: ticketID) AND channel = \(bind: channel)
            """
        ).run()
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
