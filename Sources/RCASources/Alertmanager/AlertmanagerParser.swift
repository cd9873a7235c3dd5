import Foundation
import RCACore

/// `/alertmanager`: Prometheus Alertmanager's webhook (version 4). Each alert
/// is one ticket, keyed by its fingerprint and the start of its firing, so
/// repeat notifications update it and its resolution clears it.
public struct AlertmanagerParser: AlertPayloadParser {
    public let endpoint = "/alertmanager"
    public let senders = "Prometheus Alertmanager webhook receivers (version 4)"

    public init() {}

    public func parse(_ json: JSONValue, receivedAt: Date) throws(PayloadError) -> ParsedPayload {
        guard let alerts = json["alerts"].array, json["version"].string != nil || json["groupKey"].string != nil else {
            throw .unrecognized("expected an Alertmanager webhook payload (version 4) with an alerts array")
        }
        if let version = json["version"].string, version != "4" {
            throw .unrecognized("Alertmanager webhook version \(version) is not supported; version 4 is")
        }
        let events = alerts.compactMap { alert -> AlertEvent? in
            guard let labels = alert["labels"].object?.compactMapValues(\.string) else { return nil }
            let annotations = alert["annotations"].object?.compactMapValues(\.string) ?? [:]
            let alertName = labels["alertname"] ?? "alert"
            let fingerprint = alert["fingerprint"].string ?? Text.digest(labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
            let startsAt = alert["startsAt"].string ?? ""
            var details = ["alertname": alertName, "fingerprint": fingerprint]
            details["generator_url"] = alert["generatorURL"].string
            details["receiver"] = json["receiver"].string
            for (name, value) in labels { details["label.\(name)"] = value }
            var text = annotations["summary"] ?? alertName
            if let description = annotations["description"], description != text { text += ": \(description)" }
            let labelText = labels.filter { $0.key != "alertname" }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            if !labelText.isEmpty { text += " [\(labelText.joined(separator: ", "))]" }
            return AlertEvent(
                source: .alertmanager,
                dedupKey: "alertmanager:\(fingerprint):\(startsAt)",
                status: alert["status"].string?.lowercased() == "resolved" ? .resolved : .firing,
                resource: labels["pipeline"] ?? labels["job_name"] ?? labels["job"] ?? labels["service"] ?? labels["instance"] ?? alertName,
                runID: labels["run_id"],
                errorMessage: text,
                severity: labels["severity"].flatMap(Severity.init(word:)),
                occurredAt: alert["startsAt"].string.flatMap(AzureTime.date),
                processingMode: "alertmanager_webhook",
                details: details
            )
        }
        guard !events.isEmpty else {
            throw .unrecognized("the Alertmanager payload has no alert with labels")
        }
        return .alerts(events)
    }
}
