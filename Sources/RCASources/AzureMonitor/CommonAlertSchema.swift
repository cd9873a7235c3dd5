import Foundation
import RCACore

/// The routing fields every Azure Monitor common-schema alert carries
/// (`data.essentials`), read leniently: several are null for some alert types.
struct AlertEssentials {
    let alertID: String?
    let alertRule: String?
    let severity: Severity?
    let signalType: String?
    let monitoringService: String?
    let isResolved: Bool
    let targetResourceIDs: [String]
    let configurationItems: [String]
    let firedAt: Date?
    let resolvedAt: Date?
    let description: String?

    /// The essentials of a common-schema payload, or the 422 reason that tells
    /// the sender to turn the common schema on.
    static func of(_ json: JSONValue) throws(PayloadError) -> AlertEssentials {
        guard let essentials = AlertEssentials(json["data"]["essentials"]) else {
            throw .unrecognized(
                "expected an Azure Monitor common alert schema payload with data.essentials; turn on \"Enable the common alert schema\" on the action group's webhook"
            )
        }
        return essentials
    }

    init?(_ essentials: JSONValue) {
        guard essentials.object != nil else { return nil }
        alertID = essentials["alertId"].string
        alertRule = essentials["alertRule"].string
        severity = essentials["severity"].string.flatMap(Severity.init(azureSeverity:))
        signalType = essentials["signalType"].string
        monitoringService = essentials["monitoringService"].string
        isResolved = essentials["monitorCondition"].string?.lowercased() == "resolved"
        targetResourceIDs = essentials["alertTargetIDs"].array?.compactMap(\.string) ?? []
        configurationItems = essentials["configurationItems"].array?.compactMap(\.string) ?? []
        firedAt = essentials["firedDateTime"].string.flatMap(AzureTime.date)
        resolvedAt = essentials["resolvedDateTime"].string.flatMap(AzureTime.date)
        description = essentials["description"].string
    }

    /// The affected resource's name, for tickets about the resource itself.
    var resourceName: String? {
        configurationItems.first ?? targetResourceIDs.first.flatMap(Text.resourceName(fromID:))
    }

    var status: SourceStatus { isResolved ? .resolved : .firing }

    /// Details every ticket from Azure Monitor keeps.
    var details: [String: String] {
        var details: [String: String] = [:]
        details["alert_rule"] = alertRule
        details["alert_id"] = alertID
        details["monitoring_service"] = monitoringService
        details["signal_type"] = signalType
        details["target_resource_id"] = targetResourceIDs.first
        return details
    }
}

/// Azure's several ways of writing an instant: ISO 8601 with up to seven
/// fractional digits, and `3/22/2019 1:36:31 PM` in Log Alerts V1.
enum AzureTime {
    static func date(_ text: String) -> Date? {
        if let date = Timestamp.date(from: text) { return date }
        if let date = Timestamp.date(from: trimmedFraction(text)) { return date }
        return usFormat(text)
    }

    /// ISO 8601 with more than three fractional digits, cut to milliseconds.
    private static func trimmedFraction(_ text: String) -> String {
        guard let dot = text.firstIndex(of: "."), let end = text[dot...].firstIndex(where: { !$0.isNumber && $0 != "." }) else {
            if let dot = text.firstIndex(of: ".") { return String(text[..<dot]) + "Z" }
            return text
        }
        let digits = text[text.index(after: dot)..<end].prefix(3)
        return String(text[..<dot]) + (digits.isEmpty ? "" : "." + digits) + String(text[end...])
    }

    private static func usFormat(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        for format in ["M/d/yyyy h:mm:ss a", "M/d/yyyy H:mm:ss"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    /// `PT5M`, `PT1H`, `P1D` as seconds.
    static func seconds(isoDuration text: String) -> TimeInterval? {
        var total: TimeInterval = 0
        var number = ""
        var inTime = false
        for character in text.uppercased() {
            switch character {
            case "P": continue
            case "T": inTime = true
            case "0"..."9", ".": number.append(character)
            default:
                guard let value = Double(number) else { return nil }
                number = ""
                switch (character, inTime) {
                case ("D", _): total += value * 86_400
                case ("H", true): total += value * 3_600
                case ("M", true): total += value * 60
                case ("S", true): total += value
                case ("W", false): total += value * 604_800
                default: return nil
                }
            }
        }
        return total > 0 ? total : nil
    }
}

/// The rows a log search alert embeds (`SearchResults.tables`), each row as
/// a column-name → value map.
enum LogSearchResults {
    static func rows(in context: JSONValue) -> [[String: JSONValue]] {
        let tables = context.member("SearchResults")["tables"].array ?? []
        return tables.flatMap { table -> [[String: JSONValue]] in
            let columns = table["columns"].array?.compactMap { $0["name"].string ?? $0["ColumnName"].string } ?? []
            return (table["rows"].array ?? []).compactMap { row in
                guard let values = row.array else { return nil }
                var record: [String: JSONValue] = [:]
                for (column, value) in zip(columns, values) { record[column] = value }
                return record
            }
        }
    }

    /// The dimensions of a metric or Log Alerts V2 condition, name → value.
    static func dimensions(in context: JSONValue) -> [String: String] {
        var dimensions: [String: String] = [:]
        for criterion in context["condition"]["allOf"].array ?? [] {
            for dimension in criterion["dimensions"].array ?? [] {
                if let name = dimension["name"].string, let value = dimension["value"].string {
                    dimensions[name] = value
                }
            }
        }
        for dimension in context.member("Dimensions").array ?? [] {
            if let name = dimension["name"].string, let value = dimension["value"].string, dimensions[name] == nil {
                dimensions[name] = value
            }
        }
        return dimensions
    }
}

extension Dictionary where Key == String, Value == JSONValue {
    /// A column's value by name, ignoring case.
    func column(_ name: String) -> JSONValue {
        if let value = self[name] { return value }
        let lowered = name.lowercased()
        return first { $0.key.lowercased() == lowered }?.value ?? .null
    }
}

extension Dictionary where Key == String, Value == String {
    /// A dimension by any of its usual names, ignoring case.
    func firstValue(_ names: String...) -> String? {
        for name in names {
            if let value = self[name] ?? first(where: { $0.key.lowercased() == name.lowercased() })?.value, !value.isEmpty {
                return value
            }
        }
        return nil
    }
}
