import Foundation
import RCAStore
import RCATesting
import Testing

@Suite("Delivery leases")
struct DeliveryStoreTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("the first lease makes the record; a held lease is refused; a lapsed or released one is taken again, counting attempts", arguments: TestBackend.enabled)
    func leaseLifecycle(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            try await MigrationTests.insertTicket(id: "T-1", dedupKey: "k1", into: database)
            let store = DeliveryStore(database: database)
            let first = try await store.acquire(ticketID: "T-1", channel: "slack", for: .seconds(60), now: Self.start)
            #expect(first?.attempts == 1 && first?.remoteID == nil)
            #expect(try await store.acquire(ticketID: "T-1", channel: "slack", for: .seconds(60), now: Self.start.addingTimeInterval(59)) == nil)
            #expect(try await store.acquire(ticketID: "T-1", channel: "jira", for: .seconds(60), now: Self.start)?.attempts == 1, "each channel has its own lease")

            let lapsed = try await store.acquire(ticketID: "T-1", channel: "slack", for: .seconds(60), now: Self.start.addingTimeInterval(61))
            #expect(lapsed?.attempts == 2)
            try await database.transaction { sql in
                try await DeliveryStore.recordSuccess(ticketID: "T-1", channel: "slack", remoteID: "1700000000.000100", location: nil, reason: "opened", on: sql)
            }
            let released = try await store.acquire(ticketID: "T-1", channel: "slack", for: .seconds(60), now: Self.start.addingTimeInterval(62))
            #expect(released?.attempts == 3)
            #expect(released?.remoteID == "1700000000.000100", "a later delivery edits what the first one made")
        }
    }

    @Test("of many workers asking at once, on two connection pools, exactly one gets the lease", arguments: TestBackend.enabled)
    func oneHolder(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, testDatabase in
            try await MigrationTests.insertTicket(id: "T-2", dedupKey: "k2", into: database)
            let replica = try await testDatabase.open(migrated: true)
            let stores = [database, replica].map(DeliveryStore.init(database:))
            let granted = try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<16 {
                    group.addTask { try await stores[worker % 2].acquire(ticketID: "T-2", channel: "slack", for: .seconds(60)) == nil ? 0 : 1 }
                }
                return try await group.reduce(0, +)
            }
            await replica.close()
            #expect(granted == 1)
        }
    }
}
