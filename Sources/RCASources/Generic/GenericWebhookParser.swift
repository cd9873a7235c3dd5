import Foundation
import RCACore

/// `/webhook/generic`: a small documented shape any tool can send.
///
///     {"source": "airflow", "resource": "daily_sales_dag", "run_id": "scheduled__2026-11-29",
///      "error_message": "Task load_sales failed: ...", "severity": "High",
///      "occurred_at": "2026-11-29T06:00:00Z", "status": "firing"}
///
/// `resource` and `error_message` are required; a JSON array of such objects
/// sends several failures at once.
public struct GenericWebhookParser: AlertPayloadParser {
    public let endpoint = "/webhook/generic"
    public let senders = "any tool, with the documented generic JSON shape"

    public init() {}

    public func parse(_ json: JSONValue, receivedAt: Date) throws(PayloadError) -> ParsedPayload {
        let items = json.array ?? [json]
        guard !items.isEmpty else { throw .unrecognized("the array holds no failure objects") }
        var events: [AlertEvent] = []
        for (index, item) in items.enumerated() {
            events.append(try event(item, position: items.count > 1 ? index : nil, receivedAt: receivedAt))
        }
        return .alerts(events)
    }

    private func event(_ item: JSONValue, position: Int?, receivedAt: Date) throws(PayloadError) -> AlertEvent {
        let place = position.map { "item \($0): " } ?? ""
        guard item.object != nil else { throw .unrecognized("\(place)expected a JSON object with resource and error_message") }
        let missing = ["resource", "error_message"].filter { item[$0].string == nil }
        guard missing.isEmpty else {
            throw .unrecognized("\(place)missing or empty field(s): \(missing.joined(separator: ", ")); required are resource and error_message (strings)")
        }
        let resource = item["resource"].string!
        let message = item["error_message"].string!
        let reportedSource = item["source"].string ?? "generic"
        var severity: Severity?
        if let text = item["severity"].string {
            guard let parsed = Severity(rawValue: text.capitalized) ?? Severity(word: text) else {
                throw .unrecognized("\(place)severity \"\(text)\" is not one of Critical, High, Medium, Low")
            }
            severity = parsed
        }
        var occurredAt: Date?
        if let text = item["occurred_at"].string {
            guard let date = AzureTime.date(text) else {
                throw .unrecognized("\(place)occurred_at \"\(text)\" is not an ISO 8601 time such as 2026-11-29T06:00:00Z")
            }
            occurredAt = date
        }
        var status = SourceStatus.firing
        if let text = item["status"].string {
            guard let parsed = SourceStatus(rawValue: text.lowercased()) else {
                throw .unrecognized("\(place)status \"\(text)\" is not firing or resolved")
            }
            status = parsed
        }
        let runID = item["run_id"].string
        var details = ["reported_source": reportedSource]
        for (key, value) in item["details"].object ?? [:] {
            if let text = value.string { details["detail.\(key)"] = text }
        }
        let identity = runID ?? Text.digest([message, item["occurred_at"].string ?? ""])
        return AlertEvent(
            source: .generic,
            dedupKey: "generic:\(reportedSource):\(resource):\(identity)",
            status: status,
            resource: resource,
            runID: runID,
            errorMessage: message,
            severity: severity,
            occurredAt: occurredAt ?? receivedAt,
            processingMode: "generic_webhook",
            details: details
        )
    }
}
