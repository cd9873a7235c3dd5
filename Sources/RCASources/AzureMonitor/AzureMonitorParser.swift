import Foundation
import RCACore

/// `/azure-monitor`: Azure Monitor action groups using the common alert
/// schema. Azure Data Factory failures are recognized in metric alerts,
/// Log Alerts V2 dimensions and Log Alerts V1 result rows; every other alert
/// type becomes a ticket about its resource with the alert's own facts as text.
public struct AzureMonitorParser: AlertPayloadParser {
    public let endpoint = "/azure-monitor"
    public let senders = "Azure Monitor action groups (common alert schema): Data Factory and any other alert"

    public init() {}

    public func parse(_ json: JSONValue, receivedAt: Date) throws(PayloadError) -> ParsedPayload {
        let essentials = try AlertEssentials.of(json)
        let context = json["data"]["alertContext"].decodingEmbeddedJSON
        let customProperties = json["data"]["customProperties"].object ?? [:]
        var events = DataFactoryAlerts.events(essentials: essentials, context: context, receivedAt: receivedAt)
        if events.isEmpty {
            events = [GenericAzureAlert.event(essentials: essentials, context: context, receivedAt: receivedAt, fallbackKey: json.jsonText)]
        }
        let custom = customProperties.compactMapValues(\.string)
        return .alerts(events.map { event in
            var event = event
            for (key, value) in custom { event.details["custom.\(key)"] = value }
            return event
        })
    }
}

/// Recognizes Azure Data Factory failures in Azure Monitor alerts.
enum DataFactoryAlerts {
    static let failureMetrics: Set<String> = ["pipelinefailedruns", "activityfailedruns"]

    static func events(essentials: AlertEssentials, context: JSONValue, receivedAt: Date) -> [AlertEvent] {
        let rows = LogSearchResults.rows(in: context)
        if !rows.isEmpty {
            let runs = rows.compactMap { failedRun(row: $0, essentials: essentials) }
            if !runs.isEmpty || rows.contains(where: isDataFactoryRow) { return runs }
        }
        let dimensions = LogSearchResults.dimensions(in: context)
        if dimensions.firstValue("PipelineRunId", "RunId", "PipelineName") != nil, !isMetricAlert(context) {
            return [logDimensionsEvent(dimensions, essentials: essentials, context: context)]
        }
        if let metric = failureMetric(in: context) {
            return [metricEvent(metric, dimensions: dimensions, essentials: essentials, context: context, receivedAt: receivedAt)]
        }
        return []
    }

    private static func isMetricAlert(_ context: JSONValue) -> Bool {
        failureMetric(in: context) != nil
    }

    private static func failureMetric(in context: JSONValue) -> JSONValue? {
        (context["condition"]["allOf"].array ?? []).first { criterion in
            failureMetrics.contains(criterion["metricName"].string?.lowercased() ?? "")
        }
    }

    private static func isDataFactoryRow(_ row: [String: JSONValue]) -> Bool {
        row.column("PipelineName").string != nil && (row.column("RunId").string != nil || row.column("PipelineRunId").string != nil)
    }

    /// One `ADFPipelineRun` or `ADFActivityRun` row, when it records a failure.
    private static func failedRun(row: [String: JSONValue], essentials: AlertEssentials) -> AlertEvent? {
        guard isDataFactoryRow(row) else { return nil }
        if let status = row.column("Status").string, !["failed", "failure", "timedout", "cancelled"].contains(status.lowercased()) {
            return nil
        }
        let pipeline = row.column("PipelineName").string ?? "unknown pipeline"
        let runID = row.column("PipelineRunId").string ?? row.column("RunId").string ?? ""
        var details = essentials.details
        details["activity_name"] = row.column("ActivityName").string
        details["activity_type"] = row.column("ActivityType").string
        details["activity_run_id"] = row.column("ActivityRunId").string
        details["error_code"] = row.column("ErrorCode").string
        details["failure_type"] = row.column("FailureType").string
        details["status"] = row.column("Status").string
        details["factory"] = row.column("ResourceId").string.flatMap { Text.segment("factories", inResourceID: $0) }
        let message = row.column("ErrorMessage").string ?? row.column("Error").decodingEmbeddedJSON["message"].string
        return AlertEvent(
            source: .adf,
            dedupKey: "adf:run:\(runID)",
            status: essentials.status,
            resource: pipeline,
            runID: runID,
            errorMessage: message ?? "Pipeline \(pipeline) run \(runID) failed; the alert row carries no error message",
            severity: essentials.severity,
            occurredAt: row.column("End").string.flatMap(AzureTime.date) ?? row.column("TimeGenerated").string.flatMap(AzureTime.date),
            processingMode: "azure_monitor_log_alert",
            details: details
        )
    }

