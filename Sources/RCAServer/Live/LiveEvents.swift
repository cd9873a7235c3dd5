import Foundation
import RCACore
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

/// Fans events out to every connected dashboard. Each subscriber has a
/// bounded buffer: one that falls `bufferSize` events behind (a client that
/// stopped reading) is dropped, its stream finished, rather than holding
/// memory for it without limit.
public final class LiveEvents: Sendable {
    public let bufferSize: Int
    private let subscribers = Mutex<[UUID: AsyncStream<LiveEvent>.Continuation]>([:])
    /// Sends an event to every replica (which then deliver it locally); nil for one process.
    private let broadcaster = Mutex<(@Sendable (LiveEvent) async throws -> Void)?>(nil)

    public init(bufferSize: Int = 256) {
        self.bufferSize = bufferSize
    }

    /// Routes events through `broadcast` (PostgreSQL `NOTIFY`) so that
    /// dashboards on every replica see them; a relay feeds them back with `deliver`.
    public func broadcast(with broadcast: @escaping @Sendable (LiveEvent) async throws -> Void) {
        broadcaster.withLock { $0 = broadcast }
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

    /// Announces an event: to every replica when broadcasting, else to this process's dashboards.
    public func publish(_ event: LiveEvent) {
        guard let broadcast = broadcaster.withLock({ $0 }) else {
            deliver(event)
            return
        }
        Task {
            do {
                try await broadcast(event)
            } catch {
                deliver(event)
            }
        }
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
