import Foundation
import RCACore
import SQLKit
import Synchronization

/// A change dashboards should show at once.
public struct LiveEvent: Sendable, Equatable, Codable {
    /// What happened.
    public enum Kind: String, Sendable, Codable {
        case newTicket = "new_ticket"
        case ticketUpdated = "ticket_updated"
        case statusUpdate = "status_update"
        case slaBreached = "sla_breached"
    }

    public let type: Kind
    public let ticketID: String
    public let status: String?
    public let slaStatus: String?
    public let user: String?
    public let at: String

    public init(_ type: Kind, ticketID: String, status: String? = nil, slaStatus: String? = nil, user: String? = nil, at: Date = Date()) {
        self.type = type
        self.ticketID = ticketID
        self.status = status
        self.slaStatus = slaStatus
        self.user = user
        self.at = Timestamp.string(from: at)
    }

    enum CodingKeys: String, CodingKey {
        case type, status, user, at
        case ticketID = "ticket_id"
        case slaStatus = "sla_status"
    }
}

/// A live event as a dashboard receives it: our fields, and beside them the
/// prototype's names (`event` for `type`, `new_status` for `status`), so
/// that its dashboards and scripts keep working.
public struct LiveEventMessage: Encodable, Sendable {
    public let event: LiveEvent

    public init(_ event: LiveEvent) {
        self.event = event
    }

    enum PrototypeKeys: String, CodingKey {
        case event
        case newStatus = "new_status"
    }

    public func encode(to encoder: any Encoder) throws {
        try event.encode(to: encoder)
        var prototype = encoder.container(keyedBy: PrototypeKeys.self)
        try prototype.encode(event.type, forKey: .event)
        try prototype.encodeIfPresent(event.status, forKey: .newStatus)
    }
}

/// Fans events out to every connected dashboard. Each subscriber has a
/// bounded buffer: one that falls `bufferSize` events behind (a client that
/// stopped reading) is dropped, its stream finished, rather than holding
/// memory for it without limit.
///
/// Writers tell it about a change twice: `announce` inside the transaction
/// that makes the change, and `afterCommit` once it committed. A single
/// process delivers on `afterCommit`; replicas sharing events send them with
/// the transaction (PostgreSQL `NOTIFY`), so an event exists only if its
/// change was committed and costs no transaction of its own, and the relay
/// of every replica delivers it.
public final class LiveEvents: Sendable {
    public typealias Sender = @Sendable ([LiveEvent], any SQLDatabase) async throws -> Void

    public let bufferSize: Int
    private let subscribers = Mutex<[UUID: AsyncStream<LiveEvent>.Continuation]>([:])
    private let sender = Mutex<Sender?>(nil)

    public init(bufferSize: Int = 256) {
        self.bufferSize = bufferSize
    }

    /// Sends every announced event to all replicas with `send`, which writes
    /// it into the announcing transaction; a relay hands what arrives to `deliver`.
    public func share(through send: @escaping Sender) {
        sender.withLock { $0 = send }
    }

    public var subscriberCount: Int { subscribers.withLock { $0.count } }

    /// A stream of the events published from now on; it ends when the
    /// subscriber is dropped for falling behind.
    public func subscribe() -> AsyncStream<LiveEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<LiveEvent>.makeStream(bufferingPolicy: .bufferingOldest(bufferSize))
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { _ = $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }

    /// Call inside the transaction that makes `events` true. The events are
    /// only built when they travel this way (ingestion calls this per batch).
    public func announce(_ events: @autoclosure () -> [LiveEvent], on sql: any SQLDatabase) async throws {
        guard let send = sender.withLock({ $0 }) else { return }
        let built = events()
        guard !built.isEmpty else { return }
        try await send(built, sql)
    }

    /// Call once the transaction that announced `events` committed; they are
    /// only built when this process delivers them itself.
    public func afterCommit(_ events: @autoclosure () -> [LiveEvent]) {
        guard sender.withLock({ $0 == nil }) else { return }
        for event in events() { deliver(event) }
    }

    /// Hands an event to this process's subscribers.
    public func deliver(_ event: LiveEvent) {
        let current = subscribers.withLock { Array($0) }
        for (id, continuation) in current {
            if case .dropped = continuation.yield(event) {
                subscribers.withLock { _ = $0.removeValue(forKey: id) }
                continuation.finish()
            }
        }
    }
}
