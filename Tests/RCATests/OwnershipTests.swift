import Foundation
@testable import RCACore
import Testing

@Suite("Ownership and run references")
struct OwnershipTests {
    @Test("name patterns, tags, then the prefix rule")
    func resolution() throws {
        let map = try OwnershipMap.load(Data(#"""
            {"rules": [
              {"name": "fin?_*", "team": "Finance"},
              {"name": "*_ml_*", "tags": {"env": "prod"}, "team": "ML Platform", "cost_center": "CC-ML"}
            ]}
            """#.utf8))
        #expect(map.owner(of: "FIN1_ledger", tags: [:])?.team == "Finance")
        #expect(map.owner(of: "churn_ml_features", tags: ["ENV": "Prod"]) == Ownership(team: "ML Platform", costCenter: "CC-ML"))
        #expect(map.owner(of: "churn_ml_features", tags: ["env": "dev"])?.team == "churn", "a rule whose tags do not match is skipped")
        #expect(map.owner(of: "DataIngestionPipeline", tags: [:])?.team == "DataIngestion", "a CamelCase name's words but the last")
        #expect(map.owner(of: "ADFCopyJob", tags: [:])?.team == "ADFCopy")
        #expect(map.owner(of: "Sales2024Load", tags: [:])?.team == "Sales2024")
        #expect(map.owner(of: "nightly", tags: [:]) == nil, "a single word names no team")
        #expect(map.owner(of: "NIGHTLY", tags: [:]) == nil)
        #expect(map.owner(of: "<img src=x onerror=alert(1)>", tags: [:]) == nil, "a segment that is not a word names no team")
    }

    @Test("a file with a rule that matches nothing, or that is not JSON, is refused with the reason")
    func invalidFiles() {
        #expect(throws: OwnershipMapError.invalid("rule 1 (team Ops) has neither a name pattern nor tags")) {
            try OwnershipMap.load(Data(#"{"rules": [{"team": "Ops"}]}"#.utf8))
        }
        #expect(throws: OwnershipMapError.self) { try OwnershipMap.load(Data("rules: []".utf8)) }
    }

    @Test("glob matching", arguments: [
        ("sales_*", "SALES_daily", true), ("*_daily", "sales_daily", true), ("s?les", "sales", true),
        ("sales_*", "salesdaily", false), ("*a*b*c", "xaxbxc", true), ("*a*b*c", "xaxbx", false), ("", "", true),
    ])
    func glob(pattern: String, name: String, matches: Bool) {
        #expect(OwnershipMap.glob(pattern, matches: name) == matches)
    }

    @Test("Databricks runs named in an error text")
    func runReferences() {
        let text = """
            Run page url: https://adb-1.7.azuredatabricks.net/?o=1#job/42/run/11223344; \
            see also https://adb-1.7.azuredatabricks.net/jobs/42/runs/55667788 and {"runId": "99001122"}; job 42 run_id=11223344
            """
        #expect(RunReference.databricksRunIDs(in: text) == ["11223344", "55667788", "99001122"])
        #expect(RunReference.databricksRunIDs(in: "Error code 2200 at row 42").isEmpty)
    }
}
