import Foundation
import RCACore
import RCAStore
import RCATesting
import SQLKit
import Testing

@Suite("Command line", .serialized)
struct CommandLineTests {
    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rca-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    static func port(in output: String) throws -> Int {
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("RCA Assistant is listening on http://127.0.0.1:") })
        return try #require(Int(line.split(separator: ":").last ?? ""))
    }

    @Test("serve with no configuration starts, prints where it listens and the first password, is ready, and stops on SIGTERM; a restart keeps the data")
    func serveAndRestart() async throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }

        let first = try CommandProcess(["serve", "--port", "0"], environment: [:], directory: folder)
        let output = try await first.waitForOutput(containing: "Webhook")
        let port = try Self.port(in: output)
        #expect(output.contains("Data: SQLite database at ./data/rca.sqlite"))
        #expect(output.contains("First start: created user \"admin\" with password "))
        #expect(try await httpGet("http://127.0.0.1:\(port)/ready").status == 200)
        let jwtSecret = try String(contentsOf: folder.appendingPathComponent("data/jwt_secret"), encoding: .utf8)
        let jwtPermissions = try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent("data/jwt_secret").path)[.posixPermissions] as? Int
        #expect(jwtPermissions == 0o600)
        first.signal(SIGTERM)
        #expect(try await first.waitForExit() == 0)
        #expect(!first.standardError.contains("password"), "the password is never logged")

        let second = try CommandProcess(["serve", "--port", "0"], environment: [:], directory: folder)
        let restartOutput = try await second.waitForOutput(containing: "Webhook")
        #expect(!restartOutput.contains("First start"))
        let token = try String(contentsOf: folder.appendingPathComponent("data/webhook_token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(output.contains("/azure-monitor?token=\(token)"), "the first start shows the generated token")
        #expect(!restartOutput.contains(token), "later starts do not print it again")
        #expect(restartOutput.contains("/azure-monitor?token=<the token in ./data/webhook_token>"))
        #expect(try await httpGet("http://127.0.0.1:\(try Self.port(in: restartOutput))/ready").status == 200)
        #expect(try String(contentsOf: folder.appendingPathComponent("data/jwt_secret"), encoding: .utf8) == jwtSecret)
        second.signal(SIGINT)
        #expect(try await second.waitForExit() == 0)
    }

    @Test("bad configuration stops the start with one line naming the variable, and a non-zero exit", arguments: [
        (["PORT": "eighty"], "rca-assistant: PORT: expected a whole number from 0 to 65535, got \"eighty\"\n"),
        (["DATABASE_URL": "postgres://rca:pw@127.0.0.1:9/rca?sslmode=disable"], "rca-assistant: DATABASE_URL: cannot connect to postgres://rca@127.0.0.1:9/rca: Connection refused\n"),
        (["DATABASE_URL": "redis://cache"], "rca-assistant: DATABASE_URL: unsupported scheme \"redis\"; use postgres:// or sqlite://\n"),
        (["DATA_DIR": "blocker/data"], "rca-assistant: DATA_DIR: cannot create ./blocker/data: Not a directory\n"),
        (["ANALYSIS_ENGINE": "gemini"], "rca-assistant: GEMINI_API_KEY: is required when ANALYSIS_ENGINE is gemini\n"),
        (["OWNERSHIP_FILE": "missing.json"], "rca-assistant: OWNERSHIP_FILE: cannot read missing.json\n"),
    ])
    func badConfiguration(environment: [String: String], message: String) async throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data().write(to: folder.appendingPathComponent("blocker"))

        let result = try await CommandProcess.run(["serve"], environment: environment, directory: folder)
        #expect(result.status == 1)
        #expect(result.stderr == message)
        #expect(result.stdout.isEmpty)
    }

    @Test("with a model engine, /metrics counts model calls, tokens, cache hits and fallbacks")
    func modelMetrics() async throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fake = try await ModelFake.start(.openai)
        defer { Task { await fake.server.stop() } }
        fake.enqueue(try fake.reply(SampleFailure.answer(), tokens: 640))
        fake.always(try fake.overloaded())
        let token = "metrics-test-token-0123456789"
        let server = try CommandProcess(
            ["serve", "--port", "0"],
            environment: fake.environment.merging(["WEBHOOK_TOKEN": token, "MODEL_MAX_ATTEMPTS": "1"]) { $1 },
            directory: folder
        )
        let base = "http://127.0.0.1:\(try Self.port(in: try await server.waitForOutput(containing: "Webhook")))"
        let alerts: [[String: String]] = [
            ["resource": "sales_load", "run_id": "1", "error_message": SampleFailure.text],
            ["resource": "sales_load_eu", "run_id": "2", "error_message": SampleFailure.text],
            ["resource": "orders_load", "run_id": "3", "error_message": "java.lang.OutOfMemoryError: GC overhead limit exceeded"],
        ]
        for alert in alerts {
            let answer = try await httpPost("\(base)/webhook/generic", json: try JSONSerialization.data(withJSONObject: alert), headers: ["X-RCA-Token": token])
            #expect(answer.status == 202)
            try await Task.sleep(for: .milliseconds(300))
        }
        let expected = [
            #"rca_model_calls_total{engine="openai",outcome="ok"} 1"#,
            #"rca_model_calls_total{engine="openai",outcome="unavailable"} 1"#,
            #"rca_model_tokens_total{engine="openai"} 640"#,
            #"rca_analysis_cache_hits_total{engine="openai"} 1"#,
            #"rca_model_fallbacks_total{engine="openai",reason="unavailable"} 1"#,
        ]
        var metrics = ""
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            metrics = try await httpGet("\(base)/metrics").body
            if expected.allSatisfy(metrics.contains) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        for line in expected {
            #expect(metrics.contains(line), "missing \(line)")
        }
        server.signal(SIGTERM)
        _ = try await server.waitForExit()
    }

    @Test("a port already in use is reported as such")
    func portInUse() async throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try CommandProcess(["serve", "--port", "0"], environment: [:], directory: folder)
        let port = try Self.port(in: try await first.waitForOutput(containing: "Webhook"))

        let second = try await CommandProcess.run(["serve", "--port", "\(port)"], environment: ["DATA_DIR": "other"], directory: folder)
        #expect(second.status == 1)
        #expect(second.stderr.contains("rca-assistant: HOST/PORT: cannot listen on 127.0.0.1:\(port)"))
        first.signal(SIGTERM)
        _ = try await first.waitForExit()
    }

    @Test("user add, list, disable and reset-password manage accounts from the shell")
    func userCommands() async throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }

        let added = try await CommandProcess.run(["user", "add", "Dana@Example.com", "--role", "responder", "--name", "Dana"], environment: [:], directory: folder)
        #expect(added.status == 0)
        #expect(added.stdout.contains("Created responder dana@example.com."))
        #expect(added.stdout.contains("Password: "))

        let fromStdin = try await CommandProcess.run(
            ["user", "add", "eve@example.com", "--password-stdin"], environment: [:], directory: folder, stdin: "correct horse battery\n"
        )
        #expect(fromStdin.status == 0)
        #expect(!fromStdin.stdout.contains("Password:"))

        let duplicate = try await CommandProcess.run(["user", "add", "dana@example.com"], environment: [:], directory: folder)
        #expect(duplicate.status == 1)
        #expect(duplicate.stderr == "rca-assistant: a user with e-mail dana@example.com already exists\n")

        #expect(try await CommandProcess.run(["user", "disable", "dana@example.com"], environment: [:], directory: folder).status == 0)
        let list = try await CommandProcess.run(["user", "list"], environment: [:], directory: folder)
        let danaLine = try #require(list.stdout.split(separator: "\n").first { $0.hasPrefix("dana@example.com") })
        #expect(danaLine.contains("responder"))
        #expect(danaLine.contains("disabled"))
        #expect(list.stdout.contains("eve@example.com"))

        let reset = try await CommandProcess.run(["user", "reset-password", "nobody@example.com"], environment: [:], directory: folder)
        #expect(reset.status == 1)
        #expect(reset.stderr == "rca-assistant: no user with e-mail nobody@example.com\n")

        let migrate = try await CommandProcess.run(["migrate"], environment: [:], directory: folder)
        #expect(migrate.stdout == "Schema is up to date (version \(Migrator.latestVersion)).\n")
    }

    @Test("rebuild-counters refuses a database that is not migrated, and recounts counters that were lost")
    func rebuildCounters() async throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let early = try await CommandProcess.run(["rebuild-counters"], environment: [:], directory: folder)
        #expect(early.status == 1 && early.stderr.contains("rca-assistant migrate"), "\(early.stderr)")

        #expect(try await CommandProcess.run(["migrate"], environment: [:], directory: folder).status == 0)
        let database = try await Database.open(.sqlite(path: folder.appendingPathComponent("data/rca.sqlite").path), logger: TestDatabase.quietLogger)
        let t = "2026-12-07T10:00:00.000Z"
        try await database.transaction { sql in
            for id in ["A", "B", "C"] {
                try await sql.raw(
                    "INSERT INTO tickets (id, timestamp, source, dedup_key, first_seen, last_seen, updated_at) VALUES (\(bind: id), \(bind: t), 'generic', \(bind: id), \(bind: t), \(bind: t), \(bind: t))"
                ).run()
            }
            try await sql.raw("DELETE FROM ticket_changes").run()
        }
        #expect(try await DashboardQueries(database: database).summary().total == 0, "the counters lost the three tickets")
        let rebuilt = try await CommandProcess.run(["rebuild-counters"], environment: [:], directory: folder)
        #expect(rebuilt.status == 0 && rebuilt.stdout.hasPrefix("Recounted the tickets into "), "\(rebuilt.stdout)\(rebuilt.stderr)")
        #expect(try await DashboardQueries(database: database).summary().total == 3)
        await database.close()
    }
}

