import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import RCACore
import RCANotify
import RCAServer
import RCAStore
import RCATesting
import Synchronization
import Testing

/// Waits until `condition` holds, for up to `seconds`.
func eventually(_ seconds: Double = 30, _ what: String, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out waiting until \(what)")
    throw ProcessTimeout(description: what)
}

@Suite("Notifications: Slack and Jira both ways", .serialized)
struct NotificationTests {
    static let signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"

    /// The server's settings against the fakes; a notification waits `notifyTimeoutSeconds` for an answer.
    static let jiraWebhookSecret = "jira-webhook-secret-0123456789"

    static func environment(slack: FakeSlack, jira: FakeJira, notifyTimeoutSeconds: Int = 5) -> [String: String] {
        [
            "SLACK_BOT_TOKEN": FakeSlack.token, "SLACK_CHANNEL": "C111", "SLACK_API_URL": slack.apiURL, "SLACK_SIGNING_SECRET": signingSecret,
            "JIRA_DOMAIN": jira.server.baseURL, "JIRA_USER_EMAIL": FakeJira.email, "JIRA_API_TOKEN": FakeJira.apiToken, "JIRA_PROJECT_KEY": "ED",
            "JIRA_WEBHOOK_SECRET": jiraWebhookSecret, "NOTIFY_TIMEOUT_SECONDS": String(notifyTimeoutSeconds),
        ]
    }

