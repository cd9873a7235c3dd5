import Foundation
import RCAStore
import RCATesting
import SQLKit
import Testing

@Suite("Guess ledger")
struct GuessLedgerTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("the limit's last failure locks the subject until its window closes; the next failure after it opens a new window", arguments: TestBackend.enabled)
    func window(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let ledger = GuessLedger(database: database, scope: "sign-in-account", limit: 3, window: .seconds(600))
            let standings = [
                try await ledger.recordFailure(of: "a@example.com", now: Self.start),
                try await ledger.recordFailure(of: "a@example.com", now: Self.start.addingTimeInterval(100)),
                try await ledger.recordFailure(of: "a@example.com", now: Self.start.addingTimeInterval(200)),
            ]
            let lockEnds = Self.start.addingTimeInterval(600)
            #expect(standings == [.init(failures: 1, lockedUntil: nil), .init(failures: 2, lockedUntil: nil), .init(failures: 3, lockedUntil: lockEnds)])
            #expect(try await ledger.lockedUntil("a@example.com", now: Self.start.addingTimeInterval(599)) == lockEnds)
            #expect(try await ledger.lockedUntil("b@example.com", now: Self.start.addingTimeInterval(300)) == nil)
            let otherScope = GuessLedger(database: database, scope: "sign-in-address", limit: 3, window: .seconds(600))
            #expect(try await otherScope.lockedUntil("a@example.com", now: Self.start.addingTimeInterval(300)) == nil, "scopes count apart")

            #expect(try await ledger.lockedUntil("a@example.com", now: lockEnds) == nil)
            let fresh = try await ledger.recordFailure(of: "a@example.com", now: lockEnds.addingTimeInterval(1))
            #expect(fresh == .init(failures: 1, lockedUntil: nil))
        }
    }

    @Test("clearing forgets a subject's failures; closed windows are deleted when a new one opens", arguments: TestBackend.enabled)
    func cleanup(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let ledger = GuessLedger(database: database, scope: "webhook-address", limit: 2, window: .seconds(60))
            for address in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
                _ = try await ledger.recordFailure(of: address, now: Self.start)
                _ = try await ledger.recordFailure(of: address, now: Self.start)
            }
            try await ledger.clear("10.0.0.1")
            #expect(try await ledger.lockedUntil("10.0.0.1", now: Self.start) == nil)
            #expect(try await ledger.lockedUntil("10.0.0.2", now: Self.start) != nil)
            #expect(try await Self.rows(database) == 2)

            _ = try await ledger.recordFailure(of: "10.0.0.9", now: Self.start.addingTimeInterval(61))
            #expect(try await Self.rows(database) == 1, "only the window just opened is left")
        }
    }

    @Test("failures recorded at once through two connection pools (two replicas) are all counted", arguments: TestBackend.enabled)
    func concurrentReplicas(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, testDatabase in
            let replica = try await testDatabase.open(migrated: true)
            let ledgers = [database, replica].map { GuessLedger(database: $0, scope: "sign-in-address", limit: 30, window: .seconds(600)) }
            let standings = try await withThrowingTaskGroup(of: GuessLedger.Standing.self) { group in
                for attempt in 0..<40 {
                    group.addTask { try await ledgers[attempt % 2].recordFailure(of: "192.0.2.7", now: Self.start) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            await replica.close()
            #expect(standings.map(\.failures).sorted() == Array(1...40), "each failure saw its own count")
            #expect(standings.filter { $0.lockedUntil != nil }.count == 11)
        }
    }

    static func rows(_ database: Database) async throws -> Int {
        try await database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM guess_failures").first()!.decode(column: "n", as: Int.self)
        }
    }
}
