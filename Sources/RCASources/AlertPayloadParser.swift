import Foundation
import RCACore

/// What one webhook body amounts to.
public enum ParsedPayload: Sendable, Equatable {
    /// Failures to open or update tickets for, and clears of earlier ones.
    case alerts([AlertEvent])
    /// A well-formed notification that opens nothing (a job started or succeeded); kept and answered 2xx.
    case ignored(String)
}

/// Why a body could not be read. The message tells the sender what to change.
public enum PayloadError: Error, Equatable, CustomStringConvertible {
    /// Not JSON at all (answered 400).
    case notJSON(JSONValue.ParseError)
    /// JSON, but not a shape this endpoint understands (answered 422).
    case unrecognized(String)

    public var description: String {
        switch self {
        case .notJSON(let error): error.description
        case .unrecognized(let reason): reason
        }
    }
}

/// Reads one vendor's webhook payloads. A new alert source is a type
/// conforming to this protocol, in its own folder, listed in `SourceRegistry`.
public protocol AlertPayloadParser: Sendable {
    /// The path senders post to, such as `/azure-monitor`.
    var endpoint: String { get }
    /// Who sends to this endpoint, for people (banner, docs).
    var senders: String { get }
    func parse(_ json: JSONValue, receivedAt: Date) throws(PayloadError) -> ParsedPayload
}

extension AlertPayloadParser {
    /// Parses raw bytes: JSON first, then this source's shape.
    public func parse(body: Data, receivedAt: Date) throws(PayloadError) -> ParsedPayload {
        let json: JSONValue
        do {
            json = try JSONValue.parse(body)
        } catch {
            throw .notJSON(error)
        }
        return try parse(json, receivedAt: receivedAt)
    }
}

/// Every alert source this build understands, one line each.
public enum SourceRegistry {
    public static let parsers: [any AlertPayloadParser] = [
        AzureMonitorParser(),
        DatabricksWebhookParser(),
        DatabricksClusterAlertParser(),
        AlertmanagerParser(),
        GenericWebhookParser(),
    ]
}

/// Small text helpers shared by the parsers.
enum Text {
    /// A short stable digest of `parts`, for dedup keys of alerts that carry no id.
    static func digest(_ parts: [String]) -> String {
        String(Fingerprint.hash(parts.joined(separator: "\u{1F}")), radix: 16)
    }

    /// The last path segment of an Azure resource id (`…/factories/sales-adf` → `sales-adf`).
    static func resourceName(fromID id: String) -> String? {
        id.split(separator: "/").last.map(String.init)
    }

    /// The value following `segment` in an Azure resource id (`factories` → the factory name).
    static func segment(_ segment: String, inResourceID id: String) -> String? {
        let parts = id.split(separator: "/").map(String.init)
        guard let index = parts.firstIndex(where: { $0.lowercased() == segment.lowercased() }), index + 1 < parts.count else { return nil }
        return parts[index + 1]
    }

    /// Removes HTML tags from service-health texts.
    static func stripTags(_ html: String) -> String {
        html.replacingOccurrences(of: "<[^>]+>", with: " ", options: .regularExpression)
            .replacingOccurrences(of: "\\s+", with: " ", options: .regularExpression)
            .trimmingCharacters(in: .whitespaces)
    }
}
