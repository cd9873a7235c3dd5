import AsyncHTTPClient
import Foundation
import NIOHTTP1
import RCACore
import RCASources

/// Archives each ticket's raw webhook payload in Azure Blob Storage, with
/// its analysis beside it: block blobs `{yyyy-MM-dd}/{ticket id}-payload.json`
/// and `…-analysis.json` in the container its `BlobArchiveTarget` names,
/// authorized by SAS, Shared Key or an Entra ID token. Putting the same blob
/// twice is harmless, so retries need no lookup. The URL kept on the ticket
/// carries no credential.
public struct BlobArchiver: Notifier {
    public let channel = "blob"
    public let displayName = "Blob archive"

    private let target: BlobArchiveTarget
    private let tokens: AzureTokenProvider?
    private let http: NotifyHTTP
    /// The Blob service version the requests ask for (2017-11-09 or later takes Entra ID tokens).
    static let serviceVersion = "2021-08-06"
    static let storageScope = "https://storage.azure.com/.default"

    public init(target: BlobArchiveTarget, httpClient: HTTPClient, timeout: Duration) {
        self.target = target
        var secrets: [String] = []
        switch target.credential {
        case .sas(let sas):
            secrets = [sas] + sas.split(separator: "&").map(String.init)
            tokens = nil
        case .sharedKey:
            tokens = nil
        case .entraID(let credentials):
            tokens = AzureTokenProvider(credentials: credentials, scope: Self.storageScope, timeout: timeout)
        }
        http = NotifyHTTP(client: httpClient, timeout: timeout, service: "Azure Blob Storage", secrets: secrets)
    }

    /// `containerSASURL`: `https://ACCOUNT.blob.core.windows.net/CONTAINER?sv=…&sig=…`.
    public init?(containerSASURL: String, httpClient: HTTPClient, timeout: Duration) {
        guard let target = BlobArchiveTarget(containerSASURL: containerSASURL) else { return nil }
        self.init(target: target, httpClient: httpClient, timeout: timeout)
    }

    public func handles(_ reason: NotificationReason) -> Bool { reason == .opened }

    public var needsRawPayload: Bool { true }

    static func blobName(_ ticket: TicketSnapshot, _ kind: String = "payload") -> String {
        "\(ticket.firstSeen.prefix(10))/\(ticket.id)-\(kind).json"
    }

    public func deliver(_ ticket: TicketSnapshot, reason: NotificationReason, existing: RemoteReference?, payload: Data?) async throws(DeliveryError) -> RemoteReference {
        if let existing { return existing }
        guard let payload else { throw DeliveryError(.permanent, "the ticket has no stored payload to archive") }
        let location = "\(target.containerURL)/\(Self.blobName(ticket))"
        try await put(location, body: payload)
        try await put("\(target.containerURL)/\(Self.blobName(ticket, "analysis"))", body: Self.analysisDocument(ticket))
        return RemoteReference(id: location)
    }

    /// The ticket's analysis and audit trail as the archive keeps them beside the payload (already redacted).
    static func analysisDocument(_ ticket: TicketSnapshot) -> Data {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        let document: JSONValue = .object([
            "ticket_id": .string(ticket.id), "source": .string(ticket.source), "pipeline": text(ticket.pipeline), "run_id": text(ticket.runID),
            "severity": text(ticket.severity), "priority": text(ticket.priority), "sla_seconds": ticket.slaSeconds.map { .number(Double($0)) } ?? .null,
            "error_type": text(ticket.errorType), "category": text(ticket.category), "rca_result": text(ticket.rootCause),
            "confidence": text(ticket.confidence), "recommendations": .array(ticket.recommendations.map(JSONValue.string)),
            "error_message": text(ticket.errorMessage), "finops_team": text(ticket.finopsTeam), "first_seen": .string(ticket.firstSeen),
            "audit_trail": .array(ticket.auditTrail.map { line in
                .object(["timestamp": .string(line.timestamp), "action": .string(line.action), "user": text(line.user), "details": text(line.details)])
            }),
        ])
        return Data(document.jsonText.utf8)
    }

    /// Lists at most one blob of the container: a call that changes nothing, for `doctor`.
    public func checkContainer() async throws(DeliveryError) {
        _ = try await send(.GET, target.containerURL, query: "restype=container&comp=list&maxresults=1", headers: [], body: nil)
    }

    private func put(_ location: String, body: Data) async throws(DeliveryError) {
        _ = try await send(.PUT, location, query: nil, headers: [("x-ms-blob-type", "BlockBlob"), ("Content-Type", "application/json")], body: body)
    }

    /// One request to the container, authorized as the target says.
    private func send(_ method: HTTPMethod, _ location: String, query: String?, headers: [(String, String)], body: Data?) async throws(DeliveryError) -> VendorHTTP.Exchange {
        var headers = headers + [("x-ms-version", Self.serviceVersion)]
        var url = location + (query.map { "?\($0)" } ?? "")
        switch target.credential {
        case .sas(let sas):
            url += (query == nil ? "?" : "&") + sas
        case .sharedKey(let account, let key):
            headers.append(("x-ms-date", Self.httpDate(Date())))
            guard let parsed = URL(string: url) else { throw DeliveryError(.permanent, "the blob URL \(location) is not a URL") }
            let signed = headers + [("Content-Length", String(body?.count ?? 0))]
            headers.append(("Authorization", BlobSharedKey.authorization(account: account, key: key, method: method.rawValue, url: parsed, headers: signed)))
        case .entraID:
            do {
                headers.append(("Authorization", "Bearer \(try await tokens?.token() ?? "")"))
            } catch {
                let kind: DeliveryError.Kind = switch error {
                case .unauthorized(_), .refused(_), .notFound(_), .invalidResponse(_): .permanent
                case .rateLimited(let after): .retryable(after: after)
                case .serverError(_), .timeout, .transport(_): .retryable(after: nil)
                }
                throw DeliveryError(kind, "no Entra ID token for Blob Storage: \(error.description)")
            }
        }
        return try await http.send(method, url, headers: headers, body: body)
    }

    /// RFC 1123 time in GMT, as `x-ms-date` wants it.
    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}
