import Foundation
import Logging
import RCACore
import RCANotify
import RCAStore
import ServiceLifecycle
import SQLKit

/// Marks tickets whose SLA ran out before anyone acknowledged them as
/// Breached, with an audit line, when it happens rather than when someone
/// looks. Safe with several replicas: each breach is written once.
public struct SLAMonitor: Service {
    let database: Database
    let interval: Duration
    let events: LiveEvents
    let outbox: Outbox
    let logger: Logger

    public init(database: Database, interval: Duration, events: LiveEvents, outbox: Outbox, logger: Logger) {
        self.database = database
        self.interval = interval
        self.events = events
        self.outbox = outbox
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let breached = try await markBreaches()
                if !breached.isEmpty { logger.notice("SLA breached", metadata: ["tickets": "\(breached.joined(separator: ","))"]) }
            } catch {
                logger.warning("cannot check SLAs", metadata: ["error": "\(Database.describe(error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    static func liveEvents(_ breached: [String]) -> [LiveEvent] {
        breached.map { LiveEvent(.slaBreached, ticketID: $0, slaStatus: "Breached") }
    }

    /// Marks every ticket past its deadline that nobody has acknowledged,
    /// taken in hand or resolved (each of those stops the clock); returns their ids.
    @discardableResult
    public func markBreaches(now: Date = Date()) async throws -> [String] {
        let nowText = Timestamp.string(from: now)
        let outbox = self.outbox
        let breached = try await database.transaction { sql in
            let rows = try await sql.raw(
                """
                UPDATE tickets SET sla_status = 'Breached', updated_at = \(bind: nowText)
                WHERE sla_status = 'Pending' AND sla_deadline IS NOT NULL AND sla_deadline <= \(bind: nowText)
                  AND status = 'open'
                RETURNING id, priority, sla_seconds
                """
            ).all()
            var ids: [String] = []
            for row in rows {
                let id = try row.decode(column: "id", as: String.self)
                let priority = try row.decode(column: "priority", as: String?.self) ?? "?"
                let minutes = (try row.decode(column: "sla_seconds", as: Int?.self) ?? 0) / 60
                try await TicketStore.appendAudit(
                    ticketID: id, action: "SLA Breached", details: "\(priority) ticket not acknowledged within \(minutes) min", on: sql
                )
                try await outbox.enqueue(ticketID: id, reason: .slaBreached, on: sql)
                ids.append(id)
            }
            try await events.announce(Self.liveEvents(ids), on: sql)
            return ids
        }
        events.afterCommit(Self.liveEvents(breached))
        return breached
    }
}
