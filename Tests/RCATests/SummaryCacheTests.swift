import Foundation
@testable import RCAStore
import Synchronization
import Testing

@testable import RCAServer

@Suite("Summary cache")
struct SummaryCacheTests {
    /// A clock the test moves by hand, and a count of computations.
    final class Probe: Sendable {
        let time = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        let computations = Mutex(0)
        let computeTakes = Mutex<TimeInterval>(2)
        let failNext = Mutex(false)
        /// While true, computations wait.
        let held = Mutex(false)

        func now() -> Date { time.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { time.withLock { $0.addTimeInterval(seconds) } }

        func cache(longestReuse: Duration = .seconds(30)) -> SummaryCache {
            SummaryCache(longestReuse: longestReuse, now: { self.now() }) { days in
                let number = self.computations.withLock { count in
                    count += 1
                    return count
                }
                while self.held.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(1)) }
                self.advance(self.computeTakes.withLock { $0 })
                if self.failNext.withLock({ failing in defer { failing = false }; return failing }) { throw DatabaseError.unavailable("test") }
                return SummaryCacheTests.summary(total: number * 1000 + days)
            }
        }
    }

    static func summary(total: Int) -> DashboardSummary {
        DashboardSummary(
            total: total, open: 0, inProgress: 0, acknowledged: 0, resolved: 0, slaBreached: 0, recurrences: 0, avgAckTimeSeconds: nil, mttrMinutes: nil,
            bySeverity: [:], openByPriority: [:], bySource: [:], byPipeline: [], byTeam: [], days: []
        )
    }

    @Test("dashboards asking while the summary is computed all get that one computation")
    func concurrentRequestsShareOneComputation() async throws {
        let probe = Probe()
        probe.held.withLock { $0 = true }
        let cache = probe.cache()
        let totals = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 { group.addTask { try await cache.summary(days: 14).total } }
            while probe.computations.withLock({ $0 }) == 0 { await Task.yield() }
            try await Task.sleep(for: .milliseconds(50))
            probe.held.withLock { $0 = false }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(totals == Array(repeating: 1014, count: 20))
        #expect(probe.computations.withLock { $0 } == 1)
    }

    @Test("a result is reused for four times its computing time, at most the longest reuse, and then computed again")
    func reuseWindow() async throws {
        let probe = Probe()
        let cache = probe.cache()
        #expect(try await cache.summary(days: 14).total == 1014)
        probe.advance(7.9)
        #expect(try await cache.summary(days: 14).total == 1014, "2 s to compute: reused for 8 s")
        #expect(try await cache.summary(days: 7).total == 2007, "each span of days is its own summary")
        probe.advance(0.2)
        #expect(try await cache.summary(days: 14).total == 3014)

        probe.computeTakes.withLock { $0 = 20 }
        probe.advance(100)
        #expect(try await cache.summary(days: 14).total == 4014)
        probe.advance(29)
        #expect(try await cache.summary(days: 14).total == 4014)
        probe.advance(2)
        #expect(try await cache.summary(days: 14).total == 5014, "20 s to compute: reused for the 30 s cap, not 80 s")
    }

    @Test("a failed computation is not kept: the next request computes again")
    func failuresAreNotCached() async throws {
        let probe = Probe()
        let cache = probe.cache()
        probe.failNext.withLock { $0 = true }
        await #expect(throws: DatabaseError.self) { try await cache.summary(days: 14) }
        #expect(try await cache.summary(days: 14).total == 2014)
    }
}