@Suite("Command line analysis")
struct AnalyzeCommandTests {
    @Test("analyze explains an error text offline, as a summary or as JSON")
    func text() async throws {
        let folder = try CommandLineTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let summary = try await CommandProcess.run(
            ["analyze", "ModuleNotFoundError: No module named 'great_expectations'", "--source", "databricks"], environment: [:], directory: folder
        )
        #expect(summary.status == 0)
        #expect(summary.stdout.contains("Root cause:   A Python module the job imports is not installed on the cluster"))
        #expect(summary.stdout.contains("Category:     dependency_or_library_failure    Error type: ModuleNotFoundError"))
        #expect(summary.stdout.contains("Evidence:     \"ModuleNotFoundError: No module named 'great_expectations'\""))

        let json = try await CommandProcess.run(["analyze", "Cluster terminated. Reason: INIT_SCRIPT_FAILURE", "--json"], environment: [:], directory: folder)
        let decoded = try JSONDecoder().decode(RootCauseAnalysis.self, from: Data(json.stdout.utf8))
        #expect(decoded.category == .configurationError)
        #expect(decoded.errorType == "INIT_SCRIPT_FAILURE")
        #expect(decoded.priority == .p2)
    }

    @Test("analyze --file reads the failures of a webhook payload")
    func file() async throws {
        let folder = try CommandLineTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try await CommandProcess.run(
            ["analyze", "--file", Fixture.url("constructed/adf-log-v1-activity-rows.json").path], environment: [:], directory: folder
        )
        #expect(result.status == 0)
        #expect(result.stdout.contains("Failure:      LoadSalesPipeline"))
        #expect(result.stdout.contains("Failure:      ExportFinance"))
        #expect(result.stdout.contains("Error type: InternalServerError"), "the Azure Function's own status, as the text names it")

        let neither = try await CommandProcess.run(["analyze"], environment: [:], directory: folder)
        #expect(neither.status == 1)
        #expect(neither.stderr == "rca-assistant: give either an error text or --file, not both or neither\n")
    }

