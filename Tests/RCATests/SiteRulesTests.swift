import Foundation
import RCAAnalysis
import RCACore
import RCAServer
import RCATesting
import Testing

@Suite("Site rules (KNOWLEDGE_BASE_FILE)")
struct SiteRulesTests {
    static func file(_ json: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("site-rules-\(UUID().uuidString).json")
        try Data(json.utf8).write(to: url)
        return url.path
    }

    static func rule(id: String, pattern: String, category: String, rootCause: String) -> String {
        #"{"id": "\#(id)", "patterns": ["\#(pattern)"], "error_type": "NIGHTLY_EXPORT_LATE", "category": "\#(category)", "severity": "Critical", "confidence": "High", "root_cause": "\#(rootCause)", "recommendations": ["Page the finance data on-call"], "auto_heal": false}"#
    }

    static let lateExport = rule(
        id: "finance-export-late", pattern: "finance_export_v[0-9]{1,3} has not landed", category: "upstream_dependency_failed",
        rootCause: "The finance system's nightly export has not landed yet"
    )

    @Test("an operator's rule decides over the catalog and the vocabulary, and the audit names it")
    func precedence() async throws {
        let site = try KnowledgeBase.site(file: try Self.file(#"{"version": 1, "rules": [\#(Self.lateExport)]}"#))
        let engine = try RulesEngine(siteRules: site)
        let text = "java.io.FileNotFoundException: abfss://raw@lake.dfs.core.windows.net/finance/2026-12-06.csv: finance_export_v2 has not landed"
        let analysis = engine.analyzeNow(AnalysisInput(source: .databricks, errorText: text, resource: "finance_daily"))
        #expect(analysis.category == .upstreamDependencyFailed)
        #expect(analysis.rootCause == "The finance system's nightly export has not landed yet")
        #expect(analysis.severity == .critical && analysis.confidence == .high)
        #expect(analysis.decidedBy == "site rule finance-export-late")
        #expect(analysis.recommendations == ["Page the finance data on-call"])

        let path = try Self.file(#"{"version": 1, "rules": [\#(Self.lateExport)]}"#)
        let settings = try ServerConfiguration(environment: ["KNOWLEDGE_BASE_FILE": path]).analysis
        let served = try await TestDatabase.with(.sqlite) { database, _ in
            try await makeAnalyzer(settings, database: database).analyze(AnalysisInput(source: .databricks, errorText: text, resource: "finance_daily"))
        }
        #expect(served.decidedBy == "site rule finance-export-late", "the server's engine reads the same file")

        let without = try RulesEngine().analyzeNow(AnalysisInput(source: .databricks, errorText: text, resource: "finance_daily"))
        #expect(without.category == .missingInputData, "the same text without the site rule")
    }

    @Test("a site rule with a built-in rule's id replaces it")
    func replacement() throws {
        let replacing = Self.rule(id: "spark-oom", pattern: "Java heap space", category: "code_error", rootCause: "Our jobs run out of heap only when the dedup step is skipped")
        let engine = try RulesEngine(siteRules: try KnowledgeBase.site(file: try Self.file(#"{"version": 1, "rules": [\#(replacing)]}"#)))
        let analysis = engine.analyzeNow(AnalysisInput(source: .databricks, errorText: "java.lang.OutOfMemoryError: Java heap space", resource: "r"))
        #expect(analysis.rootCause == "Our jobs run out of heap only when the dedup step is skipped")
        #expect(analysis.decidedBy == "site rule spark-oom")
    }

    @Test("a bad rules file stops the start with the variable, the file and what is wrong", arguments: [
        ("not json", "is not JSON"),
        (#"{"version": 1, "rules": [{"id": "x"}]}"#, "rules[0] has no \"patterns\""),
        (#"{"version": 1, "rules": [\#(lateExport), \#(lateExport)]}"#, "rule id finance-export-late appears twice"),
        (#"{"version": 1, "rules": [\#(rule(id: "slow", pattern: "(a+)+b", category: "timeout", rootCause: "x"))]}"#, "rule slow:"),
        (#"{"version": 1, "rules": [\#(rule(id: "odd", pattern: "x", category: "weather", rootCause: "x"))]}"#, "rules[0].category"),
    ])
    func refusals(json: String, expected: String) throws {
        let path = try Self.file(json)
        let error = #expect(throws: ConfigurationError.self) {
            _ = try AnalysisSettings.siteRules(file: path)
        }
        #expect(error?.variable == "KNOWLEDGE_BASE_FILE")
        #expect(error?.problem.contains(expected) == true, "\(error?.problem ?? "")")
        #expect(throws: ConfigurationError.self) { _ = try AnalysisSettings.siteRules(file: "/nonexistent/rules.json") }
        #expect(try AnalysisSettings.siteRules(file: nil) == nil)
    }
}
