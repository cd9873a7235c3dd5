import Foundation
import Synchronization

/// Slows down guessing of secrets (passwords, the webhook token): after
/// `limit` failures for one key (an account, or an address) within `window`,
/// further tries are refused with 429 until the window has passed. Kept per process; behind a load balancer
/// each replica counts separately, so the effective limit is `limit` per replica.
public final class GuessThrottle: Sendable {
    private let limit: Int
    private let window: TimeInterval
    private let failures = Mutex<[String: [Date]]>([:])

    public init(limit: Int = 5, window: Duration = .seconds(900)) {
        self.limit = limit
        self.window = TimeInterval(window.components.seconds)
    }

    /// How long the caller must wait, if any of `keys` is locked out.
    func retryAfter(_ keys: [String], now: Date = Date()) -> TimeInterval? {
        failures.withLock { failures in
            let waits = keys.compactMap { key -> TimeInterval? in
                let recent = (failures[key] ?? []).filter { now.timeIntervalSince($0) < window }
                failures[key] = recent.isEmpty ? nil : recent
                guard recent.count >= limit, let oldest = recent.first else { return nil }
                return window - now.timeIntervalSince(oldest)
            }
            return waits.max()
        }
    }

    func recordFailure(_ keys: [String], now: Date = Date()) {
        failures.withLock { failures in
            for key in keys { failures[key, default: []].append(now) }
        }
    }

    func reset(_ key: String) {
        failures.withLock { _ = $0.removeValue(forKey: key) }
    }
}
