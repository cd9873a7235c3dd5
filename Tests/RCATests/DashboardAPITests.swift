import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSTesting
import HummingbirdWebSocket
import NIOCore
import RCACore
import RCAServer
import RCAStore
import RCATesting
import SQLKit
import Testing

/// An application with accounts of each role, and helpers to call its API.
struct APIHarness {
    static let password = "correct horse battery staple"
    let database: Database
    let dependencies: AppDependencies

    static func make(_ database: Database, environment: [String: String] = [:]) async throws -> APIHarness {
        let hasher = PasswordHasher(cost: 4)
        let users = UserStore(database: database)
        for role in UserRole.allCases {
            try await users.add(email: "\(role.rawValue)@example.com", passwordHash: try await hasher.hash(password), fullName: role.rawValue.capitalized, role: role)
        }
        let dependencies = try WebhookHarness.dependencies(database, environment: ["ROLE": "all"].merging(environment) { $1 })
        return APIHarness(database: database, dependencies: dependencies)
    }

    struct Session: Decodable {
        let token: String
        let expires_at: String
    }

    static func login(_ client: some TestClientProtocol, _ email: String, password: String = password) async throws -> TestResponse {
        let body = try JSONSerialization.data(withJSONObject: ["email": email, "password": password])
        return try await client.execute(uri: "/api/login", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(bytes: body))
    }

    static func token(_ client: some TestClientProtocol, _ role: UserRole) async throws -> String {
        let response = try await login(client, "\(role.rawValue)@example.com")
        #expect(response.status == .ok)
        return try JSONDecoder().decode(Session.self, from: Data(response.body.readableBytesView)).token
    }

    static func call(
        _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String?, json: [String: Any]? = nil
    ) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
        }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body)
    }

    static func object(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    /// Posts generic alerts and waits until each is analyzed.
    func alerts(_ client: some TestClientProtocol, _ bodies: [[String: Any]]) async throws -> [String] {
        var ids: [String] = []
        for body in bodies {
            let data = try JSONSerialization.data(withJSONObject: body)
            ids += try WebhookHarness.answer(try await WebhookHarness.post(client, "/webhook/generic", data)).ticket_ids
        }
        try await TicketStore(database: database).settled(ids)
        return ids
    }
}

@Suite("Dashboard API")
struct DashboardAPITests {
    typealias H = APIHarness

