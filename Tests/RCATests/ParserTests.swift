import Foundation
import RCACore
import RCASources
import Testing

@Suite("Alert parsers")
struct ParserTests {
    static let receivedAt = Date(timeIntervalSince1970: 1_764_396_000)

    static func events(_ parser: some AlertPayloadParser, _ fixture: String) throws -> [AlertEvent] {
        guard case .alerts(let events) = try parser.parse(body: try Fixture.data(fixture), receivedAt: receivedAt) else {
            Issue.record("\(fixture) opened no ticket")
            return []
        }
        return events
    }

    @Test("ADF Log Alerts V2 with the seed's dimensions: pipeline, run id, error text, activity and code")
    func adfLogV2() throws {
        let events = try Self.events(AzureMonitorParser(), "constructed/adf-log-v2-dimensions.json")
        let event = try #require(events.first)
        #expect(events.count == 1)
        #expect(event.source == .adf)
        #expect(event.resource == "DataIngestionPipeline")
        #expect(event.runID == "6cd1f2b8-7b0a-4d2f-9a53-3f1e2f0b9c11")
        #expect(event.dedupKey == "adf:run:6cd1f2b8-7b0a-4d2f-9a53-3f1e2f0b9c11")
        #expect(event.errorMessage.contains("UserErrorSourceBlobNotExists"))
        #expect(event.details["activity_name"] == "CopySalesFromBlob")
        #expect(event.details["error_code"] == "2200")
        #expect(event.severity == .high)
        #expect(event.status == .firing)
    }

    @Test("a Resolved notification of the same rule is a clear with the same dedup key")
    func adfResolved() throws {
        let fired = try #require(try Self.events(AzureMonitorParser(), "constructed/adf-log-v2-dimensions.json").first)
        let resolved = try #require(try Self.events(AzureMonitorParser(), "constructed/adf-log-v2-dimensions-resolved.json").first)
        #expect(resolved.status == .resolved)
        #expect(resolved.dedupKey == fired.dedupKey)
    }

    @Test("ADF Log Alerts V1 rows: one event per failed run row, succeeded rows skipped, numeric codes read as text")
    func adfLogV1Rows() throws {
        let events = try Self.events(AzureMonitorParser(), "constructed/adf-log-v1-activity-rows.json")
        #expect(events.map(\.resource) == ["LoadSalesPipeline", "ExportFinance"])
        #expect(events.map(\.runID) == ["a1b2c3d4-0000-4000-8000-000000000001", "a1b2c3d4-0000-4000-8000-000000000003"])
        #expect(events[0].details["error_code"] == "3204")
        #expect(events[0].details["activity_name"] == "RunNotebook")
        #expect(events[0].details["factory"] == "SALES-ADF")
        #expect(events[1].errorMessage.hasPrefix("Call to provided Azure function 'score' failed"))
        #expect(events.allSatisfy { $0.source == .adf && $0.processingMode == "azure_monitor_log_alert" })
    }

    @Test("ADF metric alert: pipeline from the Name dimension, no run id, a window for enrichment")
    func adfMetric() throws {
        let event = try #require(try Self.events(AzureMonitorParser(), "constructed/adf-metric-pipeline-failed-runs.json").first)
        #expect(event.source == .adf)
        #expect(event.resource == "DailySalesLoad")
        #expect(event.runID == nil)
        #expect(event.details["factory"] == "sales-adf")
        #expect(event.details["failure_type"] == "UserError")
        #expect(event.errorMessage.contains("PipelineFailedRuns = 1 for pipeline DailySalesLoad in data factory sales-adf (GreaterThan 0 over PT5M)"))
        guard case .dataFactoryPipeline(let name, let factory, let start, let end) = event.enrichment else {
            Issue.record("no Data Factory enrichment requested")
            return
        }
        #expect(name == "DailySalesLoad")
        #expect(factory == "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourcegroups/data-rg/providers/microsoft.datafactory/factories/sales-adf")
        #expect(start < end)
    }