    /// The official block_actions body with our button and ticket, signed as Slack signs it.
    static func buttonClick(_ actionID: String, ticketID: String, ts: String) throws -> (body: ByteBuffer, headers: HTTPFields) {
        var payload = try #require(try JSONSerialization.jsonObject(with: Fixture.data("slack/block_actions.button-click.payload.json")) as? [String: Any])
        var action = try #require((payload["actions"] as? [[String: Any]])?.first)
        action["action_id"] = actionID
        action["value"] = ticketID
        payload["actions"] = [action]
        payload["container"] = ["type": "message", "message_ts": ts, "channel_id": "C111"]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: payload), as: UTF8.self)
        let body = "payload=" + (json.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? json)
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let signature = SlackSignature.signature(secret: signingSecret, timestamp: timestamp, body: Data(body.utf8))
        return (ByteBuffer(string: body), [
            .contentType: "application/x-www-form-urlencoded",
            HTTPField.Name("X-Slack-Request-Timestamp")!: timestamp,
            HTTPField.Name("X-Slack-Signature")!: signature,
        ])
    }

    @Test("alert → Slack message and Jira issue → Acknowledge button → the same message says who has it → Resolve button → edited again and the issue moved to Done", arguments: TestBackend.enabled)
    func roundTrip(backend: TestBackend) async throws {
        let slack = try await FakeSlack.start()
        let jira = try await FakeJira.start()
        try await TestDatabase.with(backend) { database, _ in
            let harness = PipelineHarness(database: database, environment: Self.environment(slack: slack, jira: jira))
            try await harness.run { client, harness in
                let id = try await harness.post(client, generic: ["resource": "<b>sales</b>_load", "error_message": "java.lang.OutOfMemoryError: Java heap space"])
                try await harness.settle(id)
                let tickets = TicketStore(database: database)
                try await eventually(20, "Slack and Jira have the ticket") {
                    let ticket = try await tickets.find(id: id)
                    let records = try await DeliveryStore(database: database).records(ticketID: id)
                    return slack.posts == 1 && jira.creates.withLock { $0 } == 1 && ticket?.itsmTicketID != nil
                        && records.count == 2 && records.allSatisfy { $0.remoteID != nil }
                }
                #expect(!slack.calls.withLock { $0.contains("conversations.history") }, "a first delivery posts without searching the channel's history")
                let message = try #require(slack.messages.withLock { $0.first })
                #expect(message.ticketID == id)
                #expect(message.blocks.contains(#"<b>sales<\/b>_load failed"#), "the header is plain text, shown as written")
                #expect(message.blocks.contains("rca_acknowledge") && message.blocks.contains("rca_in_progress") && message.blocks.contains("rca_resolve")
                        && message.blocks.contains("Open in dashboard"))
                let issue = try #require(jira.issues.withLock { $0.first })
                #expect(issue.labels.contains("rca-\(id.lowercased())"))
                #expect(issue.fields.contains("\"type\":\"doc\"") && issue.fields.contains("bulletList") && issue.fields.contains("AIOps_Ticket_ID"))

                let click = try Self.buttonClick("rca_acknowledge", ticketID: id, ts: message.ts)
                let answer = try await client.execute(uri: "/slack/interactions", method: .post, headers: click.headers, body: click.body)
                #expect(answer.status == .ok)
                try await eventually(20, "the Slack message says who acknowledged the ticket") {
                    slack.messages.withLock { $0.first?.blocks.contains("Acknowledged by slack:primary-owner") == true }
                }
                #expect(try await tickets.find(id: id)?.status == "acknowledged")
                #expect(slack.messages.withLock { $0.first?.blocks.contains("rca_resolve") } == true, "an acknowledged ticket can still be resolved")
                #expect(jira.issues.withLock { $0.first?.category } == "new", "acknowledging does not close the Jira issue")

                let resolve = try Self.buttonClick("rca_resolve", ticketID: id, ts: message.ts)
                #expect(try await client.execute(uri: "/slack/interactions", method: .post, headers: resolve.headers, body: resolve.body).status == .ok)
                try await eventually(20, "the Slack message is edited and the Jira issue is done") {
                    slack.messages.withLock { $0.first?.blocks.contains("Resolved by slack:primary-owner") == true }
                        && jira.issues.withLock { $0.first?.category } == "done"
                }
                let ticket = try #require(try await tickets.find(id: id))
                #expect(ticket.status == "resolved")
                #expect(ticket.itsmTicketID == issue.key)
                #expect(slack.posts == 1, "one message per ticket, edited in place")
                #expect(slack.messages.withLock { $0.first.map { !$0.blocks.contains("rca_resolve") && !$0.blocks.contains("rca_acknowledge") } } == true)
                #expect(jira.transitionsPosted.withLock { $0.map(\.id) } == ["31"])
                try await eventually(20, "the deliveries are in the audit trail") {
                    let actions = try await harness.actions(id)
                    return ["Slack Notification Sent", "Jira Ticket Created", "Acknowledged", "Resolved", "Slack Message Updated", "Jira Ticket Updated"]
                        .allSatisfy(actions.contains)
                }
            }
        }
        await slack.server.stop()
        await jira.server.stop()
    }

    @Test("a Jira key that arrives after the Slack post is added to the message, and the header says who acknowledged the ticket and when", arguments: TestBackend.enabled)
    func jiraKeyAndClosedHeader(backend: TestBackend) async throws {
        let slack = try await FakeSlack.start()
        let jira = try await FakeJira.start()
        jira.createFailures.withLock { $0 = [(.serviceUnavailable, #"{"errorMessages":["Jira is down for maintenance"]}"#)] }
        try await TestDatabase.with(backend) { database, _ in
            let harness = PipelineHarness(database: database, environment: Self.environment(slack: slack, jira: jira))
            try await harness.run { client, harness in
                let id = try await harness.post(client, generic: ["resource": "sales_load", "error_message": "java.lang.OutOfMemoryError: Java heap space"])
                try await harness.settle(id)
                try await eventually(30, "Jira opened its issue after refusing once") { try await TicketStore(database: database).find(id: id)?.itsmTicketID != nil }
                let key = try #require(try await TicketStore(database: database).find(id: id)?.itsmTicketID)
                try await eventually(20, "the Slack message shows the Jira key") {
                    slack.messages.withLock { $0.first?.blocks.contains("ITSM*\\n\(key)") == true }
                }
                #expect(slack.posts == 1, "the key is added by editing the message, not by posting another")
                #expect(slack.messages.withLock { $0.first?.blocks.contains("🟠") == true || $0.first?.blocks.contains("🔴") == true })

                let click = try Self.buttonClick("rca_acknowledge", ticketID: id, ts: try #require(slack.messages.withLock { $0.first?.ts }))
                #expect(try await client.execute(uri: "/slack/interactions", method: .post, headers: click.headers, body: click.body).status == .ok)
                try await eventually(20, "the header says the ticket is acknowledged") {
                    slack.messages.withLock { $0.first?.blocks.contains("👀 Acknowledged · sales_load failed") == true }
                }
                let blocks = slack.messages.withLock { $0.first?.blocks ?? "" }
                let today = String(Timestamp.now().prefix(10))
                #expect(blocks.contains("Acknowledged by slack:primary-owner at \(today) "), "who and when: \(blocks)")
                #expect(!blocks.contains("rca_acknowledge"), "an acknowledged ticket has no Acknowledge button")
                #expect(try await harness.actions(id).contains("Slack Message Updated"))
            }
        }
        await slack.server.stop()
        await jira.server.stop()
    }

    @Test("a note is posted as a reply in the ticket's Slack thread, its markup escaped; a correction rewrites the Slack message and the Jira issue; taking the ticket shows its owner", arguments: TestBackend.enabled)
    func noteInThread(backend: TestBackend) async throws {
        let slack = try await FakeSlack.start()
        let jira = try await FakeJira.start()
        try await TestDatabase.with(backend) { database, _ in
            let harness = try await APIHarness.make(database, environment: Self.environment(slack: slack, jira: jira))
            try await buildApplication(harness.dependencies).test(.router) { client in
                let id = try #require(try await harness.alerts(client, [["resource": "sales_load", "error_message": "java.lang.OutOfMemoryError: Java heap space"]]).first)
                try await eventually(20, "Slack has the ticket") { slack.messages.withLock { $0.first?.ts } != nil }
                #expect(slack.posts == 1)
                let ts = try #require(slack.messages.withLock { $0.first?.ts })
                let responder = try await APIHarness.token(client, .responder)
                let note = try await APIHarness.call(client, .post, "/api/tickets/\(id)/notes", token: responder, json: ["text": "restarted <!channel> the driver & cleared the cache"])
                #expect(note.status == .ok)
                try await eventually(20, "the note is in the thread") { slack.replies.withLock { $0.count } == 1 }
                let reply = try #require(slack.replies.withLock { $0.first })
                #expect(reply.parent == ts)
                #expect(reply.text == ":memo: *responder@example.com*: restarted &lt;!channel&gt; the driver &amp; cleared the cache")
                #expect(slack.messages.withLock { $0.count } == 1, "a reply, not a new message in the channel")
                try await eventually(20, "the delivery is audited") {
                    try await TicketStore(database: database).audit(ticketID: id).contains { $0.action == "Note Posted To Slack" }
                }

                try await eventually(20, "Jira has the issue") { jira.issues.withLock { $0.count } == 1 }
                let correction: [String: Any] = [
                    "category": "configuration_error", "error_type": "EXECUTOR_MEMORY_TOO_LOW", "evidence": ["Java heap space"],
                    "root_cause": "The last deploy set spark.executor.memory to 1g",
                ]
                #expect(try await APIHarness.call(client, .post, "/api/tickets/\(id)/correction", token: responder, json: correction).status == .ok)
                try await eventually(20, "the Jira issue and the Slack message show the correction") {
                    jira.issues.withLock { $0.first.map { $0.edits == 1 && $0.fields.contains("spark.executor.memory to 1g") } } == true
                        && slack.messages.withLock { $0.first?.blocks.contains("spark.executor.memory to 1g") } == true
                }
                #expect(jira.creates.withLock { $0 } == 1, "the issue is edited, not made again")

                let started = try await APIHarness.call(client, .post, "/api/tickets/\(id)/status", token: responder, json: ["status": "in_progress"])
                #expect(started.status == .ok)
                try await eventually(20, "the message names the owner") {
                    slack.messages.withLock { $0.first?.blocks.contains("In progress, owned by responder@example.com") == true }
                }
                try await eventually(20, "the Jira issue is in progress") { jira.issues.withLock { $0.first?.category } == "indeterminate" }
            }
        }
        await slack.server.stop()
        await jira.server.stop()
    }

    @Test("Slack requests with a wrong, missing or old signature are refused")
    func slackSignatures() async throws {
        let example = try #require(try JSONSerialization.jsonObject(with: Fixture.data("slack/request-signing.v0.example.json")) as? [String: Any])
        let values = try #require(example["example"] as? [String: String])
        let body = Data(try #require(values["body"]).utf8)
        #expect(SlackSignature.signature(secret: values["signing_secret"]!, timestamp: values["timestamp"]!, body: body) == values["expected_signature"])
        let then = Date(timeIntervalSince1970: Double(values["timestamp"]!)!)
        #expect(throws: Never.self) {
            try SlackSignature.verify(secret: values["signing_secret"]!, timestamp: values["timestamp"], signature: values["expected_signature"], body: body, now: then)
        }
        #expect(throws: SlackSignature.Failure.stale) {
            try SlackSignature.verify(secret: values["signing_secret"]!, timestamp: values["timestamp"], signature: values["expected_signature"], body: body, now: then.addingTimeInterval(301))
        }
        #expect(throws: SlackSignature.Failure.mismatch) {
            try SlackSignature.verify(secret: "other", timestamp: values["timestamp"], signature: values["expected_signature"], body: body, now: then)
        }
        #expect(throws: SlackSignature.Failure.missingHeaders) {
            try SlackSignature.verify(secret: "other", timestamp: nil, signature: nil, body: body, now: then)
        }
        let slack = try await FakeSlack.start()
        let jira = try await FakeJira.start()
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = PipelineHarness(database: database, environment: Self.environment(slack: slack, jira: jira))
            try await harness.run { client, _ in
                var click = try Self.buttonClick("rca_acknowledge", ticketID: "X", ts: "1.2")
                click.headers[HTTPField.Name("X-Slack-Signature")!] = "v0=" + String(repeating: "0", count: 64)
                let forged = try await client.execute(uri: "/slack/interactions", method: .post, headers: click.headers, body: click.body)
                #expect(forged.status == .unauthorized)
            }
        }
        await slack.server.stop()
        await jira.server.stop()
    }

    @Test("a Jira webhook moves the ticket and updates Slack, but is not echoed back to Jira; a repeat changes nothing", arguments: TestBackend.enabled)
    func jiraWebhook(backend: TestBackend) async throws {
        let slack = try await FakeSlack.start()
        let jira = try await FakeJira.start()
        try await TestDatabase.with(backend) { database, _ in
            let harness = PipelineHarness(database: database, environment: Self.environment(slack: slack, jira: jira))
            try await harness.run { client, harness in
                let id = try await harness.post(client, generic: ["resource": "orders_load", "error_message": "KeyError: 'customer_id'"])
                try await harness.settle(id)
                let tickets = TicketStore(database: database)
                try await eventually(20, "the Jira issue exists") { try await tickets.find(id: id)?.itsmTicketID != nil && slack.posts == 1 }
                let key = try #require(try await tickets.find(id: id)?.itsmTicketID)
                func send(_ fixture: String, secret: String? = Self.jiraWebhookSecret) async throws -> TestResponse {
                    let text = String(decoding: try Fixture.data("jira/\(fixture)"), as: UTF8.self).replacingOccurrences(of: "TES-41", with: key)
                    var headers: HTTPFields = [.contentType: "application/json"]
                    if let secret { headers[HTTPField.Name("X-Hub-Signature")!] = "sha256=" + HMACSignature.sha256Hex(secret: secret, message: Data(text.utf8)) }
                    return try await client.execute(
                        uri: "/webhook/jira?token=\(WebhookHarness.token)", method: .post, headers: headers, body: ByteBuffer(string: text)
                    )
                }
                #expect(try await send("mattermost-webhook-issue-updated-started-working.json", secret: nil).status == .unauthorized,
                        "the alert senders' token alone moves no ticket")
                #expect(try await send("mattermost-webhook-issue-updated-started-working.json", secret: "another-secret").status == .unauthorized)
                #expect(try await tickets.find(id: id)?.status == "open")
                let started = try await send("mattermost-webhook-issue-updated-started-working.json")
                #expect(started.status == .ok)
                #expect(try await tickets.find(id: id)?.status == "in_progress")
                try await eventually(20, "Slack shows it in progress") { slack.messages.withLock { $0.first?.blocks.contains("In progress") ?? false } }
                let repeated = try await send("mattermost-webhook-issue-updated-started-working.json")
                #expect(String(buffer: repeated.body).contains("already in_progress"))
                try await Task.sleep(for: .milliseconds(500))
                #expect(jira.transitionsPosted.withLock { $0.isEmpty }, "a change that came from Jira is not sent back to Jira")
                let actions = try await harness.actions(id)
                #expect(actions.filter { $0 == "In Progress" }.count == 1)
                #expect(try await TicketStore(database: database).audit(ticketID: id).contains { $0.action == "In Progress" && $0.userName == "jira:Test User" })
            }
        }
        await slack.server.stop()
        await jira.server.stop()
    }

    @Test("secrets in an alert reach neither Slack nor Jira, and alert text cannot add Slack markup", arguments: TestBackend.enabled)
    func noSecretsOrMarkupInNotifications(backend: TestBackend) async throws {
        let slack = try await FakeSlack.start()
        let jira = try await FakeJira.start()
        let secret = "hunter2-Secret-Value-99"
        try await TestDatabase.with(backend) { database, _ in
            let harness = PipelineHarness(database: database, environment: Self.environment(slack: slack, jira: jira))
            try await harness.run { client, harness in
                let id = try await harness.post(client, generic: [
                    "resource": "orders_<!channel>_load",
                    "error_message": "Cannot connect: Server=tcp:db.example.net;Password=\(secret); ping <!here> and <https://evil.example|click>, mail ops@example.com",
                ])
                try await harness.settle(id)
                try await eventually(20, "Slack and Jira were told") { slack.messages.withLock { $0.count } == 1 && !jira.issues.withLock { $0.isEmpty } }
                #expect(slack.posts == 1)
                let message = try #require(slack.messages.withLock { $0.first })
                for text in [message.text, message.blocks] {
                    #expect(!text.contains(secret))
                    #expect(!text.contains("ops@example.com"))
                    #expect(!text.contains("<!here>") && !text.contains("<https:"))
                }
                #expect(!message.text.contains("<!channel>"), "the fallback text is mrkdwn; only the plain_text header may show it as typed")
                #expect(message.blocks.contains("&lt;!here&gt;"))
                let fields = try #require(jira.issues.withLock { $0.first?.fields })
                #expect(!fields.contains(secret))
                #expect(fields.contains("[REDACTED]"))
            }
        }
        await slack.server.stop()
        await jira.server.stop()
    }

    @Test("without JIRA_WEBHOOK_SECRET the Jira route is off: the webhook token alone cannot acknowledge a ticket", arguments: TestBackend.enabled)
    func jiraWebhookNeedsItsSecret(backend: TestBackend) async throws {
        let slack = try await FakeSlack.start()
        let jira = try await FakeJira.start()
        try await TestDatabase.with(backend) { database, _ in
            var environment = Self.environment(slack: slack, jira: jira)
            environment["JIRA_WEBHOOK_SECRET"] = nil
            let harness = PipelineHarness(database: database, environment: environment)
            try await harness.run { client, harness in
                let id = try await harness.post(client, generic: ["resource": "orders_load", "error_message": "KeyError: 'customer_id'"])
                try await harness.settle(id)
                let tickets = TicketStore(database: database)
                try await eventually(20, "the Jira issue exists") { try await tickets.find(id: id)?.itsmTicketID != nil }
                let key = try #require(try await tickets.find(id: id)?.itsmTicketID)
                let text = String(decoding: try Fixture.data("jira/mattermost-webhook-issue-updated-started-working.json"), as: UTF8.self)
                    .replacingOccurrences(of: "TES-41", with: key)
                let answer = try await client.execute(
                    uri: "/webhook/jira?token=\(WebhookHarness.token)", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: text)
                )
                #expect(answer.status == .notFound)
                #expect(try await tickets.find(id: id)?.status == "open")
            }
        }
        await slack.server.stop()
        await jira.server.stop()
    }

    @Test("wrong Jira and Slack signatures count towards the address's guess limit", arguments: TestBackend.enabled)
    func wrongSignaturesAreThrottled(backend: TestBackend) async throws {
        let slack = try await FakeSlack.start()
        let jira = try await FakeJira.start()
        try await TestDatabase.with(backend) { database, _ in
            var environment = Self.environment(slack: slack, jira: jira)
            environment["WEBHOOK_GUESS_LIMIT"] = "3"
            let harness = PipelineHarness(database: database, environment: environment)
            try await harness.run { client, _ in
                var statuses: [HTTPResponse.Status] = []
                for attempt in 0..<4 {
                    var headers: HTTPFields = [.contentType: "application/json"]
                    headers[HTTPField.Name("X-Hub-Signature")!] = "sha256=" + String(repeating: "0", count: 64)
                    let path = attempt.isMultiple(of: 2) ? "/webhook/jira" : "/slack/interactions"
                    statuses.append(try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: "{}")).status)
                }
                #expect(statuses == [.unauthorized, .unauthorized, .unauthorized, .tooManyRequests])
            }
        }
        await slack.server.stop()
        await jira.server.stop()
    }

    @Test("a Slack post that succeeded but answered too late is found and edited on retry, never posted twice, even under 2,500 newer messages",
          arguments: TestBackend.enabled, [0, 2500])
    func noDuplicateAfterLostAnswer(backend: TestBackend, newerMessages: Int) async throws {
        let slack = try await FakeSlack.start()
        let jira = try await FakeJira.start()
        slack.postDelay.withLock { $0 = .seconds(2) }
        slack.othersAfterNextPost.withLock { $0 = newerMessages }
        jira.createFailures.withLock { $0 = [(.serviceUnavailable, #"{"errorMessages":["Service unavailable"]}"#)] }
        try await TestDatabase.with(backend) { database, _ in
            let harness = PipelineHarness(database: database, environment: Self.environment(slack: slack, jira: jira, notifyTimeoutSeconds: 1))
            try await harness.run { client, harness in
                let id = try await harness.post(client, generic: ["resource": "late_answer", "error_message": "ModuleNotFoundError: No module named 'x'"])
                try await harness.settle(id)
                try await eventually(30, "the delivery is recorded after the retry") {
                    let ticket = try await TicketStore(database: database).find(id: id)
                    let records = try await DeliveryStore(database: database).records(ticketID: id)
                    return ticket?.itsmTicketID != nil && records.first { $0.channel == "slack" }?.remoteID != nil
                }
                #expect(slack.posts == 1, "the retry found the message by its metadata instead of posting again")
                #expect(slack.calls.withLock { $0.filter { $0 == "conversations.history" }.count } == 1 + newerMessages / 200, "only the retry searched the history, page by page")
                #expect(slack.messages.withLock { $0.count } == 1 + newerMessages)
                #expect(jira.creates.withLock { $0 } == 1)
                try await eventually(20, "each attempt is in the audit trail") {
                    let actions = try await harness.actions(id)
                    return actions.contains { $0.hasPrefix("Slack Delivery Failed: Slack did not answer in time") }
                        && actions.contains { $0.hasPrefix("Jira Creation Failed: Jira answered 503") }
                        && actions.contains("Slack Message Updated") && actions.contains("Jira Ticket Created")
                }
            }
        }
        await slack.server.stop()
        await jira.server.stop()
    }

    @Test("a recurrence edits the open ticket's message instead of posting; a 401 from Jira is permanent and audited")
    func recurrenceAndPermanentFailure() async throws {
        let slack = try await FakeSlack.start()
        let jira = try await FakeJira.start()
        jira.createFailures.withLock { $0 = Array(repeating: (.unauthorized, #"{"errorMessages":["Client must be authenticated to access this resource."],"errors":{}}"#), count: 5) }
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = PipelineHarness(database: database, environment: Self.environment(slack: slack, jira: jira))
            try await harness.run { client, harness in
                let first = try await harness.post(client, generic: ["resource": "daily_orders", "run_id": "r1", "error_message": "An upstream task failed."])
                try await harness.settle(first)
                try await eventually(20, "Slack has the ticket") { slack.posts == 1 && slack.messages.withLock { $0.count } == 1 }
                let second = try await harness.post(client, generic: ["resource": "daily_orders", "run_id": "r2", "error_message": "An upstream task failed."])
                try await harness.settle(second)
                try await eventually(20, "the message says it recurred") { slack.messages.withLock { $0.first?.blocks.contains("recurred 1 time") ?? false } }
                #expect(slack.posts == 1)
                try await eventually(20, "the 401 is audited") { try await harness.actions(first).contains { $0.hasPrefix("Jira Creation Failed: Jira answered 401") } }
                try await Task.sleep(for: .seconds(1))
                #expect(jira.creates.withLock { $0 } == 0)
                #expect(try await harness.actions(first).filter { $0.hasPrefix("Jira Creation Failed") }.count == 1, "a 401 is not retried")
            }
        }
        await slack.server.stop()
        await jira.server.stop()
    }

    @Test("a failure cleared at its source edits the ticket's Slack message to say so")
    func resolvedAtSource() async throws {
        let slack = try await FakeSlack.start()
        let jira = try await FakeJira.start()
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = PipelineHarness(database: database, environment: Self.environment(slack: slack, jira: jira))
            try await harness.run { client, harness in
                let fired = try WebhookHarness.answer(try await WebhookHarness.post(client, "/alertmanager", try Fixture.data("constructed/alertmanager-two-firing.json")))
                for id in fired.ticket_ids { try await harness.settle(id) }
                try await eventually(20, "both tickets are posted") { slack.messages.withLock { $0.count } == 2 }
                _ = try await WebhookHarness.post(client, "/alertmanager", try Fixture.data("constructed/alertmanager-one-resolved.json"))
                try await eventually(20, "the first message says resolved at the source") {
                    slack.messages.withLock { messages in messages.first { $0.ticketID == fired.ticket_ids[0] }?.blocks.contains("resolved at the source") ?? false }
                }
                #expect(slack.posts == 2)
                #expect(slack.messages.withLock { $0.first { $0.ticketID == fired.ticket_ids[1] }?.blocks.contains("resolved at the source") } == false)
            }
        }
        await slack.server.stop()
        await jira.server.stop()
    }

    @Test("the analysis hands its ticket's Slack delivery to its own worker, which runs it without a claim; Jira is queued for any worker")
    func slackDeliveryHandedOff() async throws {
        let recorder = StatementRecorder()
        try await recorder.runPipeline(workers: 1) { client, harness, slack, jira in
            let id = try await harness.post(client, generic: ["resource": "pl_orders", "run_id": "r1", "error_message": "Java heap space"])
            try await harness.settle(id)
            try await eventually(20, "Slack and Jira have the ticket, and the Slack message its key") {
                slack.posts == 1 && jira.creates.withLock { $0 } == 1 && slack.updates == 1
            }
        } inspect: { database in
            let claims = recorder.statements.filter { $0.hasPrefix("UPDATE jobs") && $0.contains("SET state = 'running'") }
            #expect(claims.count == 3, "the analysis, the Jira delivery and the Slack edit with its key were claimed, the first Slack delivery was not: \(claims.count) claims")
            let notifications = try await JobQueue(database: database).jobs(kind: Outbox.jobKind)
            #expect(notifications.map(\.state) == ["done", "done", "done"])
            #expect(notifications.map(\.attempts) == [1, 1, 1])
            #expect(notifications.last?.payload.contains(#""channel":"slack""#) == true && notifications.last?.payload.contains("itsm_linked") == true)
        }
    }
}