    @Test("sign-in gives a token for the right password only, and slows down guessing with 429", arguments: TestBackend.enabled)
    func login(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let harness = try await H.make(database)
            try await buildApplication(harness.dependencies).test(.router) { client in
                let ok = try await H.login(client, "Viewer@Example.com")
                #expect(ok.status == .ok)
                let me = try await H.call(client, .get, "/api/me", token: try JSONDecoder().decode(H.Session.self, from: Data(ok.body.readableBytesView)).token)
                #expect(try H.object(me)["role"] as? String == "viewer")
                #expect(try await H.login(client, "nobody@example.com").status == .unauthorized)
                for _ in 0..<5 {
                    let wrong = try await H.login(client, "admin@example.com", password: "guess")
                    #expect(wrong.status == .unauthorized)
                    #expect(try H.object(wrong)["error"] as? String == "wrong e-mail or password")
                }
                let throttled = try await H.login(client, "admin@example.com")
                #expect(throttled.status == .tooManyRequests, "even the right password waits once the account is locked")
                #expect(Int(throttled.headers[.retryAfter] ?? "") ?? 0 > 0)
                #expect(try await H.login(client, "responder@example.com").status == .ok, "other accounts are not affected")

                try await UserStore(database: database).setDisabled(email: "viewer@example.com", true)
                #expect(try await H.login(client, "viewer@example.com").status == .unauthorized)
            }
        }
    }

    @Test("parallel guesses cannot pass the limit: each attempt is counted before its password is checked", arguments: TestBackend.enabled)
    func parallelGuesses(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let harness = try await H.make(database)
            try await buildApplication(harness.dependencies).test(.live) { (client: any TestClientProtocol) async throws in
                let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for _ in 0..<20 {
                        group.addTask { try await H.login(client, "admin@example.com", password: "guess").status }
                    }
                    return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == .unauthorized }.count == 5, "\(statuses)")
                #expect(statuses.filter { $0 == .tooManyRequests }.count == 15)
            }
        }
    }

    @Test("failed sign-ins are counted across replicas: three on one and two on another lock the account on both", arguments: TestBackend.enabled)
    func sharedLoginLimit(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let harness = try await H.make(database)
            try await buildApplication(harness.dependencies).test(.router) { one in
                try await buildApplication(harness.dependencies).test(.router) { (two: any TestClientProtocol) async throws in
                    for client in [one, two, one, two, one] as [any TestClientProtocol] {
                        #expect(try await H.login(client, "admin@example.com", password: "guess").status == .unauthorized)
                    }
                    #expect(try await H.login(two, "admin@example.com").status == .tooManyRequests)
                    #expect(try await H.login(one, "admin@example.com").status == .tooManyRequests)

                    #expect(try await H.login(one, "viewer@example.com", password: "guess").status == .unauthorized)
                    #expect(try await H.login(two, "viewer@example.com").status == .ok)
                    for client in [one, one, two, two] as [any TestClientProtocol] {
                        #expect(try await H.login(client, "viewer@example.com", password: "guess").status == .unauthorized)
                    }
                    #expect(try await H.login(one, "viewer@example.com").status == .ok, "a right password clears the earlier failures")
                }
            }
        }
    }

    @Test("every API route but login refuses a missing, forged, expired, alg-none or revoked token with 401")
    func tokens() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = try await H.make(database, environment: ["ALLOW_REGISTRATION": "true"])
            let router = registeredRoutes(harness.dependencies)
            let forged = try await SessionTokens(secret: "another-secret-of-at-least-32-bytes!!", lifetime: .seconds(3600))
                .issue(userID: 3, email: "admin@example.com", role: .admin).token
            let expired = try await harness.dependencies.sessionTokens
                .issue(userID: 3, email: "admin@example.com", role: .admin, now: Date().addingTimeInterval(-2 * 86_400)).token
            let header = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64URL
            let payload = Data(#"{"sub":"3","email":"admin@example.com","role":"admin","iat":1700000000,"exp":4102444800}"#.utf8).base64URL
            let unsigned = "\(header).\(payload)."
            try await buildApplication(harness.dependencies).test(.router) { client in
                let valid = try await H.token(client, .admin)
                try await UserStore(database: database).setDisabled(email: "responder@example.com", true)
                let revoked = try await H.token(client, .viewer)
                try await UserStore(database: database).setDisabled(email: "viewer@example.com", true)
                // Sign-out ends the valid token's session, so it is tried last.
                let protectedRoutes = router.filter { $0.path.hasPrefix("/api/") && !["/api/login", "/api/register"].contains($0.path) }
                    .sorted { ($0.path == "/api/logout" ? 1 : 0) < ($1.path == "/api/logout" ? 1 : 0) }
                #expect(protectedRoutes.count >= 15)
                for route in protectedRoutes {
                    let uri = route.path.replacingOccurrences(of: ":id", with: "x").replacingOccurrences(of: ":email", with: "x@example.com")
                    for token in [nil, forged, expired, unsigned, revoked, "not-a-jwt"] {
                        let response = try await H.call(client, route.method, uri, token: token, json: route.method == .get ? nil : [:])
                        #expect(response.status == .unauthorized, "\(route.method) \(route.path) with \(token.map { String($0.prefix(12)) } ?? "no token")")
                    }
                    let authorized = try await H.call(client, route.method, uri, token: valid, json: route.method == .get ? nil : [:])
                    #expect(authorized.status != .unauthorized, "\(route.method) \(route.path) accepts a valid token")
                }
            }
        }
    }

    @Test("roles: viewers read, responders change status, admins manage users and payloads and reopen")
    func roles() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = try await H.make(database)
            try await buildApplication(harness.dependencies).test(.router) { client in
                let ids = try await harness.alerts(client, [["resource": "sales_load", "error_message": "java.lang.OutOfMemoryError: Java heap space"]])
                let id = try #require(ids.first)
                let viewer = try await H.token(client, .viewer)
                let responder = try await H.token(client, .responder)
                let admin = try await H.token(client, .admin)
                #expect(try await H.call(client, .get, "/api/open-tickets", token: viewer).status == .ok)
                let denied = try await H.call(client, .post, "/api/tickets/\(id)/status", token: viewer, json: ["status": "in_progress"])
                #expect(denied.status == .forbidden)
                #expect((try H.object(denied)["error"] as? String)?.contains("responder role") == true)
                #expect(try await H.call(client, .get, "/api/users", token: responder).status == .forbidden)
                #expect(try await H.call(client, .get, "/api/payloads", token: responder).status == .forbidden)
                #expect(try await H.call(client, .post, "/api/tickets/\(id)/status", token: responder, json: ["status": "resolved"]).status == .ok)
                let reopen = try await H.call(client, .post, "/api/tickets/\(id)/status", token: responder, json: ["status": "open"])
                #expect(reopen.status == .forbidden)
                #expect((try H.object(reopen)["error"] as? String)?.contains("only an admin can reopen") == true)
                #expect(try await H.call(client, .post, "/api/tickets/\(id)/status", token: admin, json: ["status": "open"]).status == .ok)
                let users = try await H.call(client, .get, "/api/users", token: admin)
                #expect(users.status == .ok)
                let created = try await H.call(client, .post, "/api/users", token: admin, json: ["email": "new@example.com", "role": "responder"])
                #expect(created.status == .created)
                #expect((try H.object(created)["password"] as? String)?.count ?? 0 >= 16)
                let promoted = try await H.call(client, .patch, "/api/users/viewer@example.com", token: admin, json: ["role": "responder"])
                #expect(try H.object(promoted)["role"] as? String == "responder")
                #expect(try await H.call(client, .patch, "/api/users/admin@example.com", token: admin, json: ["disabled": true]).status == .conflict)
                #expect(try await H.call(client, .post, "/api/tickets/\(id)/status", token: viewer, json: ["status": "in_progress"]).status == .unauthorized,
                        "a role change ends the sessions signed in under the old role")
                let promotedToken = try await H.token(client, .viewer)
                #expect(try await H.call(client, .post, "/api/tickets/\(id)/status", token: promotedToken, json: ["status": "in_progress"]).status == .ok,
                        "signed in again, the account has its new role")
            }
        }
    }

    @Test("acknowledge → in progress → resolve: the SLA settles at the acknowledgement, the ticket stays open until resolved, MTTA and MTTR come from different clicks; illegal or stale moves are 409", arguments: TestBackend.enabled)
    func statusWorkflow(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let harness = try await H.make(database)
            try await buildApplication(harness.dependencies).test(.router) { client in
                let ids = try await harness.alerts(client, [
                    ["resource": "orders_load", "error_message": "ModuleNotFoundError: No module named 'great_expectations'"],
                ])
                let id = try #require(ids.first)
                let responder = try await H.token(client, .responder)
                let acknowledged = try H.object(try await H.call(client, .post, "/api/tickets/\(id)/status", token: responder, json: ["status": "acknowledged"]))
                #expect(acknowledged["status"] as? String == "acknowledged")
                #expect(acknowledged["sla_status"] as? String == "Met")
                #expect(acknowledged["assignee"] as? String == "responder@example.com")
                let ackSeconds = try #require(acknowledged["ack_seconds"] as? Int)
                let stillOpen = try H.object(try await H.call(client, .get, "/api/open-tickets", token: responder))
                #expect((stillOpen["tickets"] as? [[String: Any]])?.first?["status"] as? String == "acknowledged", "an acknowledged ticket is still open")
                let started = try await H.call(client, .post, "/api/tickets/\(id)/status", token: responder, json: ["status": "in_progress"])
                #expect(try H.object(started)["ack_seconds"] as? Int == ackSeconds, "starting work does not move the acknowledgement")
                try await Task.sleep(for: .milliseconds(1100))
                let resolved = try H.object(try await H.call(
                    client, .post, "/api/tickets/\(id)/status", token: responder, json: ["status": "resolved", "note": "pinned the package"]
                ))
                #expect(resolved["status"] as? String == "resolved")
                #expect(try #require(resolved["resolve_seconds"] as? Int) > ackSeconds)
                let again = try await H.call(client, .post, "/api/tickets/\(id)/status", token: responder, json: ["status": "in_progress"])
                #expect(again.status == .conflict)
                #expect(try await H.call(client, .post, "/api/tickets/\(id)/status", token: responder, json: ["status": "done"]).status == .badRequest)
                #expect(try await H.call(client, .post, "/api/tickets/NOPE/status", token: responder, json: ["status": "acknowledged"]).status == .notFound)
                #expect(try await H.call(client, .post, "/api/tickets/\(id)/status", token: responder, json: ["state": "x"]).status == .badRequest)

                let detail = try H.object(try await H.call(client, .get, "/api/tickets/\(id)", token: responder))
                let ticket = try #require(detail["ticket"] as? [String: Any])
                #expect(ticket["status"] as? String == "resolved")
                #expect(ticket["ack_user"] as? String == "responder@example.com")
                #expect(ticket["resolved_user"] as? String == "responder@example.com")
                #expect(ticket["resolution_note"] as? String == "pinned the package")
                let audit = try #require(detail["audit"] as? [[String: Any]])
                #expect(audit.compactMap { $0["action"] as? String }.suffix(3) == ["Acknowledged", "In Progress", "Resolved"])
                #expect((audit.last?["details"] as? String)?.contains("resolution: pinned the package") == true)
                #expect((detail["recommendations"] as? [String])?.isEmpty == false)

                let closedList = try H.object(try await H.call(client, .get, "/api/closed-tickets", token: responder))
                #expect((closedList["tickets"] as? [[String: Any]])?.first?["id"] as? String == id)
                let summary = try H.object(try await H.call(client, .get, "/api/summary", token: responder))
                #expect(summary["resolved"] as? Int == 1 && summary["open"] as? Int == 0 && summary["acknowledged"] as? Int == 0)
                #expect(summary["acknowledged_tickets"] as? Int == 1, "the prototype's acknowledged_tickets counted closed tickets")
                let mtta = try #require(summary["avg_ack_time_sec"] as? Double)
                let mttr = try #require(summary["mttr_min"] as? Double)
                #expect(mttr * 60 > mtta, "MTTR runs to the resolution, MTTA to the acknowledgement")
                let actions = try H.object(try await H.call(client, .get, "/api/audit-trail?action=Resolved", token: responder))
                #expect((actions["entries"] as? [[String: Any]])?.compactMap { $0["action"] as? String } == ["Resolved"])
            }
        }
    }

    @Test("lists page by keyset without gaps or repeats, in priority order, with bounds and search", arguments: TestBackend.enabled)
    func pagination(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let harness = try await H.make(database)
            try await buildApplication(harness.dependencies).test(.router) { client in
                let texts = [
                    "Cluster terminated. Reason: CLOUD_PROVIDER_LAUNCH_FAILURE (CLOUD_FAILURE)", "KeyError: 'customer_id'",
                    "java.lang.OutOfMemoryError: Java heap space", "An upstream task failed.", "Error 403.",
                    "Run timed out after 7200 seconds", "ModuleNotFoundError: No module named 'x'",
                ]
                let ids = try await harness.alerts(client, texts.enumerated().map { ["resource": "pipe_\($0.offset)", "error_message": $0.element] })
                let viewer = try await H.token(client, .viewer)
                var seen: [String] = []
                var priorities: [String] = []
                var cursor: String?
                repeat {
                    let uri = "/api/open-tickets?limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
                    let page = try H.object(try await H.call(client, .get, uri, token: viewer))
                    let tickets = try #require(page["tickets"] as? [[String: Any]])
                    #expect(tickets.count <= 3)
                    seen += tickets.compactMap { $0["id"] as? String }
                    priorities += tickets.compactMap { $0["priority"] as? String }
                    cursor = page["next_cursor"] as? String
                } while cursor != nil
                #expect(seen.count == ids.count && Set(seen) == Set(ids))
                #expect(priorities == priorities.sorted(), "most urgent first")
                for bad in ["limit=0", "limit=201", "limit=ten", "sort=random", "cursor=bm90LWEtY3Vyc29y", "cursor=%25%25"] {
                    let response = try await H.call(client, .get, "/api/open-tickets?\(bad)", token: viewer)
                    #expect(response.status == .badRequest, "\(bad)")
                }
                let found = try H.object(try await H.call(client, .get, "/api/open-tickets?q=MEMORY", token: viewer))
                #expect((found["tickets"] as? [[String: Any]])?.compactMap { $0["pipeline"] as? String } == ["pipe_2"])
                let injection = try await H.call(client, .get, "/api/open-tickets?q=%27%20OR%201%3D1%20--", token: viewer)
                #expect(injection.status == .ok)
                #expect((try H.object(injection)["tickets"] as? [[String: Any]])?.isEmpty == true)
                let wildcard = try H.object(try await H.call(client, .get, "/api/open-tickets?q=%25", token: viewer))
                #expect((wildcard["tickets"] as? [[String: Any]])?.isEmpty == true, "% is searched for, not a wildcard")
            }
        }
    }

    @Test("CSV export: header row, RFC 4180 quoting, formula cells neutralised")
    func csvExport() async throws {
        #expect(CSV.row(["plain", "a,b", "say \"hi\"", "two\nlines", nil]) == "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\r\n")
        #expect(CSV.row(["=1+2", "+SUM(A1)", "-3", "@cmd", "\tx", "safe=1"]) == "'=1+2,'+SUM(A1),'-3,'@cmd,'\tx,safe=1\r\n")
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = try await H.make(database)
            try await buildApplication(harness.dependencies).test(.router) { client in
                _ = try await harness.alerts(client, [["resource": "=HYPERLINK(\"http://evil.example\",\"click\")", "error_message": "KeyError: 'customer_id'"]])
                let response = try await H.call(client, .get, "/api/export/open-tickets", token: try await H.token(client, .viewer))
                #expect(response.headers[.contentType] == "text/csv; charset=utf-8")
                #expect(response.headers[.contentDisposition]?.hasPrefix("attachment; filename=\"open-tickets-") == true)
                let text = String(buffer: response.body)
                let lines = text.components(separatedBy: "\r\n")
                #expect(lines[0].hasPrefix("Ticket ID,Pipeline,Source,Status,Severity,Priority"))
                #expect(lines[1].contains(#","'=HYPERLINK(""http://evil.example"",""click"")","#))
            }
        }
    }

    @Test("CSV export streams a tab larger than one page: every ticket once, in list order")
    func csvExportSpansPages() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = try await H.make(database)
            try await buildApplication(harness.dependencies).test(.router) { client in
                let count = TicketPageRequest.maximumLimit + 35
                let ids = try await harness.alerts(client, (0..<count).map { ["resource": "export_\($0)", "error_message": "KeyError: 'k\($0)'"] })
                let response = try await H.call(client, .get, "/api/export/open-tickets", token: try await H.token(client, .viewer))
                let rows = String(buffer: response.body).components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty }
                let exported = rows.map { String($0.prefix { $0 != "," }) }
                #expect(exported.count == count)
                #expect(Set(exported) == Set(ids))
                let page = try await TicketQueries(database: database).page(TicketPageRequest(tab: .open, sort: .priority, limit: 50))
                #expect(Array(exported.prefix(50)) == page.tickets.map(\.id), "the export keeps the list's order")
            }
        }
    }

    @Test("registration exists only when turned on, makes viewers, answers alike for taken and free addresses, and is throttled")
    func registration() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let closed = try await H.make(database)
            try await buildApplication(closed.dependencies).test(.router) { client in
                let response = try await H.call(client, .post, "/api/register", token: nil, json: ["email": "x@example.com", "password": "long enough password"])
                #expect(response.status == .notFound)
            }
        }
        try await TestDatabase.with(.sqlite) { database, _ in
            let open = try await H.make(database, environment: ["ALLOW_REGISTRATION": "true"])
            try await buildApplication(open.dependencies).test(.router) { client in
                #expect(try await H.call(client, .post, "/api/register", token: nil, json: ["email": "x@example.com", "password": "short"]).status == .badRequest)
                let created = try await H.call(client, .post, "/api/register", token: nil, json: ["email": "X@example.com", "password": "long enough password"])
                #expect(created.status == .accepted)
                let taken = try await H.call(client, .post, "/api/register", token: nil, json: ["email": "x@example.com", "password": "another long password"])
                #expect(taken.status == .accepted)
                let takenAnswer = try H.object(taken).mapValues { "\($0)" }
                let createdAnswer = try H.object(created).mapValues { "\($0)" }
                #expect(takenAnswer == createdAnswer, "a taken address gets the answer a free one gets")
                #expect(try await H.login(client, "x@example.com", password: "long enough password").status == .ok)
                #expect(try await H.login(client, "x@example.com", password: "another long password").status == .unauthorized, "the taken account is unchanged")
                let me = try await H.login(client, "x@example.com", password: "long enough password")
                #expect(String(buffer: me.body).contains(#""role":"viewer""#))
                var statuses: [HTTPResponse.Status] = []
                for index in 0..<9 {
                    statuses.append(try await H.call(client, .post, "/api/register", token: nil, json: ["email": "n\(index)@example.com", "password": "long enough password"]).status)
                }
                #expect(statuses.filter { $0 == .accepted }.count == 8, "10 registrations an hour per address, the two above included")
                #expect(statuses.last == .tooManyRequests)
            }
        }
    }

    @Test("/openapi.json describes every route the server answers")
    func openAPI() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = try await H.make(database, environment: [
                "ALLOW_REGISTRATION": "true", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_CHANNEL": "C1", "SLACK_SIGNING_SECRET": "s",
                "JIRA_DOMAIN": "https://example.atlassian.net", "JIRA_USER_EMAIL": "a@example.com", "JIRA_API_TOKEN": "t", "JIRA_PROJECT_KEY": "ED",
                "JIRA_WEBHOOK_SECRET": "s",
            ])
            let routes = registeredRoutes(harness.dependencies)
            try await buildApplication(harness.dependencies).test(.router) { client in
                let document = try H.object(try await client.execute(uri: "/openapi.json", method: .get))
                #expect(document["openapi"] as? String == "3.1.0")
                let paths = try #require(document["paths"] as? [String: [String: Any]])
                for route in routes {
                    let path = route.path.replacingOccurrences(of: #":(\w+)"#, with: "{$1}", options: .regularExpression)
                    #expect(paths[path]?[route.method.rawValue.lowercased()] != nil, "\(route.method) \(path) is not in the document")
                }
                let documented = paths.reduce(0) { $0 + $1.value.count }
                #expect(documented == routes.count, "the document lists no route the server lacks")
            }
        }
    }

    @Test("pages carry a CSP that forbids inline script; assets are served by exact name only")
    func dashboardAssets() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = try await H.make(database)
            try await buildApplication(harness.dependencies).test(.router) { client in
                let page = try await client.execute(uri: "/dashboard", method: .get)
                #expect(page.status == .ok)
                let csp = try #require(page.headers[.contentSecurityPolicy])
                #expect(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"))
                #expect(page.headers[.xContentTypeOptions] == "nosniff")
                let html = String(buffer: page.body)
                #expect(!html.contains("<script>") && !html.contains("onclick="), "no inline script in the page")
                #expect(try await client.execute(uri: "/assets/dashboard.js", method: .get).headers[.contentType] == "text/javascript; charset=utf-8")
                for path in ["/assets/..%2F..%2FPackage.swift", "/assets/%2e%2e%2fopenapi.json", "/assets/../openapi.json", "/assets/missing.js"] {
                    #expect(try await client.execute(uri: path, method: .get).status == .notFound, "\(path)")
                }
                let script = String(buffer: try await client.execute(uri: "/assets/dashboard.js", method: .get).body)
                #expect(!script.contains("innerHTML") && !script.contains("insertAdjacentHTML") && !script.contains("document.write"))
            }
        }
    }

    @Test("error answers carry the security headers too; HSTS is sent when PUBLIC_URL is https")
    func securityHeadersOnErrors() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let plain = try await H.make(database)
            try await buildApplication(plain.dependencies).test(.router) { client in
                for (path, status) in [("/no/such/page", HTTPResponse.Status.notFound), ("/api/me", .unauthorized)] {
                    let answer = try await client.execute(uri: path, method: .get)
                    #expect(answer.status == status)
                    #expect(answer.headers[.contentSecurityPolicy] != nil, "\(path)")
                    #expect(answer.headers[.xContentTypeOptions] == "nosniff")
                    #expect(answer.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                    #expect(answer.headers[.strictTransportSecurity] == nil)
                }
            }
        }
        try await TestDatabase.with(.sqlite) { database, _ in
            let behindTLS = try await H.make(database, environment: ["PUBLIC_URL": "https://rca.example.com"])
            try await buildApplication(behindTLS.dependencies).test(.router) { (client: any TestClientProtocol) async throws in
                #expect(try await client.execute(uri: "/dashboard", method: .get).headers[.strictTransportSecurity] == "max-age=31536000")
                #expect(try await client.execute(uri: "/nowhere", method: .get).headers[.strictTransportSecurity] == "max-age=31536000")
            }
        }
    }

    @Test("a dashboard on /ws receives the ticket a webhook opens; without a valid token there is no upgrade")
    func liveUpdates() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = try await H.make(database)
            try await buildApplication(harness.dependencies).test(.live) { client in
                let token = try await H.token(client, .viewer)
                let refused = try await H.call(client, .get, "/ws?token=forged", token: nil)
                #expect(refused.status == .unauthorized)
                let received = Received()
                try await client.ws("/ws?token=\(token)") { inbound, _, _ in
                    var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                    guard case .text(let hello)? = try await messages.next() else { return }
                    await received.add(hello)
                    let body = try JSONSerialization.data(withJSONObject: ["resource": "live_pipeline", "error_message": "KeyError: 'id'"])
                    _ = try await WebhookHarness.post(client, "/webhook/generic", body)
                    while case .text(let text)? = try await messages.next() {
                        await received.add(text)
                        if text.contains("new_ticket") { return }
                    }
                }
                let texts = await received.texts
                #expect(texts.first?.contains("\"hello\"") == true)
                #expect(texts.contains { $0.contains("\"type\":\"new_ticket\"") && $0.contains("\"ticket_id\":\"GEN-") })
                #expect(texts.contains { $0.contains("\"event\":\"new_ticket\"") }, "the prototype's name for the event's type is sent too")
            }
        }
    }

    @Test("sign-out, a new password, a role change and disabling each end the account's existing sessions", arguments: TestBackend.enabled)
    func sessionsEnd(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let harness = try await H.make(database)
            let users = UserStore(database: database)
            try await buildApplication(harness.dependencies).test(.router) { client in
                func works(_ token: String) async throws -> Bool {
                    try await H.call(client, .get, "/api/me", token: token).status == .ok
                }
                let first = try await H.token(client, .viewer)
                let second = try await H.token(client, .viewer)
                #expect(try await client.execute(uri: "/api/logout", method: .post, headers: [.authorization: "Bearer \(first)"]).status == .noContent)
                #expect(try await !works(first))
                #expect(try await !works(second), "signing out ends every session of the account")
                let fresh = try await H.token(client, .viewer)
                #expect(try await works(fresh), "a sign-in after the sign-out works")

                try await users.setRole(email: "viewer@example.com", .viewer)
                #expect(try await works(fresh), "setting the role it already has changes nothing")
                try await users.setRole(email: "viewer@example.com", .responder)
                #expect(try await !works(fresh))

                let beforeReset = try await H.token(client, .responder)
                try await users.setPasswordHash(email: "responder@example.com", try await PasswordHasher(cost: 4).hash(H.password))
                #expect(try await !works(beforeReset))

                let beforeDisabling = try await H.token(client, .admin)
                try await users.setDisabled(email: "admin@example.com", true)
                try await users.setDisabled(email: "admin@example.com", false)
                #expect(try await !works(beforeDisabling), "re-enabling an account does not bring its old sessions back")
                let message = try H.object(try await H.call(client, .get, "/api/me", token: beforeDisabling))["error"] as? String
                #expect(message?.contains("sign in again") == true)
            }
        }
    }

    @Test("an open live feed is closed when its account is disabled, and when its token expires")
    func liveFeedEndsWithSession() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = try await H.make(database, environment: ["SESSION_RECHECK_SECONDS": "1"])
            try await buildApplication(harness.dependencies).test(.live) { client in
                let token = try await H.token(client, .viewer)
                let disabledAt = Received()
                let start = ContinuousClock.now
                try await client.ws("/ws?token=\(token)") { inbound, _, _ in
                    var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                    _ = try await messages.next()
                    try await UserStore(database: database).setDisabled(email: "viewer@example.com", true)
                    while try await messages.next() != nil {}
                    await disabledAt.add("\(ContinuousClock.now - start)")
                }
                #expect(await disabledAt.texts.count == 1, "the server closed the feed")
                #expect(ContinuousClock.now - start < .seconds(10))

                let shortLived = try await SessionTokens(secret: WebhookHarness.jwtSecret, lifetime: .seconds(2))
                    .issue(userID: try #require(try await UserStore(database: database).find(email: "responder@example.com")).id, email: "responder@example.com", role: .responder)
                let expiryStart = ContinuousClock.now
                try await client.ws("/ws?token=\(shortLived.token)") { inbound, _, _ in
                    var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                    while try await messages.next() != nil {}
                }
                let lasted = ContinuousClock.now - expiryStart
                #expect(lasted >= .seconds(1) && lasted < .seconds(6), "closed at the token's expiry, after \(lasted)")
            }
        }
    }

    @Test("on PostgreSQL, a dashboard connected to one replica receives the tickets another replica ingests",
          arguments: TestBackend.enabled.filter { $0 == .postgres })
    func eventsAcrossReplicas(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, testDatabase in
            let otherConnection = try await testDatabase.open(migrated: true)
            let shared = ["SHARE_LIVE_EVENTS": "true", "DATABASE_URL": try #require(TestBackend.postgresURL)]
            let first = try await H.make(database, environment: shared)
            let second = try WebhookHarness.dependencies(otherConnection, environment: ["ROLE": "all"].merging(shared) { $1 })
            let feed = second.events.subscribe()
            let log = EventLog()
            let consumer = Task { for await event in feed { await log.add(event) } }
            try await buildApplication(second).test(.router) { _ in
                try await buildApplication(first.dependencies).test(.router) { client in
                    try await eventually(10, "the second replica listens") {
                        try await otherConnection.transaction { sql in
                            try await second.events.announce([LiveEvent(.ticketUpdated, ticketID: "probe")], on: sql)
                        }
                        try await Task.sleep(for: .milliseconds(100))
                        return await log.events.contains { $0.ticketID == "probe" }
                    }
                    let body = try JSONSerialization.data(withJSONObject: ["resource": "replica_pipeline", "error_message": "KeyError: 'id'"])
                    let id = try #require(try WebhookHarness.answer(try await WebhookHarness.post(client, "/webhook/generic", body)).ticket_ids.first)
                    try await eventually(10, "the second replica's dashboards hear of the ticket") {
                        await log.events.contains { $0.type == .newTicket && $0.ticketID == id }
                    }
                    let copies = await log.events.filter { $0.type == .newTicket && $0.ticketID == id }.count
                    #expect(copies == 1, "each replica delivers an event once")
                }
            }
            consumer.cancel()
            await otherConnection.close()
        }
    }

    @Test("a subscriber that stops reading is dropped once its buffer is full; the others keep receiving")
    func slowSubscriber() async throws {
        let events = LiveEvents(bufferSize: 4)
        let slow = events.subscribe()
        var fast = events.subscribe().makeAsyncIterator()
        for index in 0..<4 { events.deliver(LiveEvent(.ticketUpdated, ticketID: "T-\(index)")) }
        for _ in 0..<4 { _ = await fast.next() }
        #expect(events.subscriberCount == 2)
        events.deliver(LiveEvent(.ticketUpdated, ticketID: "T-4"))
        #expect(events.subscriberCount == 1, "the slow one is dropped")
        #expect(await fast.next()?.ticketID == "T-4")
        var drained = 0
        for await _ in slow { drained += 1 }
        #expect(drained == 4, "the dropped stream ends after what it had buffered")
    }
}

/// Collects live events seen by a subscriber.
actor EventLog {
    var events: [LiveEvent] = []
    func add(_ event: LiveEvent) { events.append(event) }
}

/// Collects WebSocket messages across the handler's task.
actor Received {
    var texts: [String] = []
    func add(_ text: String) { texts.append(text) }
}

extension Data {
    var base64URL: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
