import Foundation
import RCACore

/// `/databricks-monitor`: Databricks job notifications (`event_type`
/// `jobs.on_failure`, job or task level), and the prototype's own shapes
/// (`"event": "job.run.failed"`, cluster and library events).
public struct DatabricksWebhookParser: AlertPayloadParser {
    public let endpoint = "/databricks-monitor"
    public let senders = "Databricks job notification destinations (HTTP webhook), and job, cluster and library events"

    public init() {}

    public func parse(_ json: JSONValue, receivedAt: Date) throws(PayloadError) -> ParsedPayload {
        if let eventType = json["event_type"].string {
            return notification(eventType: eventType, json)
        }
        if let event = json["event"].string ?? json["eventType"].string {
            return try legacyEvent(event, json)
        }
        throw .unrecognized(
            "expected a Databricks job notification with event_type (such as jobs.on_failure) and run.run_id, or an event such as job.run.failed"
        )
    }

    /// Databricks' own notification: it names the run but carries no error.
    private func notification(eventType: String, _ json: JSONValue) -> ParsedPayload {
        guard eventType.lowercased() == "jobs.on_failure" else {
            return .ignored("\(eventType) notification recorded; only jobs.on_failure opens a ticket")
        }
        let taskRunID = json["run"]["run_id"].string
        let jobRunID = json["run"]["parent_run_id"].string ?? taskRunID
        let jobName = json["job"]["name"].string ?? json["job"]["job_id"].string.map { "job \($0)" } ?? "Databricks job"
        let taskKey = json["task"]["task_key"].string
        var details: [String: String] = [:]
        details["job_id"] = json["job"]["job_id"].string
        details["workspace_id"] = json["workspace_id"].string
        details["task_key"] = taskKey
        if json["run"]["parent_run_id"].string != nil { details["task_run_id"] = taskRunID }
        details["event_type"] = eventType
        var text = "Databricks job \(jobName)"
        if let jobRunID { text += " run \(jobRunID)" }
        if let taskKey { text += " (task \(taskKey))" }
        text += " failed; the notification carries no error text"
        return .alerts([
            AlertEvent(
                source: .databricks,
                dedupKey: "databricks:run:\(jobRunID ?? Text.digest([json.jsonText]))",
                resource: jobName,
                runID: jobRunID,
                errorMessage: text,
                processingMode: "direct_webhook",
                details: details,
                enrichment: jobRunID.map { .databricksRun(runID: $0) }
            )
        ])
    }

    private func legacyEvent(_ event: String, _ json: JSONValue) throws(PayloadError) -> ParsedPayload {
        let lowered = event.lowercased()
        if lowered.hasPrefix("cluster") { return clusterEvent(event, json) }
        if lowered.hasPrefix("library") { return libraryEvent(event, json) }
        return jobEvent(event, json)
    }

    private static let failedResultStates: Set<String> = ["failed", "timedout", "internal_error", "canceled", "maximum_concurrent_runs_reached"]

    private func jobEvent(_ event: String, _ json: JSONValue) -> ParsedPayload {
        let state = json["run"]["state"]
        let resultState = state["result_state"].string
        let failed = event.lowercased().contains("fail") || event.lowercased().contains("error") || event.lowercased().contains("timedout")
            || Self.failedResultStates.contains(resultState?.lowercased() ?? "")
        guard failed else { return .ignored("\(event) event recorded; it reports no failure") }
        let runID = json["run"]["run_id"].string
        let jobName = json["job"]["settings"]["name"].string ?? json["job"]["name"].string ?? json["run"]["run_name"].string
            ?? json["job"]["job_id"].string.map { "job \($0)" } ?? "Databricks job"
        var details: [String: String] = [:]
        details["event"] = event
        details["job_id"] = json["job"]["job_id"].string ?? json["run"]["job_id"].string
        details["life_cycle_state"] = state["life_cycle_state"].string
        details["result_state"] = resultState
        details["run_page_url"] = json["run"]["run_page_url"].string
        let message = state["state_message"].string ?? json["error_message"].string ?? "Databricks job \(jobName) failed (\(event))"
        return .alerts([
            AlertEvent(
                source: .databricks,
                dedupKey: "databricks:run:\(runID ?? Text.digest([json.jsonText]))",
                resource: jobName,
                runID: runID,
                errorMessage: message,
                processingMode: "direct_webhook",
                details: details,
                enrichment: runID.map { .databricksRun(runID: $0) }
            )
        ])
    }

    private func clusterEvent(_ event: String, _ json: JSONValue) -> ParsedPayload {
        let cluster = json["cluster"]
        let reason = cluster["termination_reason"]
        let code = reason["code"].string ?? json["termination_code"].string
        if let code, DatabricksTermination.isExpected(code) {
            return .ignored("\(event) with termination code \(code) recorded; it is not a failure")
        }
        guard code != nil || event.lowercased().contains("fail") || event.lowercased().contains("error") else {
            return .ignored("\(event) event recorded; it reports no failure")
        }
        let clusterID = cluster["cluster_id"].string ?? json["cluster_id"].string ?? "unknown-cluster"
        let name = cluster["cluster_name"].string ?? clusterID
        var details: [String: String] = ["event": event, "cluster_id": clusterID]
        details["termination_code"] = code
        details["termination_type"] = reason["type"].string
        let parameters = reason["parameters"].object?.compactMapValues(\.string).sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        var text = "Databricks cluster \(name) (\(clusterID)): \(event)"
        if let code { text += " with termination code \(code)" }
        if let type = reason["type"].string { text += " (\(type))" }
        if let parameters, !parameters.isEmpty { text += "; \(parameters)" }
        if let message = cluster["state_message"].string ?? json["error_message"].string { text += ". \(message)" }
        let when = json["timestamp"].string ?? cluster["terminated_time"].string ?? ""
        return .alerts([
            AlertEvent(
                source: .databricks,
                dedupKey: "databricks-cluster:\(clusterID):\(code ?? event):\(when.isEmpty ? Text.digest([json.jsonText]) : when)",
                resource: name,
                runID: clusterID,
                errorMessage: text,
                processingMode: "direct_webhook",
                details: details
            )
        ])
    }

    private func libraryEvent(_ event: String, _ json: JSONValue) -> ParsedPayload {
        guard event.lowercased().contains("fail") || event.lowercased().contains("error") else {
            return .ignored("\(event) event recorded; it reports no failure")
        }
        let clusterID = json["cluster"]["cluster_id"].string ?? json["cluster_id"].string ?? "unknown-cluster"
        let library = json["library"]
        let libraryName = library.object.map { _ in library.jsonText } ?? library.string ?? "a library"
        let message = json["error_message"].string ?? json["library"]["messages"].array?.compactMap(\.string).joined(separator: "; ")
        let text = "Library installation failed on cluster \(clusterID) for \(libraryName)" + (message.map { ": \($0)" } ?? "")
        return .alerts([
            AlertEvent(
                source: .databricks,
                dedupKey: "databricks-library:\(clusterID):\(Text.digest([libraryName]))",
                resource: json["cluster"]["cluster_name"].string ?? clusterID,
                runID: clusterID,
                errorMessage: text,
                processingMode: "direct_webhook",
                details: ["event": event, "cluster_id": clusterID, "library": libraryName]
            )
        ])
    }
}

/// Cluster termination codes that mean the cluster stopped as intended.
enum DatabricksTermination {
    static let expectedCodes: Set<String> = ["USER_REQUEST", "JOB_FINISHED", "INACTIVITY", "SUCCESS"]

    static func isExpected(_ code: String) -> Bool {
        expectedCodes.contains(code.uppercased())
    }
}
