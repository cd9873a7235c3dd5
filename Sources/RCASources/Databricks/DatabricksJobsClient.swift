import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RCACore

/// Finds the real error of a failed Databricks job run with the Jobs API 2.1:
/// `runs/get` for the run and its tasks, then `runs/get-output` for each
/// failed task. Every failed task is reported, each with the best text
/// available: the task output's error (and its trace), else the task's state
/// message, else the run's.
public struct DatabricksJobsClient: AlertEnricher {
    private let workspace: VendorEndpoint
    private let token: String
    private let http: VendorHTTP

    /// - Parameter workspace: the workspace URL (`https://adb-123.4.azuredatabricks.net`).
    public init(workspace: VendorEndpoint, token: String, httpClient: HTTPClient, timeout: Duration = .seconds(10)) {
        self.workspace = workspace
        self.token = token
        http = VendorHTTP(client: httpClient, timeout: timeout)
    }

    public func enrich(_ request: EnrichmentRequest) async throws(EnrichmentError) -> Enrichment? {
        guard case .databricksRun(let runID) = request else { return nil }
        return try await report(runID: runID)
    }

    static let failedStates: Set<String> = ["FAILED", "TIMEDOUT", "INTERNAL_ERROR", "CANCELED"]

    func report(runID: String) async throws(EnrichmentError) -> Enrichment {
        let run = try await get("get", runID: runID)
        let tasks = run["tasks"].array ?? []
        let failedTasks = tasks.filter { task in
            let state = task["state"]
            return Self.failedStates.contains(state["result_state"].string?.uppercased() ?? "")
                || state["life_cycle_state"].string?.uppercased() == "INTERNAL_ERROR"
        }
        var parts: [String] = []
        var traces: [String] = []
        for task in failedTasks {
            let key = task["task_key"].string ?? "task"
            var text = task["exception"]["message"].string ?? task["state"]["state_message"].string
            if let taskRunID = task["run_id"].string, let output = try await outputIfAvailable(runID: taskRunID) {
                if let error = output["error"].string { text = error }
                if let trace = output["error_trace"].string { traces.append("Trace of task \(key):\n\(trace.prefix(4000))") }
            }
            parts.append("\(TaskFailures.heading(task: key)) \(text ?? "failed without a message")")
        }
        if tasks.isEmpty, Self.failedStates.contains(run["state"]["result_state"].string?.uppercased() ?? ""),
           let output = try await outputIfAvailable(runID: runID) {
            if let error = output["error"].string { parts.append(error) }
            if let trace = output["error_trace"].string { traces.append("Trace:\n\(trace.prefix(4000))") }
        }
        if parts.isEmpty {
            let message = run["state"]["state_message"].string ?? run["status"]["termination_details"]["message"].string
            parts.append(message ?? "The run reports no failed task and no error message")
        }
        var details: [String: String] = [:]
        details["job_id"] = run["job_id"].string
        details["job_name"] = run["run_name"].string
        details["run_page_url"] = run["run_page_url"].string
        details["cluster_id"] = run["cluster_instance"]["cluster_id"].string ?? failedTasks.first?["cluster_instance"]["cluster_id"].string
        details["termination_code"] = run["status"]["termination_details"]["code"].string
        details["termination_type"] = run["status"]["termination_details"]["type"].string
        details["life_cycle_state"] = run["state"]["life_cycle_state"].string
        details["result_state"] = run["state"]["result_state"].string
        for (key, value) in Self.customTags(of: run, failedTasks: failedTasks) { details["tag.\(key)"] = value }
        if !failedTasks.isEmpty { details["failed_tasks"] = failedTasks.compactMap { $0["task_key"].string }.joined(separator: ", ") }
        let text = ([parts.joined(separator: " | ")] + traces).joined(separator: "\n\n")
        return Enrichment(errorMessage: text, runID: runID, details: details)
    }

    /// The custom tags of the clusters the run used (they name owners and
    /// cost centres); string values only, since the API documents them so.
    static func customTags(of run: JSONValue, failedTasks: [JSONValue]) -> [String: String] {
        let clusters = [run["cluster_spec"]["new_cluster"]]
            + (run["job_clusters"].array ?? []).map { $0["new_cluster"] }
            + failedTasks.map { $0["new_cluster"] }
        var tags: [String: String] = [:]
        for cluster in clusters {
            for (key, value) in cluster["custom_tags"].object ?? [:] {
                if case .string(let text) = value, !text.isEmpty { tags[key] = text }
            }
        }
        return tags
    }

    /// A task's output; a task whose output cannot be had (cleaned up,
    /// not a notebook) still has its state message, so only authentication
    /// and outages stop the enrichment.
    private func outputIfAvailable(runID: String) async throws(EnrichmentError) -> JSONValue? {
        do {
            return try await get("get-output", runID: runID)
        } catch {
            switch error {
            case .notFound, .invalidResponse, .refused: return nil
            default: throw error
            }
        }
    }

    /// Run ids come from the alert and from the API's own answers; either
    /// must be a Databricks id before it becomes part of a request.
    private func get(_ endpoint: String, runID: String) async throws(EnrichmentError) -> JSONValue {
        guard Identifiers.isDatabricksID(runID) else { throw .refused("run id \(runID.prefix(40)) is not a Databricks id") }
        let url: String
        do {
            url = try workspace.url(["api", "2.1", "jobs", "runs", endpoint], query: [("run_id", runID)])
        } catch {
            throw .refused(error.description)
        }
        let data = try await http.send(.GET, url, headers: [("Authorization", "Bearer \(token)"), ("Accept", "application/json")])
        do {
            return try JSONValue.parse(data)
        } catch {
            throw .invalidResponse("runs/\(endpoint) answered \(error.description)")
        }
    }
}
