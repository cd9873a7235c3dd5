import Foundation
import RCACore

/// `/azure-monitor-alert`: Azure Monitor log search alerts over the
/// `DatabricksClusters` table. Each result row whose termination code means
/// failure becomes a ticket with run id `{ClusterId}_{TerminationCode}_{yyyyMMddHHmmss}`,
/// so a rule that fires every few minutes over the same termination reopens nothing.
public struct DatabricksClusterAlertParser: AlertPayloadParser {
    public let endpoint = "/azure-monitor-alert"
    public let senders = "Azure Monitor log search alerts over DatabricksClusters (cluster terminations)"

    public init() {}

    public func parse(_ json: JSONValue, receivedAt: Date) throws(PayloadError) -> ParsedPayload {
        let essentials = try AlertEssentials.of(json)
        let context = json["data"]["alertContext"].decodingEmbeddedJSON
        var rows = LogSearchResults.rows(in: context)
        let dimensions = LogSearchResults.dimensions(in: context)
        if rows.isEmpty, dimensions.firstValue("ClusterId") != nil {
            rows = [dimensions.mapValues { JSONValue.string($0) }]
        }
        guard !rows.isEmpty else {
            var event = GenericAzureAlert.event(essentials: essentials, context: context, receivedAt: receivedAt, fallbackKey: json.jsonText)
            event.source = .databricks
            event.errorMessage += ". The alert carries no result rows: turn on \"Include search results\" (or split by ClusterId and TerminationCode) to get one ticket per cluster"
            return .alerts([event])
        }
        let clusterRows = rows.map { ClusterRow($0) }
        let failures = clusterRows.filter { row in row.clusterID != nil && !(row.terminationCode.map(DatabricksTermination.isExpected) ?? false) }
        guard !failures.isEmpty else {
            return .ignored("none of the \(rows.count) cluster row(s) has a termination code that means failure")
        }
        return .alerts(failures.map { $0.event(essentials: essentials, receivedAt: receivedAt) })
    }
}

/// One row of a `DatabricksClusters` query: the columns the seed's query
/// projects, or the raw table's `RequestParams` JSON.
struct ClusterRow {
    let clusterID: String?
    let clusterName: String?
    let terminationCode: String?
    let state: String?
    let lastEvent: String?
    let extra: [String: String]

    init(_ row: [String: JSONValue]) {
        let requestParams = row.column("RequestParams").decodingEmbeddedJSON
        let response = row.column("Response").decodingEmbeddedJSON
        clusterID = row.column("ClusterId").string ?? requestParams["cluster_id"].string ?? requestParams["clusterId"].string
        clusterName = row.column("ClusterName").string ?? requestParams["cluster_name"].string ?? requestParams["clusterName"].string
        terminationCode = row.column("TerminationCode").string
            ?? requestParams["termination_reason"]["code"].string ?? requestParams["terminationReason"]["code"].string
            ?? row.column("Reason").string
        state = row.column("State").string ?? requestParams["state"].string
        lastEvent = row.column("LastEvent").string ?? row.column("TimeGenerated").string ?? row.column("Timestamp").string
        var extra: [String: String] = [:]
        extra["action_name"] = row.column("ActionName").string
        extra["termination_type"] = requestParams["termination_reason"]["type"].string
        extra["error"] = response["errorMessage"].string ?? row.column("ErrorMessage").string
        self.extra = extra
    }

    func event(essentials: AlertEssentials, receivedAt: Date) -> AlertEvent {
        let clusterID = clusterID ?? "unknown-cluster"
        let code = terminationCode ?? "UNKNOWN"
        let when = lastEvent.flatMap(AzureTime.date) ?? essentials.firedAt ?? receivedAt
        let runID = "\(clusterID)_\(code)_\(Self.compact(when))"
        let name = clusterName ?? clusterID
        var lines = [
            "Databricks cluster failure detected via Azure Monitor alert",
            "Cluster Name: \(name)",
            "Cluster ID: \(clusterID)",
            "Termination Code: \(code)",
        ]
        if let state { lines.append("State: \(state)") }
        if let lastEvent { lines.append("Last Event: \(lastEvent)") }
        if let error = extra["error"] { lines.append("Error: \(error)") }
        lines.append("The cluster terminated with code \(code), which indicates a failure.")
        var details = essentials.details
        details["cluster_id"] = clusterID
        details["termination_code"] = code
        details["state"] = state
        for (key, value) in extra { details[key] = value }
        return AlertEvent(
            source: .databricks,
            dedupKey: "databricks-cluster:\(runID)",
            status: essentials.status,
            resource: name,
            runID: runID,
            errorMessage: lines.joined(separator: "\n"),
            severity: essentials.severity,
            occurredAt: when,
            processingMode: "azure_monitor_alert",
            details: details
        )
    }

    /// `yyyyMMddHHmmss` in UTC, as the prototype builds cluster run ids.
    static func compact(_ date: Date) -> String {
        String(Timestamp.string(from: date).prefix(19).filter(\.isNumber))
    }
}
