import Foundation
import HTTPTypes
import Hummingbird
import RCASources
import RCATesting
import Synchronization

/// A Slack Web API that remembers what was posted: `chat.postMessage`,
/// `chat.update` (`message_not_found` for an unknown ts) and
/// `conversations.history` with message metadata, answering in Slack's
/// format (HTTP 200 with `ok`). A post with `thread_ts` is a reply in that
/// message's thread: kept apart, and not in the channel's history. A post can be made to answer late, after it
/// was recorded, as when a client times out on a call that succeeded.
final class FakeSlack: Sendable {
    struct Message: Sendable {
        let ts: String
        let channel: String
        var text: String
        var blocks: String
        let ticketID: String?
        var updates = 0
    }

    static let token = "xoxb-test-token-never-shown-123456"
    let messages = Mutex<[Message]>([])
    /// Thread replies: the parent's ts and the reply's text.
    let replies = Mutex<[(parent: String, text: String)]>([])
    let postDelay = Mutex<Duration>(.zero)
    /// Messages of other tickets posted right after the next post, as in a
    /// busy channel, so that the next post is far down the history.
    let othersAfterNextPost = Mutex(0)
    /// Scripted HTTP failures for the next calls of a method (status, body, headers).
    let failures = Mutex<[String: [(HTTPResponse.Status, String, HTTPFields)]]>([:])
    let calls = Mutex<[String]>([])
    private let running = Mutex<LocalHTTPServer?>(nil)
    var server: LocalHTTPServer { running.withLock { $0! } }

    static func start() async throws -> FakeSlack {
        let fake = FakeSlack()
        let server = try await LocalHTTPServer.start(fake.router())
        fake.running.withLock { $0 = server }
        return fake
    }

    var apiURL: String { server.baseURL + "/api" }
    /// Counts requests as they arrive, before the posted message is stored:
    /// a test that reads the message waits for the message itself.
    var posts: Int { calls.withLock { $0.filter { $0 == "chat.postMessage" }.count } }
    var updates: Int { calls.withLock { $0.filter { $0 == "chat.update" }.count } }

    func fail(_ method: String, _ status: HTTPResponse.Status, _ body: String, headers: HTTPFields = [:]) {
        failures.withLock { $0[method, default: []].append((status, body, headers)) }
    }

