import AsyncHTTPClient
import Foundation
import NIOHTTP1
import RCASources

/// Archives each ticket's raw webhook payload in Azure Blob Storage: a block
/// blob `{yyyy-MM-dd}/{ticket id}-payload.json` in the container that a
/// container SAS URL names. Putting the same blob twice is harmless, so
/// retries need no lookup. The URL kept on the ticket has no SAS signature.
public struct BlobArchiver: Notifier {
    public let channel = "blob"
    public let displayName = "Blob archive"

    private let containerURL: String
    private let sas: String
    private let http: NotifyHTTP

    /// `containerSASURL`: `https://ACCOUNT.blob.core.windows.net/CONTAINER?sv=…&sig=…`.
    public init?(containerSASURL: String, httpClient: HTTPClient, timeout: Duration) {
        guard let (container, sas) = Self.split(containerSASURL) else { return nil }
        containerURL = container
        self.sas = sas
        http = NotifyHTTP(client: httpClient, timeout: timeout, service: "Azure Blob Storage", secrets: [sas] + sas.split(separator: "&").map(String.init))
    }

    /// The container's URL and its SAS query, or nil when the text is not a container SAS URL.
    public static func split(_ containerSASURL: String) -> (container: String, sas: String)? {
        let parts = containerSASURL.split(separator: "?", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[1].contains("sig="), let url = URL(string: parts[0]), url.host != nil else { return nil }
        return (VendorHTTP.base(parts[0]), parts[1])
    }

    public func handles(_ reason: NotificationReason) -> Bool { reason == .opened }

    public var needsRawPayload: Bool { true }

    static func blobName(_ ticket: TicketSnapshot) -> String {
        "\(ticket.firstSeen.prefix(10))/\(ticket.id)-payload.json"
    }

    public func deliver(_ ticket: TicketSnapshot, reason: NotificationReason, existing: RemoteReference?, payload: Data?) async throws(DeliveryError) -> RemoteReference {
        if let existing { return existing }
        guard let payload else { throw DeliveryError(.permanent, "the ticket has no stored payload to archive") }
        let location = "\(containerURL)/\(Self.blobName(ticket))"
        _ = try await http.send(.PUT, "\(location)?\(sas)", headers: [
            ("x-ms-blob-type", "BlockBlob"),
            ("x-ms-version", "2021-08-06"),
            ("Content-Type", "application/json"),
        ], body: payload)
        return RemoteReference(id: location)
    }
}