    @Test("analyze uses the operator's rules of KNOWLEDGE_BASE_FILE, from the environment or ./.env, as the server does")
    func siteRules() async throws {
        let folder = try CommandLineTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let rules = #"{"version": 1, "rules": [{"id": "vendor-feed-late", "patterns": ["vendor feed [A-Z]{1,10} is late"], "error_type": "FEED_LATE", "category": "upstream_dependency_failed", "severity": "High", "confidence": "High", "root_cause": "The vendor's feed has not arrived", "recommendations": ["Call the vendor's support line"], "auto_heal": true}]}"#
        try Data(rules.utf8).write(to: folder.appendingPathComponent("site.json"))
        try Data("KNOWLEDGE_BASE_FILE=site.json\n".utf8).write(to: folder.appendingPathComponent(".env"))
        let result = try await CommandProcess.run(["analyze", "Timeout: vendor feed ACME is late", "--json"], environment: [:], directory: folder)
        let analysis = try JSONDecoder().decode(RootCauseAnalysis.self, from: Data(result.stdout.utf8))
        #expect(analysis.category == .upstreamDependencyFailed)
        #expect(analysis.decidedBy == "site rule vendor-feed-late")

        let broken = try await CommandProcess.run(["analyze", "x"], environment: ["KNOWLEDGE_BASE_FILE": "missing.json"], directory: folder)
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("KNOWLEDGE_BASE_FILE: cannot read missing.json"))
    }
}

@Suite("Command line: evaluate")
struct EvaluateCommandTests {
    @Test("evaluate prints accuracy and misses, and exits 2 below a required floor; a broken corpus is refused by line")
    func evaluate() async throws {
        let folder = try CommandLineTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("""
        {"source": "t", "text": "java.lang.OutOfMemoryError: Java heap space", "category": "out_of_memory", "error_type": "OutOfMemoryError"}
        {"source": "t", "text": "the weather was poor", "category": "platform_outage"}
        """.utf8).write(to: folder.appendingPathComponent("corpus.jsonl"))

        let passing = try await CommandProcess.run(["evaluate", "corpus.jsonl", "--require-category", "50"], environment: [:], directory: folder)
        #expect(passing.status == 0)
        #expect(passing.stdout.contains("Category:   1/2 = 50.0 %"))
        #expect(passing.stdout.contains("line 2: platform_outage → unknown"))

        let failing = try await CommandProcess.run(["evaluate", "corpus.jsonl", "--require-category", "90", "--json"], environment: [:], directory: folder)
        #expect(failing.status == 2)
        #expect(failing.stderr == "rca-assistant: category accuracy 50.0 % is below 90.0 %\n")
        let json = try JSONSerialization.jsonObject(with: Data(failing.stdout.utf8)) as? [String: Any]
        #expect(json?["category_correct"] as? Int == 1)

        try Data("{\"text\": \"x\", \"category\": \"timeout\"}\n{oops}\n".utf8).write(to: folder.appendingPathComponent("broken.jsonl"))
        let broken = try await CommandProcess.run(["evaluate", "broken.jsonl"], environment: [:], directory: folder)
        #expect(broken.status == 1)
        #expect(broken.stderr == "rca-assistant: broken.jsonl: line 2: not JSON\n")
    }
}