    /// A Log Alerts V2 rule over `ADFPipelineRun`/`ADFActivityRun` that splits
    /// by the seed's dimensions (`PipelineName`, `PipelineRunId`, `ErrorMessage`…).
    private static func logDimensionsEvent(_ dimensions: [String: String], essentials: AlertEssentials, context: JSONValue) -> AlertEvent {
        let pipeline = dimensions.firstValue("PipelineName") ?? essentials.alertRule ?? "unknown pipeline"
        let runID = dimensions.firstValue("PipelineRunId", "RunId")
        var details = essentials.details
        details["activity_name"] = dimensions.firstValue("ActivityName")
        details["error_code"] = dimensions.firstValue("ErrorCode")
        details["failure_type"] = dimensions.firstValue("FailureType")
        details["activity_type"] = dimensions.firstValue("ActivityType")
        let key = runID.map { "adf:run:\($0)" } ?? "azure-monitor:\(essentials.alertID ?? Text.digest(dimensions.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }))"
        return AlertEvent(
            source: .adf,
            dedupKey: key,
            status: essentials.status,
            resource: pipeline,
            runID: runID,
            errorMessage: dimensions.firstValue("ErrorMessage", "Message")
                ?? "Pipeline \(pipeline) failed (alert rule \(essentials.alertRule ?? "unnamed")); the alert carries no error message",
            severity: essentials.severity,
            occurredAt: essentials.firedAt,
            processingMode: "azure_monitor_log_alert",
            details: details
        )
    }

    /// `PipelineFailedRuns` / `ActivityFailedRuns`: no run id and no error
    /// text, only the pipeline (or activity) name and the failure type.
    private static func metricEvent(
        _ metric: JSONValue,
        dimensions: [String: String],
        essentials: AlertEssentials,
        context: JSONValue,
        receivedAt: Date
    ) -> AlertEvent {
        let metricName = metric["metricName"].string ?? "PipelineFailedRuns"
        let isActivityMetric = metricName.lowercased() == "activityfailedruns"
        let factory = essentials.targetResourceIDs.first.flatMap { Text.segment("factories", inResourceID: $0) }
        let pipeline =
            (isActivityMetric ? dimensions.firstValue("PipelineName") : dimensions.firstValue("Name", "PipelineName"))
            ?? factory ?? essentials.resourceName ?? "unknown pipeline"
        var details = essentials.details
        details["factory"] = factory
        details["metric"] = metricName
        details["failure_type"] = dimensions.firstValue("FailureType")
        if isActivityMetric {
            details["activity_name"] = dimensions.firstValue("Name")
            details["activity_type"] = dimensions.firstValue("ActivityType")
        }
        let value = metric["metricValue"].string ?? "?"
        let window = context["condition"]["windowSize"].string
        var text = "\(metricName) = \(value) for \(isActivityMetric ? "activity \(details["activity_name"] ?? "?") of " : "")pipeline \(pipeline)"
        if let factory { text += " in data factory \(factory)" }
        if let operatorText = metric["operator"].string, let threshold = metric["threshold"].string {
            text += " (\(operatorText) \(threshold)"
            text += window.map { " over \($0))" } ?? ")"
        }
        if let failureType = details["failure_type"] { text += "; failure type \(failureType)" }
        text += ". Metric alerts carry no run id or error message."
        let windowEnd = essentials.firedAt ?? receivedAt
        let windowSeconds = window.flatMap(AzureTime.seconds(isoDuration:)) ?? 900
        return AlertEvent(
            source: .adf,
            dedupKey: "azure-monitor:\(essentials.alertID ?? Text.digest([essentials.alertRule ?? "", pipeline, Timestamp.string(from: windowEnd)]))",
            status: essentials.status,
            resource: pipeline,
            errorMessage: text,
            severity: essentials.severity,
            occurredAt: essentials.firedAt,
            processingMode: "azure_monitor_metric_alert",
            details: details,
            enrichment: .dataFactoryPipeline(
                name: pipeline,
                factoryResourceID: essentials.targetResourceIDs.first { $0.lowercased().contains("/factories/") },
                windowStart: windowEnd.addingTimeInterval(-windowSeconds - 300),
                windowEnd: windowEnd.addingTimeInterval(60)
            )
        )
    }
}

