import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import RCACore
import RCANotify
import RCASources
import RCATesting
import Testing

/// Every notifier against a local server on its real path, held to the same
/// rules: 429 is retried after its Retry-After, 5xx and timeouts are
/// retried, 401 and other 4xx are permanent, a success returns a reference,
/// and no error message contains a token, a webhook URL or a SAS signature.
struct NotifierCase: Sendable, CustomTestStringConvertible {
    let name: String
    let path: String
    /// A successful answer in the service's own format.
    let success: String
    let successStatus: HTTPResponse.Status
    /// Strings that must never appear in an error.
    let secrets: [String]
    let make: @Sendable (_ baseURL: String, _ timeout: Duration) -> any Notifier
    /// Paths a successful delivery also writes to after `path` (the archive's analysis blob), always answered with success.
    var followingPaths: [String] = []

    var testDescription: String { name }

    static let slackToken = "xoxb-conformance-secret-token-1"
    static let jiraToken = "jira-conformance-secret-token-2"
    static let routingKey = "R0UT1NGKEYCONFORMANCE0000000003"
    static let webhookSecret = "outgoing-conformance-secret-4"
    static let sasSignature = "sig=SASSIGNATURECONFORMANCE5%3D"

    static let all: [NotifierCase] = [
        NotifierCase(
            name: "slack", path: "/api/chat.postMessage",
            success: String(decoding: try! Fixture.data("slack/chat.postMessage.response-200-ok.json"), as: UTF8.self), successStatus: .ok,
            secrets: [slackToken]
        ) { base, timeout in
            SlackNotifier(token: slackToken, channel: "C1H9RESGL", apiURL: base + "/api", httpClient: .shared, timeout: timeout, pacing: .zero)
        },
        NotifierCase(
            name: "jira", path: "/rest/api/3/issue",
            success: String(decoding: try! Fixture.data("jira/rest-api-3-issue-create.response-201.json"), as: UTF8.self), successStatus: .created,
            secrets: [jiraToken, Data("bot@example.com:\(jiraToken)".utf8).base64EncodedString()]
        ) { base, timeout in
            JiraNotifier(domain: base, email: "bot@example.com", apiToken: jiraToken, projectKey: "ED", httpClient: .shared, timeout: timeout)
        },
        NotifierCase(name: "teams", path: "/workflows/trigger/secret-path-6", success: "", successStatus: .accepted, secrets: ["secret-path-6"]) { base, timeout in
            TeamsNotifier(webhookURL: base + "/workflows/trigger/secret-path-6", httpClient: .shared, timeout: timeout)
        },
        NotifierCase(
            name: "pagerduty", path: "/v2/enqueue",
            success: String(decoding: try! Fixture.data("pagerduty/events-v2-response-202.json"), as: UTF8.self), successStatus: .accepted,
            secrets: [routingKey]
        ) { base, timeout in
            PagerDutyNotifier(routingKey: routingKey, eventsURL: base + "/v2/enqueue", httpClient: .shared, timeout: timeout)
        },
        NotifierCase(name: "webhook", path: "/hooks/rca-secret-path-7", success: "", successStatus: .noContent, secrets: ["rca-secret-path-7", webhookSecret]) { base, timeout in
            OutgoingWebhookNotifier(url: base + "/hooks/rca-secret-path-7", secret: webhookSecret, httpClient: .shared, timeout: timeout)
        },
        NotifierCase(name: "blob", path: "/archive/2026-11-29/GEN-20261129T060000-0a1b2c3d-payload.json", success: "", successStatus: .created, secrets: [sasSignature], make: { base, timeout in
            BlobArchiver(containerSASURL: base + "/archive?sv=2022-11-02&ss=b&srt=co&sp=wc&" + sasSignature, httpClient: .shared, timeout: timeout)!
        }, followingPaths: ["/archive/2026-11-29/GEN-20261129T060000-0a1b2c3d-analysis.json"]),
    ]

    static let ticket = TicketSnapshot(
        id: "GEN-20261129T060000-0a1b2c3d", source: "generic", pipeline: "sales_daily_load", runID: "run-42", status: "open",
        severity: "High", priority: "P2", slaStatus: "Pending", slaSeconds: 1800, errorType: "UserErrorSourceBlobNotExists",
        category: "missing_input_data", rootCause: "The source file sales/2026/11/29.csv does not exist", confidence: "Very High",
        recommendations: ["Check the upstream export"], errorMessage: "The required Blob is missing", occurrenceCount: 1, recurrences: 0,
        sourceStatus: "firing", firstSeen: "2026-11-29T06:00:00.000Z", ackUser: nil, finopsTeam: "sales", finopsOwner: nil,
        finopsCostCenter: nil, itsmTicketID: nil, dashboardURL: "http://127.0.0.1:8000/dashboard#ticket=GEN-20261129T060000-0a1b2c3d"
    )
}

