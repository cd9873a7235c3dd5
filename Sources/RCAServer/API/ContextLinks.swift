import Foundation
import RCACore
import RCASources

/// A page elsewhere that shows the failure: the Databricks run, the Data
/// Factory run in ADF Studio, the Azure alert or resource in the portal,
/// the Prometheus graph of the rule.
struct ContextLink: Encodable, Equatable {
    let label: String
    let url: String
}

/// Builds a ticket's links to the platforms it came from. Every link is put
/// together from ids that passed their vendor's grammar (GUID run ids,
/// numeric Databricks ids, ARM resource ids) on a host this server is
/// configured with or the vendor's own portal; nothing from a payload is
/// used as a host or a path as it stands. The one exception is
/// Alertmanager's `generatorURL`, the rule's own graph link: it is shown only
/// when it is an http(s) URL, labelled with its host so that the reader sees
/// where it leads.
enum ContextLinks {
    static let azurePortal = "https://portal.azure.com"
    static let dataFactoryStudio = "https://adf.azure.com"

    static func links(source: String, runID: String?, details: [String: String], databricksWorkspace: VendorEndpoint?) -> [ContextLink] {
        var links: [ContextLink] = []
        if let workspace = databricksWorkspace {
            if let run = runID, Identifiers.isDatabricksID(run) {
                if let job = details["job_id"], Identifiers.isDatabricksID(job) {
                    links.append(ContextLink(label: "Databricks run \(run)", url: "\(workspace.origin)/#job/\(job)/run/\(run)"))
                } else if source == AlertSource.databricks.rawValue {
                    links.append(ContextLink(label: "Databricks run \(run)", url: "\(workspace.origin)/#job/run/\(run)"))
                }
            }
            if let cluster = details["cluster_id"], isClusterID(cluster) {
                links.append(ContextLink(label: "Databricks cluster \(cluster)", url: "\(workspace.origin)/#setting/clusters/\(cluster)/configuration"))
            }
        }
        if let run = details["pipeline_run_id"] ?? (source == AlertSource.adf.rawValue ? runID : nil), Identifiers.isGUID(run),
           let factory = details["target_resource_id"].flatMap(AzureResourceID.init), factory.isKind("Microsoft.DataFactory", "factories") {
            links.append(ContextLink(
                label: "Data Factory run \(run)",
                url: "\(dataFactoryStudio)/monitoring/pipelineruns/\(run)?factory=\(encoded(factory.description))"
            ))
        }
        if let alert = details["alert_id"], isAlertID(alert) {
            links.append(ContextLink(
                label: "Azure Monitor alert", url: "\(azurePortal)/#view/Microsoft_Azure_Monitoring_Alerts/AlertDetails.ReactView/alertId/\(encoded(alert))"
            ))
        }
        if let resource = details["target_resource_id"].flatMap(AzureResourceID.init) {
            links.append(ContextLink(label: "Azure resource \(resource.name)", url: "\(azurePortal)/#@/resource\(resource.description)/overview"))
        }
        if let generator = details["generator_url"], let url = URL(string: generator), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
           let host = url.host, !host.isEmpty, generator.count <= 2048 {
            links.append(ContextLink(label: "Prometheus graph on \(host)", url: generator))
        }
        return links
    }

    /// Databricks cluster ids look like `0123-456789-abcdefgh`.
    static func isClusterID(_ text: String) -> Bool {
        (1...64).contains(text.count) && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }

    /// `/subscriptions/{guid}/providers/Microsoft.AlertsManagement/alerts/{guid}`.
    static func isAlertID(_ text: String) -> Bool {
        let segments = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        return segments.count == 7 && segments[0].isEmpty && segments[1].lowercased() == "subscriptions" && Identifiers.isGUID(segments[2])
            && segments[3].lowercased() == "providers" && segments[4].lowercased() == "microsoft.alertsmanagement"
            && segments[5].lowercased() == "alerts" && Identifiers.isGUID(segments[6])
    }

    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }
}
