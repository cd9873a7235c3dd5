import Foundation
import Hummingbird
import HummingbirdTesting
import RCAServer
import RCASources
import RCAStore
import RCATesting
import Testing

/// Stands in for a parser with a bug: it refuses what it should read.
struct RefusingParser: AlertPayloadParser {
    let endpoint = "/databricks-monitor"
    let senders = "a parser with a bug"

    func parse(_ json: JSONValue, receivedAt: Date) throws(PayloadError) -> ParsedPayload {
        throw .unrecognized("this parser has a bug")
    }
}

@Suite("Replay of stored payloads")
struct ReplayTests {
    @Test("a payload refused by a faulty parser opens its ticket when replayed after the fix, and only once", arguments: TestBackend.enabled)
    func replayAfterFix(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            var dependencies = try WebhookHarness.dependencies(database)
            dependencies.parsers = [RefusingParser()]
            let app = buildApplication(dependencies)
            let payloadID = try await app.test(.router) { client in
                let response = try await WebhookHarness.post(client, "/databricks-monitor", try Fixture.data("databricks/webhook-jobs.on_failure.job-run.json"))
                #expect(response.status == .unprocessableContent)
                #expect(try WebhookHarness.failure(response).error == "this parser has a bug. The payload was kept as #1 and can be replayed with `rca-assistant replay 1`")
                return Int64(1)
            }
            #expect(try await TicketStore(database: database).count() == 0)

            let replayer = PayloadReplayer(database: database, jobQueue: JobQueue(database: database))
            let first = try await replayer.replay(ids: [])
            #expect(first.map(\.status) == ["parsed"])
            #expect(first.first?.result?.created.count == 1)
            let stored = try #require(try await RawPayloadStore(database: database).find(id: payloadID))
            #expect(stored.parseStatus == "parsed")
            #expect(stored.parseError == nil)
            #expect(try await TicketStore(database: database).find(dedupKey: "databricks:run:run_id")?.rawPayloadID == payloadID)

            #expect(try await replayer.replay(ids: []).isEmpty, "nothing is left failed")
            let again = try await replayer.replay(ids: [payloadID])
            #expect(again.first?.result?.duplicates.count == 1)
            #expect(try await TicketStore(database: database).count() == 1)
            #expect(try await JobQueue(database: database).jobs(kind: "analyze").count == 1)

            await #expect(throws: ReplayError.noSuchPayload(99)) { try await replayer.replay(ids: [99]) }
        }
    }

    @Test("a payload kept only in part is reported, not guessed at")
    func truncated() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let app = buildApplication(try WebhookHarness.dependencies(database, environment: ["MAX_BODY_BYTES": "1024"]))
            try await app.test(.router) { client in
                _ = try await WebhookHarness.post(client, "/webhook/generic", Data(repeating: 0x20, count: 5000))
            }
            let outcome = try #require(try await PayloadReplayer(database: database, jobQueue: JobQueue(database: database)).replay(ids: [1]).first)
            #expect(outcome.status == "failed")
            #expect(outcome.detail == "only the first 1024 of 5000 bytes were kept")
        }
    }

    @Test("rca-assistant replay with nothing to do says so")
    func commandLine() async throws {
        let folder = try CommandLineTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try await CommandProcess.run(["replay"], environment: [:], directory: folder)
        #expect(result.status == 0)
        #expect(result.stdout == "Nothing to replay: no stored payload failed to parse.\n")
        let missing = try await CommandProcess.run(["replay", "7"], environment: [:], directory: folder)
        #expect(missing.status == 1)
        #expect(missing.stderr == "rca-assistant: no stored payload #7\n")
    }
}