/// Any other common-schema alert: a ticket about the alerted resource, its
/// text summarized from the type-specific `alertContext`.
enum GenericAzureAlert {
    static func event(essentials: AlertEssentials, context: JSONValue, receivedAt: Date, fallbackKey: String) -> AlertEvent {
        var details = essentials.details
        let summary = summarize(context: context, essentials: essentials, details: &details)
        let affectedService = essentials.monitoringService == "ServiceHealth" ? context["properties"]["service"].string : nil
        let resource = affectedService ?? essentials.resourceName ?? essentials.alertRule ?? essentials.monitoringService ?? "Azure resource"
        var text = [essentials.alertRule.map { "Alert rule \($0)" }, summary].compactMap { $0 }.joined(separator: ": ")
        if let description = essentials.description, !description.isEmpty { text += text.isEmpty ? description : ". \(description)" }
        if text.isEmpty { text = "Azure Monitor alert from \(essentials.monitoringService ?? "an unknown service")" }
        return AlertEvent(
            source: .azureMonitor,
            dedupKey: "azure-monitor:\(essentials.alertID ?? Text.digest([fallbackKey]))",
            status: essentials.status,
            resource: resource,
            errorMessage: text,
            severity: essentials.severity,
            occurredAt: essentials.firedAt ?? receivedAt,
            processingMode: "azure_monitor_alert",
            details: details
        )
    }

    private static func summarize(context: JSONValue, essentials: AlertEssentials, details: inout [String: String]) -> String? {
        if let criteria = context["condition"]["allOf"].array, !criteria.isEmpty {
            return criteria.map(describeCriterion).joined(separator: "; ")
        }
        if context.member("SearchQuery").string != nil {
            let count = context.member("ResultCount").string ?? "?"
            let query = context.member("SearchQuery").string ?? ""
            var text = "log search returned \(count) result(s) for query \(query)"
            if let type = context.member("AlertType").string { text += " (\(type))" }
            return text
        }
        if let category = context["AlertCategory"].string {
            let data = context["AlertData"]
            details["budget_name"] = data["BudgetName"].string
            return [
                "\(category) alert",
                data["BudgetName"].string.map { "budget \($0)" },
                data["SpentAmount"].string.map { "spent \($0)" },
                data["ForecastedTotalForPeriod"].string.map { "forecast \($0)" },
                data["BudgetThreshold"].string.map { "threshold \($0)" },
            ].compactMap { $0 }.joined(separator: ", ")
        }
        if let detector = context["SmartDetectorName"].string {
            return [
                detector,
                context["DetectionSummary"].string,
                context["DetectedValue"].string.map { "detected \($0)" },
                context["NormalValue"].string.map { "normal \($0)" },
            ].compactMap { $0 }.joined(separator: ", ")
        }
        if let operation = context["operationName"].string {
            let properties = context["properties"]
            if let title = properties["title"].string {
                details["tracking_id"] = properties["trackingId"].string
                let body = properties["communication"].string.map(Text.stripTags)
                let health = properties["currentHealthStatus"].string.map { "health \(properties["previousHealthStatus"].string ?? "?") → \($0)" }
                return [title, body, health, properties["cause"].string.map { "cause \($0)" }, context["status"].string.map { "status \($0)" }]
                    .compactMap { $0 }.joined(separator: ", ")
            }
            return [
                "operation \(operation)",
                context["status"].string.map { "status \($0)" },
                context["caller"].string.map { "by \($0)" },
                properties["message"].string,
            ].compactMap { $0 }.joined(separator: ", ")
        }
        return nil
    }

    private static func describeCriterion(_ criterion: JSONValue) -> String {
        let subject = criterion["metricName"].string ?? criterion["searchQuery"].string.map { "query \($0)" } ?? "condition"
        var text = subject
        if let operatorText = criterion["operator"].string, let threshold = criterion["threshold"].string {
            text += " \(operatorText) \(threshold)"
        }
        if let value = criterion["metricValue"].string { text += " (value \(value))" }
        let dimensions = (criterion["dimensions"].array ?? []).compactMap { dimension -> String? in
            guard let name = dimension["name"].string, let value = dimension["value"].string else { return nil }
            return "\(name)=\(value)"
        }
        if !dimensions.isEmpty { text += " [\(dimensions.joined(separator: ", "))]" }
        return text
    }
}