@Suite("Notifier conformance", .serialized)
struct NotifierConformanceTests {
    static func run(_ notifierCase: NotifierCase, _ answers: [ScriptedAnswers.Answer], timeout: Duration = .seconds(10)) async throws -> (Result<RemoteReference, DeliveryError>, ScriptedAnswers) {
        let script = ScriptedAnswers()
        for answer in answers { script.enqueue(notifierCase.path, answer) }
        for path in notifierCase.followingPaths { script.always(path, .init(.created, body: "")) }
        let server = try await LocalHTTPServer.start(script.router(paths: [notifierCase.path] + notifierCase.followingPaths))
        let notifier = notifierCase.make(server.baseURL, timeout)
        let result: Result<RemoteReference, DeliveryError>
        do {
            result = .success(try await notifier.deliver(NotifierCase.ticket, reason: .opened, existing: nil, payload: Data(#"{"alert":"raw"}"#.utf8)))
        } catch {
            result = .failure(error)
        }
        await server.stop()
        return (result, script)
    }

    static func error(_ result: Result<RemoteReference, DeliveryError>) throws -> DeliveryError {
        guard case .failure(let error) = result else { throw ProcessTimeout(description: "expected a failure, got \(result)") }
        return error
    }

    @Test("a success returns a reference after one call", arguments: NotifierCase.all)
    func success(_ notifierCase: NotifierCase) async throws {
        let (result, script) = try await Self.run(notifierCase, [.init(notifierCase.successStatus, body: notifierCase.success)])
        guard case .success(let reference) = result else { Issue.record("failed: \(result)"); return }
        #expect(!reference.id.isEmpty)
        #expect(script.count(notifierCase.path) == 1)
        let body = try #require(script.received.first?.body)
        #expect(body.contains("GEN-20261129T060000-0a1b2c3d") || body.contains("raw"), "the request carries the ticket")
    }

    @Test("retry table: 429 waits for Retry-After, 5xx and 408 retry, 401 and 400 are permanent; no secret in any message",
          arguments: NotifierCase.all)
    func retryTable(_ notifierCase: NotifierCase) async throws {
        let cases: [(HTTPResponse.Status, HTTPFields, DeliveryError.Kind)] = [
            (.tooManyRequests, [HTTPField.Name("Retry-After")!: "7"], .retryable(after: .seconds(7))),
            (.internalServerError, [:], .retryable(after: nil)),
            (.badGateway, [:], .retryable(after: nil)),
            (.serviceUnavailable, [HTTPField.Name("Retry-After")!: "3"], .retryable(after: .seconds(3))),
            (.requestTimeout, [:], .retryable(after: nil)),
            (.unauthorized, [:], .permanent),
            (.forbidden, [:], .permanent),
            (.badRequest, [:], .permanent),
            (.notFound, [:], .permanent),
        ]
        for (status, headers, kind) in cases {
            let echo = #"{"error":"refused","message":"request had \#(notifierCase.secrets.joined(separator: " "))"}"#
            let (result, _) = try await Self.run(notifierCase, [.init(status, body: echo, headers: headers)])
            let error = try Self.error(result)
            #expect(error.kind == kind, "\(notifierCase.name) \(status.code)")
            #expect(error.message.contains(String(status.code)), "\(notifierCase.name): \(error.message)")
            for secret in notifierCase.secrets {
                #expect(!error.message.contains(secret), "\(notifierCase.name) \(status.code) leaks a secret: \(error.message)")
            }
        }
    }

    @Test("a service that does not answer in time is retried, and the message says so", arguments: NotifierCase.all)
    func timeout(_ notifierCase: NotifierCase) async throws {
        let (result, _) = try await Self.run(notifierCase, [.init(notifierCase.successStatus, body: notifierCase.success, delay: .seconds(2))], timeout: .milliseconds(300))
        let error = try Self.error(result)
        #expect(error.kind == .retryable(after: nil))
        #expect(error.message.contains("did not answer in time"))
    }

    @Test("Slack's HTTP 200 with ok:false is a failure: ratelimited retries, invalid_auth is permanent")
    func slackOkFalse() async throws {
        let slack = NotifierCase.all[0]
        let (limited, _) = try await Self.run(slack, [.init(body: #"{"ok":false,"error":"ratelimited"}"#)])
        #expect(try Self.error(limited).kind == .retryable(after: nil))
        let refused = String(decoding: try Fixture.data("slack/chat.postMessage.response-error.json"), as: UTF8.self)
        let (permanent, _) = try await Self.run(slack, [.init(body: refused)])
        #expect(try Self.error(permanent) == DeliveryError(.permanent, "Slack refused chat.postMessage: too_many_attachments"))
    }

    @Test("the outgoing webhook is signed over timestamp and body; PagerDuty triggers with the ticket as dedup key")
    func signaturesAndDedup() async throws {
        let (_, script) = try await Self.run(NotifierCase.all[4], [.init(.noContent, body: "")])
        let request = try #require(script.received.first)
        let timestamp = try #require(request.headers[HTTPField.Name("X-RCA-Timestamp")!])
        let expected = OutgoingWebhookNotifier.signature(secret: NotifierCase.webhookSecret, timestamp: timestamp, body: Data(request.body.utf8))
        #expect(request.headers[HTTPField.Name("X-RCA-Signature")!] == expected)
        #expect(request.headers[HTTPField.Name("X-RCA-Delivery")!]?.hasPrefix(NotifierCase.ticket.id) == true)

        let (reference, pagerDuty) = try await Self.run(NotifierCase.all[3], [.init(.accepted, body: NotifierCase.all[3].success)])
        let event = try JSONValue.parse(Data(try #require(pagerDuty.received.first?.body).utf8))
        #expect(event["event_action"].string == "trigger" && event["dedup_key"].string == NotifierCase.ticket.id)
        #expect(event["payload"]["severity"].string == "error")
        #expect(try reference.get().id == "srv01/HTTP")

        let (blob, archive) = try await Self.run(NotifierCase.all[5], [.init(.created, body: "")])
        #expect(try blob.get().id.hasSuffix("/archive/2026-11-29/GEN-20261129T060000-0a1b2c3d-payload.json"))
        #expect(try !blob.get().id.contains("sig="), "the kept URL has no SAS signature")
        #expect(archive.received.first?.headers[HTTPField.Name("x-ms-blob-type")!] == "BlockBlob")
        #expect(archive.received.first?.body == #"{"alert":"raw"}"#)
    }
}
