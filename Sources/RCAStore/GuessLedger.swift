import Foundation
import RCACore
import SQLKit

/// Failed guesses of a secret, counted per subject (an account, an address)
/// in the database, so that replicas behind a load balancer, and a server
/// restarted by a guesser's patience, all hold the guesser to one limit.
///
/// Counting is by fixed window: the first failure opens a window of
/// `window`; when `limit` failures fall in it, the subject is locked until
/// the window closes. A lock therefore never lasts longer than `window`, and
/// no more than `limit` guesses fit in any window.
public struct GuessLedger: Sendable {
    /// What a failure or a look-up found.
    public struct Standing: Sendable, Equatable {
        /// Failures in the subject's current window, this one included.
        public var failures: Int
        /// When the subject may try again; nil while it is under the limit.
        public var lockedUntil: Date?

        public init(failures: Int, lockedUntil: Date?) {
            self.failures = failures
            self.lockedUntil = lockedUntil
        }
    }

    let database: Database
    let scope: String
    /// Failures a window allows; the last of them locks the subject.
    public let limit: Int
    let window: TimeInterval

    /// - Parameter scope: which secret the guesses are of (`sign-in-account`,
    ///   `webhook-address`); each scope counts apart.
    public init(database: Database, scope: String, limit: Int, window: Duration) {
        self.database = database
        self.scope = scope
        self.limit = limit
        self.window = TimeInterval(window.components.seconds)
    }

    /// Counts one failure of `subject`, opening a new window when the last
    /// one has closed, and forgets the subjects whose windows have closed.
    public func recordFailure(of subject: String, now: Date = Date()) async throws -> Standing {
        let started = Timestamp.string(from: now)
        let cutoff = Timestamp.string(from: now.addingTimeInterval(-window))
        let scope = scope
        let row = try await database.autocommit { sql in
            try await sql.raw(
                """
                INSERT INTO guess_failures (scope, subject, window_started, failures)
                VALUES (\(bind: scope), \(bind: subject), \(bind: started), 1)
                ON CONFLICT (scope, subject) DO UPDATE SET
                    failures = CASE WHEN guess_failures.window_started <= \(bind: cutoff) THEN 1 ELSE guess_failures.failures + 1 END,
                    window_started = CASE WHEN guess_failures.window_started <= \(bind: cutoff)
                                          THEN excluded.window_started ELSE guess_failures.window_started END
                RETURNING window_started, failures
                """
            ).first()
        }
        guard let row else { throw GuessLedgerError.missingCount(scope: scope, subject: subject) }
        let standing = try standing(of: row)
        if standing.failures == 1 {
            try await database.autocommit { sql in
                try await sql.raw("DELETE FROM guess_failures WHERE scope = \(bind: scope) AND window_started <= \(bind: cutoff)").run()
            }
        }
        return standing
    }

    /// When `subject` may try again, if it is locked now.
    public func lockedUntil(_ subject: String, now: Date = Date()) async throws -> Date? {
        let cutoff = Timestamp.string(from: now.addingTimeInterval(-window))
        let scope = scope
        let row = try await database.read { sql in
            try await sql.raw(
                """
                SELECT window_started, failures FROM guess_failures
                WHERE scope = \(bind: scope) AND subject = \(bind: subject) AND window_started > \(bind: cutoff)
                """
            ).first()
        }
        return try row.flatMap { try standing(of: $0).lockedUntil }
    }

    /// Takes back one counted failure of `subject`: an attempt counted
    /// before its secret was checked, that turned out right.
    public func release(_ subject: String) async throws {
        let scope = scope
        try await database.autocommit { sql in
            try await sql.raw(
                "UPDATE guess_failures SET failures = failures - 1 WHERE scope = \(bind: scope) AND subject = \(bind: subject) AND failures > 0"
            ).run()
        }
    }

    /// Forgets `subject`'s failures (after it proved it knows the secret).
    public func clear(_ subject: String) async throws {
        let scope = scope
        try await database.autocommit { sql in
            try await sql.raw("DELETE FROM guess_failures WHERE scope = \(bind: scope) AND subject = \(bind: subject)").run()
        }
    }

    private func standing(of row: any SQLRow) throws -> Standing {
        let failures = try row.decode(column: "failures", as: Int.self)
        let startedText = try row.decode(column: "window_started", as: String.self)
        guard let started = Timestamp.date(from: startedText) else {
            throw GuessLedgerError.unreadableWindowStart(startedText)
        }
        return Standing(failures: failures, lockedUntil: failures >= limit ? started.addingTimeInterval(window) : nil)
    }
}

/// A guess count the database answered in a form the ledger cannot read.
public enum GuessLedgerError: Error, CustomStringConvertible {
    case missingCount(scope: String, subject: String)
    case unreadableWindowStart(String)

    public var description: String {
        switch self {
        case .missingCount(let scope, let subject): "the database returned no guess count for \(subject) in \(scope)"
        case .unreadableWindowStart(let text): "the stored guess window start \(text) is not a timestamp"
        }
    }
}