    private func json(_ value: Any, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: value))))
    }

    private func router() -> Router<BasicRequestContext> {
        let router = Router()
        for method in ["chat.postMessage", "chat.update", "conversations.history"] {
            let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
                var request = request
                let body = Data(try await request.collectBody(upTo: 1 << 20).readableBytesView)
                self.calls.withLock { $0.append(method) }
                if let failure = self.failures.withLock({ $0[method]?.isEmpty == false ? $0[method]!.removeFirst() : nil }) {
                    var headers = failure.2
                    headers[.contentType] = "application/json"
                    return Response(status: failure.0, headers: headers, body: .init(byteBuffer: ByteBuffer(string: failure.1)))
                }
                guard request.headers[.authorization] == "Bearer \(Self.token)" else { return try self.json(["ok": false, "error": "invalid_auth"]) }
                let arguments = (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:]
                switch method {
                case "chat.postMessage": return try await self.post(arguments)
                case "chat.update": return try self.update(arguments)
                default:
                    let query = Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }) { first, _ in first }
                    return try self.history(query)
                }
            }
            router.post(RouterPath("/api/\(method)"), use: handler)
            router.get(RouterPath("/api/\(method)"), use: handler)
        }
        return router
    }

    private func post(_ arguments: [String: Any]) async throws -> Response {
        let channel = arguments["channel"] as? String ?? ""
        if let parent = arguments["thread_ts"] as? String {
            guard messages.withLock({ $0.contains { $0.ts == parent && $0.channel == channel } }) else {
                return try json(["ok": false, "error": "thread_not_found"])
            }
            let count = replies.withLock { replies in
                replies.append((parent, arguments["text"] as? String ?? ""))
                return replies.count
            }
            return try json(["ok": true, "channel": channel, "ts": String(format: "1764459999.%06d", count)])
        }
        let metadata = arguments["metadata"] as? [String: Any]
        let ticketID = (metadata?["event_payload"] as? [String: Any])?["ticket_id"] as? String
        let blocks = String(decoding: try JSONSerialization.data(withJSONObject: arguments["blocks"] ?? []), as: UTF8.self)
        let ts = messages.withLock { messages -> String in
            let ts = Self.timestamp(after: messages)
            messages.append(Message(ts: ts, channel: channel, text: arguments["text"] as? String ?? "", blocks: blocks, ticketID: ticketID))
            let others = othersAfterNextPost.withLock { count in defer { count = 0 }; return count }
            for other in 0..<others {
                messages.append(Message(ts: Self.timestamp(after: messages), channel: channel, text: "other", blocks: "[]", ticketID: "other-\(other)"))
            }
            return ts
        }
        let delay = postDelay.withLock { $0 }
        if delay > .zero { try await Task.sleep(for: delay) }
        return try json(["ok": true, "channel": channel, "ts": ts, "message": ["type": "message", "ts": ts, "text": arguments["text"] ?? ""]])
    }

    /// The `ts` of the next message: Slack's seconds.microseconds form, increasing.
    private static func timestamp(after messages: [Message]) -> String {
        String(format: "1764450000.%06d", messages.count + 1)
    }

    private func update(_ arguments: [String: Any]) throws -> Response {
        let ts = arguments["ts"] as? String ?? ""
        let found = messages.withLock { messages -> Bool in
            guard let index = messages.firstIndex(where: { $0.ts == ts }) else { return false }
            messages[index].text = arguments["text"] as? String ?? ""
            messages[index].blocks = String(decoding: (try? JSONSerialization.data(withJSONObject: arguments["blocks"] ?? [])) ?? Data(), as: UTF8.self)
            messages[index].updates += 1
            return true
        }
        guard found else { return try json(["ok": false, "error": "message_not_found"]) }
        return try json(["ok": true, "channel": arguments["channel"] ?? "", "ts": ts])
    }

    /// Newest first, `limit` at a time, the cursor being the offset of the next page.
    private func history(_ query: [String: String]) throws -> Response {
        let limit = query["limit"].flatMap { Int($0) } ?? 100
        let start = query["cursor"].flatMap { Int($0) } ?? 0
        let (listed, total): ([[String: Any]], Int) = messages.withLock { messages in
            let page = messages.reversed().dropFirst(start).prefix(limit).map { message in
                var entry: [String: Any] = ["type": "message", "ts": message.ts, "text": message.text]
                if let ticketID = message.ticketID {
                    entry["metadata"] = ["event_type": "rca_ticket", "event_payload": ["ticket_id": ticketID]]
                }
                return entry
            }
            return (Array(page), messages.count)
        }
        let more = start + limit < total
        return try json(["ok": true, "messages": listed, "has_more": more, "response_metadata": ["next_cursor": more ? "\(start + limit)" : ""]])
    }
}

/// A Jira Cloud REST API that keeps issues: create (the documented 201
/// answer), an edit of its fields (204), JQL search by label, an issue's
/// status, and its workflow's transitions To Do / In Progress / Done, with
/// basic authentication.
final class FakeJira: Sendable {
    struct Issue: Sendable {
        let key: String
        let labels: [String]
        var fields: String
        var category: String
        var edits = 0
    }

    static let email = "bot@example.com"
    static let apiToken = "jira-api-token-never-shown-42"
    let issues = Mutex<[Issue]>([])
    let transitionsPosted = Mutex<[(key: String, id: String)]>([])
    let creates = Mutex<Int>(0)
    let createFailures = Mutex<[(HTTPResponse.Status, String)]>([])
    private let running = Mutex<LocalHTTPServer?>(nil)
    var server: LocalHTTPServer { running.withLock { $0! } }

    static func start() async throws -> FakeJira {
        let fake = FakeJira()
        let server = try await LocalHTTPServer.start(fake.router())
        fake.running.withLock { $0 = server }
        return fake
    }

    nonisolated(unsafe) private static let transitions: [[String: Any]] = [
        ["id": "11", "name": "To Do", "to": ["name": "To Do", "statusCategory": ["key": "new"]]],
        ["id": "21", "name": "In Progress", "to": ["name": "In Progress", "statusCategory": ["key": "indeterminate"]]],
        ["id": "31", "name": "Done", "to": ["name": "Done", "statusCategory": ["key": "done"]]],
    ]

