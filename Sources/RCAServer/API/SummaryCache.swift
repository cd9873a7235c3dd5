import Foundation
import RCAStore

/// Shares the dashboard summary among the dashboards that ask for it at about
/// the same time. Every open dashboard asks after each live event: with many
/// dashboards and a busy store, one computation each would multiply the reads
/// of the counters and of the changes not folded into them yet. Here
/// concurrent requests wait for one computation, and a result is reused for
/// four times as long as it took to compute (at most `longestReuse`). So the
/// summary takes at most a fifth of one database connection's time however
/// many dashboards are open, and since it takes milliseconds, every request
/// still sees changes made a few milliseconds before it.
actor SummaryCache {
    typealias Compute = @Sendable (_ days: Int) async throws -> DashboardSummary

    private struct Entry {
        var summary: DashboardSummary?
        var reusableUntil: Date = .distantPast
        var inFlight: Task<DashboardSummary, any Error>?
    }

    private let compute: Compute
    private let now: @Sendable () -> Date
    private let longestReuse: TimeInterval
    private var entries: [Int: Entry] = [:]

    init(longestReuse: Duration = .seconds(30), now: @escaping @Sendable () -> Date = Date.init, compute: @escaping Compute) {
        self.compute = compute
        self.now = now
        self.longestReuse = TimeInterval(longestReuse.components.seconds)
    }

    init(database: Database) {
        self.init { days in try await DashboardQueries(database: database).summary(days: days) }
    }

    /// The summary over the last `days` days, computed now or shared.
    func summary(days: Int) async throws -> DashboardSummary {
        var entry = entries[days] ?? Entry()
        if let summary = entry.summary, now() < entry.reusableUntil { return summary }
        if let running = entry.inFlight { return try await running.value }
        let compute = compute
        let started = now()
        let running = Task { try await compute(days) }
        entry.inFlight = running
        entries[days] = entry
        do {
            let summary = try await running.value
            let finished = now()
            let reuse = min(finished.timeIntervalSince(started) * 4, longestReuse)
            entries[days] = Entry(summary: summary, reusableUntil: finished.addingTimeInterval(reuse))
            return summary
        } catch {
            entries[days]?.inFlight = nil
            throw error
        }
    }
}
