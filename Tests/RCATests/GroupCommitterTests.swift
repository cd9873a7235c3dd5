import Foundation
import RCACore
import RCAStore
import RCATesting
import SQLKit
import Synchronization
import Testing

@Suite("Shared transactions of the group committer")
struct GroupCommitterTests {
    struct Refused: Error {}

    @Test("an item whose write fails fails alone; the items that shared its transaction are committed", arguments: TestBackend.enabled)
    func badItemFailsAlone(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            try await database.transaction { sql in try await sql.raw("CREATE TABLE committed_items (n INTEGER PRIMARY KEY)").run() }
            let committer = GroupCommitter<Int, Int>(database: database) { items, sql in
                for item in items {
                    if item == 7 { throw Refused() }
                    try await sql.raw("INSERT INTO committed_items (n) VALUES (\(bind: item))").run()
                }
                return items
            }
            let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
                for item in 0..<20 {
                    group.addTask { (item, (try? await committer.submit(item)) == item) }
                }
                var outcomes: [Int: Bool] = [:]
                for await (item, committed) in group { outcomes[item] = committed }
                return outcomes
            }
            #expect(outcomes.filter { !$0.value }.map(\.key) == [7])
            let stored = try await database.read { sql in
                try await sql.raw("SELECT n FROM committed_items ORDER BY n").all().map { try $0.decode(column: "n", as: Int.self) }
            }
            #expect(stored == Array(0..<20).filter { $0 != 7 })
        }
    }

    @Test("when the database is away, every waiting item fails at once instead of being retried alone", arguments: TestBackend.enabled)
    func unavailableFailsTheBatch(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let writes = Atomic<Int>(0)
            let committer = GroupCommitter<Int, Int>(database: database) { _, _ in
                writes.add(1, ordering: .relaxed)
                throw DatabaseError.unavailable("the test says the server is away")
            }
            let failures = await withTaskGroup(of: DatabaseError?.self) { group in
                for item in 0..<12 {
                    group.addTask {
                        do {
                            _ = try await committer.submit(item)
                            return nil
                        } catch let error as DatabaseError {
                            return error
                        } catch {
                            return nil
                        }
                    }
                }
                var failures: [DatabaseError] = []
                for await failure in group { if let failure { failures.append(failure) } }
                return failures
            }
            #expect(failures.count == 12, "every caller hears that the database is away")
            #expect(writes.load(ordering: .relaxed) <= 12, "one write per batch, no retry per item")
        }
    }
}

@Suite("Ticket ids")
struct TicketIDCollisionTests {
    @Test("a new ticket whose drawn id is taken is written with another id on the retry, not refused", arguments: TestBackend.enabled)
    func collidingIDIsDrawnAgain(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let draws = Mutex(0)
            let store = IngestionStore(jobQueue: JobQueue(database: database), ticketIDs: { source, date in
                let draw = draws.withLock { count in
                    count += 1
                    return count
                }
                return draw <= 2 ? "GEN-20261207T120000-0000abcd" : TicketID.make(source: source, at: date)
            })
            let committer = GroupCommitter<IngestionStore.Arrival, IngestionResult>(database: database) { arrivals, sql in
                try await store.record(arrivals, on: sql)
            }
            func arrival(_ key: String) throws -> IngestionStore.Arrival {
                let event = AlertEvent(source: .generic, dedupKey: key, resource: "orders_load", errorMessage: "KeyError: 'id'", processingMode: "batch")
                return try IngestionStore.Arrival(
                    payload: IncomingPayload(endpoint: "/webhook", contentType: "application/json", remoteAddress: nil, body: Data("{}".utf8)),
                    outcome: .alerts([event])
                )
            }
            let first = try await committer.submit(try arrival("one"))
            let second = try await committer.submit(try arrival("two"))
            #expect(first.created == ["GEN-20261207T120000-0000abcd"])
            #expect(second.created.count == 1 && second.created != first.created, "the second alert's ticket took a new id: \(second.created)")
            #expect(draws.withLock { $0 } == 3, "one draw for the first, the taken id, then a new one")
        }
    }
}