    private func json(_ value: Any, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: value))))
    }

    private func authorized(_ request: Request) -> Bool {
        request.headers[.authorization] == "Basic " + Data("\(Self.email):\(Self.apiToken)".utf8).base64EncodedString()
    }

    private func router() -> Router<BasicRequestContext> {
        let router = Router()
        let unauthorized = #"{"errorMessages":["You are not authenticated. Authentication required to perform this operation."],"errors":{}}"#
        router.post("/rest/api/3/issue") { request, _ -> Response in
            guard self.authorized(request) else { return Response(status: .unauthorized, body: .init(byteBuffer: ByteBuffer(string: unauthorized))) }
            if let failure = self.createFailures.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                return Response(status: failure.0, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: failure.1)))
            }
            var request = request
            let body = Data(try await request.collectBody(upTo: 1 << 20).readableBytesView)
            let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] ?? [:]
            let fields = object["fields"] as? [String: Any] ?? [:]
            let key = self.issues.withLock { issues -> String in
                let key = "ED-\(24 + issues.count)"
                issues.append(Issue(key: key, labels: fields["labels"] as? [String] ?? [], fields: String(decoding: body, as: UTF8.self), category: "new"))
                return key
            }
            self.creates.withLock { $0 += 1 }
            return try self.json(["id": "10000", "key": key, "self": "\(self.server.baseURL)/rest/api/3/issue/10000",
                                  "transition": ["status": 200, "errorCollection": ["errorMessages": [], "errors": [:]]]], status: .created)
        }
        router.post("/rest/api/3/search/jql") { request, _ -> Response in
            var request = request
            let body = try JSONSerialization.jsonObject(with: Data(try await request.collectBody(upTo: 1 << 16).readableBytesView)) as? [String: Any] ?? [:]
            let jql = body["jql"] as? String ?? ""
            let found = self.issues.withLock { $0.filter { issue in issue.labels.contains { jql.contains("labels = \"\($0)\"") } } }
            return try self.json(["issues": found.map { ["id": "10000", "key": $0.key] }, "isLast": true])
        }
        router.get("/rest/api/3/issue/:key") { _, context -> Response in
            let key = try context.parameters.require("key")
            guard let issue = self.issues.withLock({ $0.first { $0.key == key } }) else {
                return try self.json(["errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": [:]], status: .notFound)
            }
            return try self.json(["key": key, "fields": ["status": ["name": issue.category, "statusCategory": ["key": issue.category]]]])
        }
        router.put("/rest/api/3/issue/:key") { request, context -> Response in
            guard self.authorized(request) else { return Response(status: .unauthorized, body: .init(byteBuffer: ByteBuffer(string: unauthorized))) }
            let key = try context.parameters.require("key")
            var request = request
            let body = String(decoding: Data(try await request.collectBody(upTo: 1 << 20).readableBytesView), as: UTF8.self)
            let found = self.issues.withLock { issues -> Bool in
                guard let index = issues.firstIndex(where: { $0.key == key }) else { return false }
                issues[index].fields = body
                issues[index].edits += 1
                return true
            }
            guard found else {
                return try self.json(["errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": [:]], status: .notFound)
            }
            return Response(status: .noContent)
        }
        router.get("/rest/api/3/issue/:key/transitions") { _, _ -> Response in try self.json(["transitions": Self.transitions]) }
        router.post("/rest/api/3/issue/:key/transitions") { request, context -> Response in
            let key = try context.parameters.require("key")
            var request = request
            let body = try JSONSerialization.jsonObject(with: Data(try await request.collectBody(upTo: 1 << 16).readableBytesView)) as? [String: Any] ?? [:]
            let id = (body["transition"] as? [String: Any])?["id"] as? String ?? ""
            let category = Self.transitions.first { $0["id"] as? String == id }.flatMap { (($0["to"] as? [String: Any])?["statusCategory"] as? [String: Any])?["key"] as? String }
            self.issues.withLock { issues in
                if let index = issues.firstIndex(where: { $0.key == key }), let category { issues[index].category = category }
            }
            self.transitionsPosted.withLock { $0.append((key, id)) }
            return Response(status: .noContent)
        }
        return router
    }
}
