import Foundation
@testable import RCAStore
import SQLKit
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
            try await store.recordSuccess(Self.success("T-1", "slack", remoteID: "1700000000.000100"), completing: try await Self.claimedJob(database))
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

    static func success(_ ticketID: String, _ channel: String, remoteID: String, location: String? = nil) -> DeliverySuccess {
        DeliverySuccess(
            ticketID: ticketID, channel: channel, remoteID: remoteID, location: location, reason: "opened",
            auditAction: "\(channel) delivered", auditDetails: "opened: \(remoteID)"
        )
    }

    /// The completion of a freshly claimed notification job, as a worker holds it.
    static func claimedJob(_ database: Database, worker: String = "w") async throws -> JobCompletion {
        let queue = JobQueue(database: database)
        try await queue.enqueue(kind: "notify", payload: "{}")
        let job = try #require(try await queue.claim(owner: worker).first)
        return JobCompletion(queue: queue, job: job, worker: worker)
    }

    @Test("a recorded delivery releases its lease, keeps its reference on the ticket, writes its audit line and completes its job, together",
          arguments: TestBackend.enabled)
    func recordSuccess(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let store = DeliveryStore(database: database)
            let channels: [(channel: String, location: String?)] = [("slack", "C111"), ("jira", "https://jira.example.net/browse/ED-7"), ("blob", nil), ("teams", nil)]
            for (number, delivery) in channels.enumerated() {
                let ticketID = "T-\(number)"
                try await MigrationTests.insertTicket(id: ticketID, dedupKey: "k\(number)", into: database)
                _ = try await store.acquire(ticketID: ticketID, channel: delivery.channel, for: .seconds(60))
                let completion = try await Self.claimedJob(database)
                try await store.recordSuccess(Self.success(ticketID, delivery.channel, remoteID: "ref-\(number)", location: delivery.location), completing: completion)
                #expect(completion.completedByHandler == true)

                let record = try #require(try await store.records(ticketID: ticketID).first)
                #expect(record.remoteID == "ref-\(number)" && record.location == delivery.location && record.lastReason == "opened")
                #expect(try await store.acquire(ticketID: ticketID, channel: delivery.channel, for: .seconds(60)) != nil, "the lease was released")
                let kept = try #require(try await database.read { sql in
                    try await sql.raw("SELECT slack_ts, slack_channel, itsm_ticket_id, blob_log_url FROM tickets WHERE id = \(bind: ticketID)").first()
                })
                let reference = "ref-\(number)"
                #expect(try kept.decode(column: "slack_ts", as: String?.self) == (delivery.channel == "slack" ? reference : nil))
                #expect(try kept.decode(column: "slack_channel", as: String?.self) == (delivery.channel == "slack" ? "C111" : nil))
                #expect(try kept.decode(column: "itsm_ticket_id", as: String?.self) == (delivery.channel == "jira" ? reference : nil))
                #expect(try kept.decode(column: "blob_log_url", as: String?.self) == (delivery.channel == "blob" ? reference : nil))
                let audit = try await TicketStore(database: database).audit(ticketID: ticketID)
                #expect(audit.map(\.action) == ["\(delivery.channel) delivered"])
            }
            #expect(try await JobQueue(database: database).jobs(kind: "notify").map(\.state) == ["done", "done", "done", "done"])
        }
    }

    @Test("a delivery recorded after its job's lease was lost still stands; the job is left to the worker that holds it now", arguments: TestBackend.enabled)
    func recordSuccessAfterLostLease(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            try await MigrationTests.insertTicket(id: "T-1", dedupKey: "k1", into: database)
            let store = DeliveryStore(database: database)
            _ = try await store.acquire(ticketID: "T-1", channel: "slack", for: .seconds(60))
            let completion = try await Self.claimedJob(database)
            let queue = JobQueue(database: database)
            let other = try #require(try await queue.claim(owner: "other", now: Date().addingTimeInterval(3600)).first, "the lease ran out")

            try await store.recordSuccess(Self.success("T-1", "slack", remoteID: "1700000000.000100"), completing: completion)

            #expect(completion.completedByHandler == false)
            #expect(try await store.records(ticketID: "T-1").first?.remoteID == "1700000000.000100")
            #expect(try await queue.jobs(kind: "notify").map(\.state) == ["running"])
            #expect(try await queue.complete(other))
        }
    }
}
