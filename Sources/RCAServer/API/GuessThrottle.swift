import Foundation
import HTTPTypes
import RCAStore
import Synchronization

extension APIError {
    /// The 429 every throttle answers: `what` was refused too often, and
    /// `Retry-After` says when to try again.
    static func throttled(_ what: String, wait: TimeInterval) -> APIError {
        let seconds = String(Int(wait.rounded(.up)))
        return APIError(.tooManyRequests, "\(what); try again in \(seconds) s", headers: [.retryAfter: seconds])
    }
}

/// Slows down guessing of secrets (passwords, the webhook token): after
/// `limit` failures for one key (an account, or an address) in a window,
/// further tries are refused with 429 until the window closes. The failures
/// are counted in the database (`GuessLedger`), so replicas behind a load
/// balancer share one limit instead of granting `limit` each. The locks this
/// process has learned of are also kept in memory, so that checking a
/// webhook's address, on every webhook, costs no database read.
final class GuessThrottle: Sendable {
    private let ledger: GuessLedger
    private let knownLocks = Mutex<[String: Date]>([:])

    init(database: Database, scope: String, limit: Int, window: Duration = .seconds(900)) {
        ledger = GuessLedger(database: database, scope: scope, limit: limit, window: window)
    }

    /// How long the caller must wait, if this process knows of a lock on `key`.
    func knownRetryAfter(_ key: String, now: Date = Date()) -> TimeInterval? {
        knownLocks.withLock { locks in
            guard let until = locks[key] else { return nil }
            guard until > now else {
                locks[key] = nil
                return nil
            }
            return until.timeIntervalSince(now)
        }
    }

    /// How long the caller must wait, if `key` is locked by failures counted
    /// on any replica.
    func retryAfter(_ key: String, now: Date = Date()) async throws -> TimeInterval? {
        guard let until = try await ledger.lockedUntil(key, now: now) else { return nil }
        remember(key, lockedUntil: until, now: now)
        return until.timeIntervalSince(now)
    }

    /// Counts a failure of `key`. Returns how long the caller must wait when
    /// the key was already locked before this try (by failures another
    /// replica counted): the try must then be answered as refused, not as wrong.
    @discardableResult
    func recordFailure(_ key: String, now: Date = Date()) async throws -> TimeInterval? {
        let standing = try await ledger.recordFailure(of: key, now: now)
        guard let until = standing.lockedUntil else { return nil }
        remember(key, lockedUntil: until, now: now)
        return standing.failures > ledger.limit ? until.timeIntervalSince(now) : nil
    }

    /// Counts an attempt of `key` before its secret is checked. Returns how
    /// long the caller must wait when the attempt is past the limit; the
    /// attempt must then be refused without checking the secret.
    func reserve(_ key: String, now: Date = Date()) async throws -> TimeInterval? {
        if let wait = knownRetryAfter(key, now: now) { return wait }
        return try await recordFailure(key, now: now)
    }

    /// Gives back an attempt reserved by `reserve` that proved the secret.
    func release(_ key: String) async throws {
        _ = knownLocks.withLock { $0.removeValue(forKey: key) }
        try await ledger.release(key)
    }

    /// Forgets `key`'s failures, here and in the database.
    func reset(_ key: String) async throws {
        _ = knownLocks.withLock { $0.removeValue(forKey: key) }
        try await ledger.clear(key)
    }

    private func remember(_ key: String, lockedUntil until: Date, now: Date) {
        knownLocks.withLock { locks in
            locks = locks.filter { $0.value > now }
            locks[key] = until
        }
    }
}
