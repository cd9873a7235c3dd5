import Foundation
import HTTPTypes
import HummingbirdTesting
import RCAAnalysis
import RCACore
@testable import RCAServer
@testable import RCAStore
import RCATesting
import SQLKit
import Testing

@Suite("Corrections of analyses")
struct CorrectionTests {
    typealias H = APIHarness

    static let emptyExport = "Nightly job 4711 failed: staging table crm_accounts has 0 rows after the CRM export"
    static var correctionBody: [String: Any] {
        [
            "category": "upstream_dependency_failed",
            "error_type": "CRM_EXPORT_LATE",
            "root_cause": "The CRM export had not landed when the nightly job started",
            "evidence": ["has 0 rows after the CRM export"],
        ]
    }

    static func actions(_ detail: [String: Any]) -> [(action: String, user: String?, details: String)] {
        ((detail["audit"] as? [[String: Any]]) ?? []).map { ($0["action"] as? String ?? "", $0["user"] as? String, $0["details"] as? String ?? "") }
    }

    @Test("a responder's correction rewrites the analysis, is audited, and later tickets of the same failure take it", arguments: TestBackend.enabled)
    func correctAndReuse(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let harness = try await H.make(database)
            try await buildApplication(harness.dependencies).test(.router) { client in
                let first = try #require(try await harness.alerts(client, [["resource": "crm_nightly", "error_message": Self.emptyExport]]).first)
                let before = try H.object(try await H.call(client, .get, "/api/tickets/\(first)", token: try await H.token(client, .viewer)))
                let beforeTicket = try #require(before["ticket"] as? [String: Any])
                #expect(beforeTicket["category"] as? String != "upstream_dependency_failed", "the engine alone does not know this site's export")

                let responder = try await H.token(client, .responder)
                let corrected = try await H.call(client, .post, "/api/tickets/\(first)/correction", token: responder, json: Self.correctionBody)
                #expect(corrected.status == .ok)
                let answer = try H.object(corrected)
                #expect(answer["category"] as? String == "upstream_dependency_failed")
                #expect(answer["corrected_by"] as? String == "responder@example.com")
                #expect(answer["recommendations"] as? [String] == FailureCategory.upstreamDependencyFailed.firstSteps, "no steps given: the category's usual ones")

                let detail = try H.object(try await H.call(client, .get, "/api/tickets/\(first)", token: responder))
                let ticket = try #require(detail["ticket"] as? [String: Any])
                #expect(ticket["category"] as? String == "upstream_dependency_failed")
                #expect(ticket["error_type"] as? String == "CRM_EXPORT_LATE")
                #expect(ticket["rca_result"] as? String == "The CRM export had not landed when the nightly job started")
                #expect(ticket["confidence"] as? String == "High")
                #expect(detail["analysis_engine"] as? String == "responder")
                #expect(detail["decided_by"] as? String == "correction by responder@example.com")
                #expect(detail["evidence"] as? [String] == ["has 0 rows after the CRM export"])
                let audit = try #require(Self.actions(detail).last)
                #expect(audit.action == "RCA Corrected" && audit.user == "responder@example.com")
                #expect(audit.details.contains("→ upstream_dependency_failed") && audit.details.contains("→ CRM_EXPORT_LATE"))

                let later = Self.emptyExport.replacingOccurrences(of: "4711", with: "4790")
                let ids = try await harness.alerts(client, [
                    ["resource": "crm_nightly_eu", "error_message": later],
                    ["resource": "crm_nightly_eu", "error_message": "Nightly job 4790 failed: java.net.ConnectException: Connection refused"],
                ])
                let reused = try H.object(try await H.call(client, .get, "/api/tickets/\(ids[0])", token: responder))
                let reusedTicket = try #require(reused["ticket"] as? [String: Any])
                #expect(reusedTicket["category"] as? String == "upstream_dependency_failed")
                #expect(reusedTicket["error_type"] as? String == "CRM_EXPORT_LATE")
                #expect(reused["analysis_engine"] as? String == "responder")
                #expect(reused["decided_by"] as? String == "correction by responder@example.com on ticket \(first)")
                #expect(reused["evidence"] as? [String] == ["has 0 rows after the CRM export"])
                let reusedAudit = Self.actions(reused)
                #expect(reusedAudit.contains { $0.action == "RCA Reused" && $0.details.contains("corrected this failure's analysis on ticket \(first)") })
                #expect(reusedAudit.contains { $0.action == "RCA Generated" && $0.details.contains("decided by correction by responder@example.com on ticket \(first)") })

                let other = try H.object(try await H.call(client, .get, "/api/tickets/\(ids[1])", token: responder))
                #expect((other["ticket"] as? [String: Any])?["category"] as? String == "network_connectivity", "another failure keeps its own analysis")
                #expect(other["analysis_engine"] as? String == "rules")

                var again = Self.correctionBody
                again["root_cause"] = "The CRM export job was paused during the CRM upgrade"
                again["recommendations"] = ["Resume the CRM export job", "  "]
                let second = try H.object(try await H.call(client, .post, "/api/tickets/\(ids[0])/correction", token: responder, json: again))
                #expect(second["recommendations"] as? [String] == ["Resume the CRM export job"])
                let stored = try await CorrectionStore(database: database).all()
                #expect(stored.count == 1, "one correction per failure: the newer replaces the older")
                #expect(stored.first?.rootCause == "The CRM export job was paused during the CRM upgrade")
                #expect(stored.first?.ticketID == ids[0])
            }
        }
    }

    @Test("corrections are refused with a reason: wrong role, unknown ticket, bad fields, evidence not in the text")
    func refusals() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = try await H.make(database)
            try await buildApplication(harness.dependencies).test(.router) { client in
                let id = try #require(try await harness.alerts(client, [["resource": "crm_nightly", "error_message": Self.emptyExport]]).first)
                let viewer = try await H.token(client, .viewer)
                let responder = try await H.token(client, .responder)
                #expect(try await H.call(client, .post, "/api/tickets/\(id)/correction", token: viewer, json: Self.correctionBody).status == .forbidden)
                #expect(try await H.call(client, .post, "/api/tickets/\(id)/correction", token: nil, json: Self.correctionBody).status == .unauthorized)
                #expect(try await H.call(client, .post, "/api/tickets/NOPE/correction", token: responder, json: Self.correctionBody).status == .notFound)

                func refusal(_ change: [String: Any]) async throws -> String {
                    let body = Self.correctionBody.merging(change) { $1 }
                    let response = try await H.call(client, .post, "/api/tickets/\(id)/correction", token: responder, json: body)
                    #expect(response.status == .badRequest, "\(change)")
                    return try H.object(response)["error"] as? String ?? ""
                }
                #expect(try await refusal(["category": "gremlins"]).contains("category must be one of missing_input_data"))
                #expect(try await refusal(["category": "unknown"]).contains("category must be one of"))
                #expect(try await refusal(["root_cause": "   "]) == "root_cause must be 1 to 2000 characters")
                #expect(try await refusal(["error_type": "two words"]).hasPrefix("error_type must be"))
                #expect(try await refusal(["evidence": ["has 12 rows"]]).contains("\"has 12 rows\" does not occur in the ticket's error text"))
                #expect(try await refusal(["evidence": ["a", "b", "c", "d"]]).hasPrefix("evidence must be at most 3 phrases"))
                #expect(try await refusal(["recommendations": Array(repeating: "step", count: 7)]).hasPrefix("recommendations must be at most 6"))
                #expect(try await refusal(["category": 7]).isEmpty == false, "a wrong type is a 400 with a message")
                #expect(try await CorrectionStore(database: database).all().isEmpty)
                let audit = Self.actions(try H.object(try await H.call(client, .get, "/api/tickets/\(id)", token: responder)))
                #expect(!audit.contains { $0.action == "RCA Corrected" })
            }
        }
    }

    @Test("a ticket still being analyzed cannot be corrected yet (409)")
    func pendingTicket() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = try await H.make(database, environment: ["ROLE": "web"])
            try await buildApplication(harness.dependencies).test(.router) { client in
                let data = try JSONSerialization.data(withJSONObject: ["resource": "crm_nightly", "error_message": Self.emptyExport])
                let id = try #require(try WebhookHarness.answer(try await WebhookHarness.post(client, "/webhook/generic", data)).ticket_ids.first)
                let response = try await H.call(client, .post, "/api/tickets/\(id)/correction", token: try await H.token(client, .responder), json: Self.correctionBody)
                #expect(response.status == .conflict)
                #expect(try H.object(response)["error"] as? String == "ticket \(id) has no analysis to correct yet; wait until it is analyzed")
            }
        }
    }

    @Test("a correction updates the Slack message (it is queued for the channels that show the analysis)")
    func notifiesChannels() async throws {
        try await TestDatabase.with(.sqlite) { database, _ in
            let harness = try await H.make(database, environment: [
                "ROLE": "web", "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_CHANNEL": "C0TEST", "SLACK_API_URL": "http://127.0.0.1:9/api",
            ])
            try await buildApplication(harness.dependencies).test(.router) { client in
                let data = try JSONSerialization.data(withJSONObject: ["resource": "crm_nightly", "error_message": Self.emptyExport])
                let id = try #require(try WebhookHarness.answer(try await WebhookHarness.post(client, "/webhook/generic", data)).ticket_ids.first)
                try await database.transaction { sql in
                    try await sql.raw(
                        "UPDATE tickets SET analysis_state = 'done', fingerprint = 'f00dfeedf00dfeed', rca_result = 'x', category = 'unknown' WHERE id = \(bind: id)"
                    ).run()
                }
                let response = try await H.call(client, .post, "/api/tickets/\(id)/correction", token: try await H.token(client, .responder), json: Self.correctionBody)
                #expect(response.status == .ok)
                let payloads = try await database.read { sql in
                    try await sql.raw("SELECT payload FROM jobs WHERE kind = 'notify'").all().map { try $0.decode(column: "payload", as: String.self) }
                }
                #expect(payloads.contains { $0.contains("\"reason\":\"corrected\"") && $0.contains("\"channel\":\"slack\"") }, "\(payloads)")
            }
        }
    }

    @Test("rules export turns corrections into site rules that load, and that match the failure with other numbers")
    func exportRoundTrip() throws {
        let correction = AnalysisCorrection(
            fingerprint: "0123456789abcdef", source: "generic", category: .upstreamDependencyFailed, errorType: "CRM_EXPORT_LATE",
            rootCause: "The CRM export had not landed", severity: .high, recommendations: ["Check the CRM export"],
            evidence: ["has 0 rows after the CRM export (batch 17)"], ticketID: "GEN-1", correctedBy: "r@example.com", correctedAt: "2026-12-07T07:00:00Z"
        )
        let silent = AnalysisCorrection(
            fingerprint: "fedcba9876543210", source: "generic", category: .codeError, errorType: "X", rootCause: "y", severity: .low,
            recommendations: ["z"], evidence: [], ticketID: "GEN-2", correctedBy: "r@example.com", correctedAt: "2026-12-07T07:01:00Z"
        )
        let export = try CorrectionRules.export([correction, silent])
        #expect(export.ruleCount == 1)
        #expect(export.skipped == [silent], "a correction that cites nothing cannot be matched")

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try export.document.write(to: file)
        let site = try KnowledgeBase.site(file: file.path)
        let rule = try #require(site.rules.first)
        #expect(rule.id == "correction-0123456789abcdef")
        #expect(rule.patterns == [#"has [0-9]{1,12} rows after the CRM export \(batch [0-9]{1,12}\)"#])
        #expect(try rule.compiledPatterns().count == 1)

        let engine = try RulesEngine(siteRules: site)
        let analysis = engine.analyzeNow(AnalysisInput(
            source: .databricks, errorText: "Job 88 failed: staging table accounts has 35 rows after the CRM export (batch 2)", resource: "crm"
        ))
        #expect(analysis.category == .upstreamDependencyFailed)
        #expect(analysis.errorType == "CRM_EXPORT_LATE")
        #expect(analysis.decidedBy == "site rule correction-0123456789abcdef")
        #expect(analysis.evidence == ["has 35 rows after the CRM export (batch 2)"])
    }

    @Test("only a phrase's first numbers vary, so that the pattern stays linear; regular-expression characters are literal")
    func patterns() throws {
        #expect(CorrectionRules.pattern(matching: "ORA-12541: TNS:no listener") == #"ORA-[0-9]{1,12}: TNS:no listener"#)
        let literal = try LinearPattern(CorrectionRules.pattern(matching: "a.b*c [x]"))
        #expect(literal.firstMatch(in: "a.b*c [x]") != nil)
        #expect(literal.firstMatch(in: "aXbbbc x") == nil)
        let many = CorrectionRules.pattern(matching: "1 2 3 4 5")
        #expect(many == "[0-9]{1,12} [0-9]{1,12} [0-9]{1,12} 4 5")
        #expect(try LinearPattern(many).firstMatch(in: "9 88 777 4 5") != nil)
    }

    @Test("rca-assistant rules export prints the stored corrections as site rules")
    func exportCommand() async throws {
        try await TestDatabase.with(.sqlite) { database, testDatabase in
            let harness = try await H.make(database)
            let id = try await buildApplication(harness.dependencies).test(.router) { client in
                let id = try #require(try await harness.alerts(client, [["resource": "crm_nightly", "error_message": Self.emptyExport]]).first)
                let response = try await H.call(client, .post, "/api/tickets/\(id)/correction", token: try await H.token(client, .responder), json: Self.correctionBody)
                #expect(response.status == .ok)
                return id
            }
            guard case .sqlite(let path) = testDatabase.location else { throw CancellationError() }
            let folder = try CommandLineTests.temporaryFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let environment = ["DATABASE_URL": "sqlite://\(path)"]
            let printed = try await CommandProcess.run(["rules", "export"], environment: environment, directory: folder)
            #expect(printed.status == 0, "\(printed.stderr)")
            let document = try #require(try JSONSerialization.jsonObject(with: Data(printed.stdout.utf8)) as? [String: Any])
            let rules = try #require(document["rules"] as? [[String: Any]])
            #expect(rules.count == 1)
            #expect(rules.first?["corrected_on_ticket"] as? String == id)
            #expect(rules.first?["patterns"] as? [String] == ["has [0-9]{1,12} rows after the CRM export"])

            let written = try await CommandProcess.run(["rules", "export", "--output", "site-rules.json"], environment: environment, directory: folder)
            #expect(written.stdout == "Wrote 1 rule(s) to site-rules.json.\n")
            let analyzed = try await CommandProcess.run(
                ["analyze", "--json", "Nightly job 5 failed: staging table crm_contacts has 0 rows after the CRM export"],
                environment: ["KNOWLEDGE_BASE_FILE": "site-rules.json"], directory: folder
            )
            #expect(analyzed.stdout.contains("\"category\" : \"upstream_dependency_failed\"") || analyzed.stdout.contains("\"category\":\"upstream_dependency_failed\""), "\(analyzed.stdout)")
        }
    }
}