    @Test("every Azure Monitor sample becomes a ticket about its resource, with text from its alert context", arguments: [
        ("azure-monitor/activitylog-administrative.json", "test-VM", "operation Microsoft.Compute/virtualMachines/restart/action"),
        ("azure-monitor/availability-test.json", "test-applicationInsights", "FailedLocation GreaterThan 2 (value 5)"),
        ("azure-monitor/budget.json", "budgets", "budget Test_forcasted_budget"),
        ("azure-monitor/cost-budget-actual.json", "budgets", "budgets alert"),
        ("azure-monitor/forecasted-budget.json", "budgets", "budgets alert"),
        ("azure-monitor/log-v1-metric-measurement.json", "test-logAnalyticsWorkspace", "log search returned"),
        ("azure-monitor/log-v1-number-of-results.json", "test-computer", "log search returned 1 result(s) for query Heartbeat"),
        ("azure-monitor/log-v2.json", "test-computer", "query Heartbeat GreaterThan 0 (value 3) [Computer=test-computer]"),
        ("azure-monitor/metric-dynamic-threshold.json", "test-storageAccount", "Transactions GreaterThan 0.3 (value 78.09)"),
        ("azure-monitor/metric-static-threshold.json", "test-storageAccount", "ApiName=GetBlob"),
        ("azure-monitor/resource-health.json", "test-VM", "Rebooted by user"),
        ("azure-monitor/service-health.json", "AzureServiceName", "ThisisatestfromServiceHealthAlert"),
        ("azure-monitor/smart-detection.json", "test-applicationInsights", "Dependency Performance Degradation Detector"),
        ("azure-monitor/common-schema-metric-static-resolved.json", "wcus-r2-gen2", "Percentage CPU GreaterThan 25 (value 7.727)"),
    ])
    func azureMonitorSamples(fixture: String, resource: String, text: String) throws {
        let events = try Self.events(AzureMonitorParser(), fixture)
        let event = try #require(events.first)
        #expect(events.count == 1)
        #expect(event.source == .azureMonitor)
        #expect(event.resource == resource)
        #expect(event.errorMessage.contains(text), "\(event.errorMessage)")
        #expect(event.dedupKey.hasPrefix("azure-monitor:/subscriptions/"))
    }

    @Test("the resolved metric sample is a clear; custom properties are kept")
    func resolvedAndCustomProperties() throws {
        #expect(try Self.events(AzureMonitorParser(), "azure-monitor/common-schema-metric-static-resolved.json").first?.status == .resolved)
        let event = try #require(try Self.events(AzureMonitorParser(), "azure-monitor/metric-static-threshold.json").first)
        #expect(event.details["custom.customKey1"] == "value1")
        #expect(event.severity == .low)
    }

    @Test("Databricks job failure notification: job name and run id, no error text, enrichment by run id")
    func databricksJobFailure() throws {
        let event = try #require(try Self.events(DatabricksWebhookParser(), "databricks/webhook-jobs.on_failure.job-run.json").first)
        #expect(event.source == .databricks)
        #expect(event.resource == "job_name")
        #expect(event.runID == "run_id")
        #expect(event.dedupKey == "databricks:run:run_id")
        #expect(event.details["workspace_id"] == "your_workspace_id")
        #expect(event.enrichment == .databricksRun(runID: "run_id"))
    }

    @Test("Databricks start notification is recorded without a ticket")
    func databricksStart() throws {
        let outcome = try DatabricksWebhookParser().parse(body: try Fixture.data("databricks/webhook-jobs.on_start.task-run.json"), receivedAt: Self.receivedAt)
        #expect(outcome == .ignored("jobs.on_start notification recorded; only jobs.on_failure opens a ticket"))
    }

    @Test("a task-level failure is keyed by its job run, with numeric ids read as text")
    func databricksTaskFailure() throws {
        let body = Data(#"{"event_type":"jobs.on_failure","workspace_id":1234567890123456,"task":{"task_key":"validate"},"run":{"run_id":998877,"parent_run_id":554433},"job":{"job_id":42,"name":"nightly_etl"}}"#.utf8)
        guard case .alerts(let events) = try DatabricksWebhookParser().parse(body: body, receivedAt: Self.receivedAt), let event = events.first else {
            Issue.record("no event")
            return
        }
        #expect(event.runID == "554433")
        #expect(event.dedupKey == "databricks:run:554433")
        #expect(event.details["task_run_id"] == "998877")
        #expect(event.details["task_key"] == "validate")
        #expect(event.details["workspace_id"] == "1234567890123456")
    }

    @Test("the prototype's own Databricks shapes: job.run.failed, cluster and library events")
    func databricksLegacyShapes() throws {
        let parser = DatabricksWebhookParser()
        let job = Data(#"{"event":"job.run.failed","job":{"settings":{"name":"ETL_Job"}},"run":{"run_id":12345,"state":{"life_cycle_state":"TERMINATED","result_state":"FAILED","state_message":"Task failed with exception"}}}"#.utf8)
        guard case .alerts(let jobEvents) = try parser.parse(body: job, receivedAt: Self.receivedAt) else { Issue.record("job"); return }
        #expect(jobEvents.first?.resource == "ETL_Job")
        #expect(jobEvents.first?.runID == "12345")
        #expect(jobEvents.first?.errorMessage == "Task failed with exception")

        let cluster = Data(#"{"event":"cluster.terminated","timestamp":"2026-11-29T04:18:48Z","cluster":{"cluster_id":"1121-055905-q5xcz4bm","cluster_name":"Production Cluster","termination_reason":{"code":"CLOUD_PROVIDER_LAUNCH_FAILURE","type":"CLOUD_FAILURE","parameters":{"azure_error_code":"OperationNotAllowed"}}}}"#.utf8)
        guard case .alerts(let clusterEvents) = try parser.parse(body: cluster, receivedAt: Self.receivedAt) else { Issue.record("cluster"); return }
        #expect(clusterEvents.first?.resource == "Production Cluster")
        #expect(clusterEvents.first?.errorMessage.contains("CLOUD_PROVIDER_LAUNCH_FAILURE (CLOUD_FAILURE); azure_error_code=OperationNotAllowed") == true)

        let idle = Data(#"{"event":"cluster.terminated","cluster":{"cluster_id":"c1","termination_reason":{"code":"INACTIVITY"}}}"#.utf8)
        #expect(try parser.parse(body: idle, receivedAt: Self.receivedAt) == .ignored("cluster.terminated with termination code INACTIVITY recorded; it is not a failure"))

        let library = Data(#"{"event":"library.installation.failed","cluster":{"cluster_id":"c2"},"library":{"pypi":{"package":"pandas==9.9"}},"error_message":"No matching distribution found for pandas==9.9"}"#.utf8)
        guard case .alerts(let libraryEvents) = try parser.parse(body: library, receivedAt: Self.receivedAt) else { Issue.record("library"); return }
        #expect(libraryEvents.first?.errorMessage.contains("No matching distribution found for pandas==9.9") == true)

        let success = Data(#"{"event":"job.run.succeeded","run":{"run_id":1,"state":{"result_state":"SUCCESS"}}}"#.utf8)
        #expect(try parser.parse(body: success, receivedAt: Self.receivedAt) == .ignored("job.run.succeeded event recorded; it reports no failure"))
    }

    @Test("cluster log alert: one ticket per failed row with the prototype's run id; idle terminations skipped")
    func clusterRows() throws {
        let events = try Self.events(DatabricksClusterAlertParser(), "constructed/databricks-clusters-log-alert.json")
        #expect(events.map(\.runID) == [
            "1121-055905-q5xcz4bm_CLOUD_PROVIDER_LAUNCH_FAILURE_20261129041848",
            "1121-061500-zz99yy88_DRIVER_UNREACHABLE_20261129042531",
        ])
        #expect(events.map(\.resource) == ["Production Cluster", "Nightly ETL"])
        #expect(events[0].errorMessage.contains("Termination Code: CLOUD_PROVIDER_LAUNCH_FAILURE"))
        #expect(events.allSatisfy { $0.source == .databricks })
    }

    @Test("Alertmanager v4: one event per alert keyed by fingerprint and start, severity from labels, resolved alerts clear")
    func alertmanager() throws {
        let events = try Self.events(AlertmanagerParser(), "constructed/alertmanager-two-firing.json")
        #expect(events.count == 2)
        #expect(events[0].dedupKey == "alertmanager:4f0a9c1e2b3d5a67:2026-11-29T06:00:05.123Z")
        #expect(events[0].resource == "airflow")
        #expect(events[0].severity == .critical)
        #expect(events[0].errorMessage.hasPrefix("DAG daily_sales failed: Task load_sales failed after 3 retries"))
        let resolved = try Self.events(AlertmanagerParser(), "constructed/alertmanager-one-resolved.json")
        #expect(resolved.map(\.status) == [.resolved])
        #expect(resolved.first?.dedupKey == events[0].dedupKey)
        #expect(try Self.events(AlertmanagerParser(), "alertmanager/webhook-v4-format.docs-fixed.json").count == 1)
    }

    @Test("generic shape: fields mapped, several items at once, and each problem named")
    func generic() throws {
        let body = Data(#"[{"source":"airflow","resource":"daily_sales","run_id":"r1","error_message":"boom","severity":"critical","occurred_at":"2026-11-29T06:00:00Z"},{"resource":"x","error_message":"y"}]"#.utf8)
        guard case .alerts(let events) = try GenericWebhookParser().parse(body: body, receivedAt: Self.receivedAt) else { Issue.record("no alerts"); return }
        #expect(events.map(\.dedupKey).first == "generic:airflow:daily_sales:r1")
        #expect(events.first?.severity == .critical)
        #expect(events.count == 2)

        #expect(throws: PayloadError.unrecognized("missing or empty field(s): resource, error_message; required are resource and error_message (strings)")) {
            try GenericWebhookParser().parse(body: Data(#"{"source":"x"}"#.utf8), receivedAt: Self.receivedAt)
        }
        #expect(throws: PayloadError.unrecognized(#"severity "urgent-ish" is not one of Critical, High, Medium, Low"#)) {
            try GenericWebhookParser().parse(body: Data(#"{"resource":"r","error_message":"e","severity":"urgent-ish"}"#.utf8), receivedAt: Self.receivedAt)
        }
    }

    @Test("malformed, empty, too deep and wrongly shaped bodies are refused with a reason", arguments: SourceRegistry.parsers.map(\.endpoint))
    func refusals(endpoint: String) throws {
        let parser = try #require(SourceRegistry.parsers.first { $0.endpoint == endpoint })
        #expect(throws: PayloadError.notJSON(.empty)) { try parser.parse(body: Data("  ".utf8), receivedAt: Self.receivedAt) }
        #expect(throws: PayloadError.notJSON(.tooDeep(limit: 64))) {
            try parser.parse(body: Data((String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)).utf8), receivedAt: Self.receivedAt)
        }
        #expect { try parser.parse(body: Data(#"{"data": {"essentials": "#.utf8), receivedAt: Self.receivedAt) } throws: { error in
            if case .notJSON(.malformed) = error as? PayloadError { return true }
            return false
        }
        for wrong in [#"{"hello":"world"}"#, "42", #""text""#, "null", #"{"data":{"essentials":[1,2]}}"#, #"{"alerts":"none","version":4}"#] {
            #expect(throws: PayloadError.self) { try parser.parse(body: Data(wrong.utf8), receivedAt: Self.receivedAt) }
        }
    }
}
