import Crypto
import Foundation
import RCASources

/// The container the payload archive writes to, and how its requests are
/// authorized: a SAS on the container URL, the account key of a storage
/// connection string (Shared Key), or the service principal's Entra ID
/// token. Teams on Azure use whichever their policy allows; many forbid
/// account keys and SAS tokens altogether.
public struct BlobArchiveTarget: Sendable {
    public enum Credential: Sendable {
        case sas(String)
        case sharedKey(account: String, key: Data)
        case entraID(AzureCredentials)
    }

    /// `https://ACCOUNT.blob.core.windows.net/CONTAINER`, without a query.
    public let containerURL: String
    public let credential: Credential

    /// Why a Blob setting cannot be used, in words for the variable's error line.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
        /// Whether the container's name, rather than the URL or connection string, is at fault.
        public var concernsContainerName = false
    }

    /// `https://ACCOUNT.blob.core.windows.net/CONTAINER?sv=…&sig=…`.
    public init?(containerSASURL: String) {
        let parts = containerSASURL.split(separator: "?", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[1].contains("sig="), let url = URL(string: parts[0]), url.host != nil else { return nil }
        containerURL = VendorHTTP.base(parts[0])
        credential = .sas(parts[1])
    }

    /// A storage account connection string as the portal shows it
    /// (`DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…;EndpointSuffix=core.windows.net`),
    /// or one holding `BlobEndpoint` and `SharedAccessSignature`, and the container's name.
    public init(connectionString: String, container: String) throws(Invalid) {
        guard Self.isContainerName(container) else {
            throw Invalid(description: "expected a container name of 3-63 lower-case letters, digits and single hyphens", concernsContainerName: true)
        }
        var fields: [String: String] = [:]
        for part in connectionString.split(separator: ";") {
            guard let equals = part.firstIndex(of: "=") else { continue }
            fields[part[..<equals].trimmingCharacters(in: .whitespaces).lowercased()] = String(part[part.index(after: equals)...])
        }
        let scheme = fields["defaultendpointsprotocol"] ?? "https"
        let account = fields["accountname"]
        guard let endpoint = fields["blobendpoint"] ?? account.map({ "\(scheme)://\($0).blob.\(fields["endpointsuffix"] ?? "core.windows.net")" }) else {
            throw Invalid(description: "names neither AccountName nor BlobEndpoint")
        }
        guard let url = URL(string: endpoint), let host = url.host, !host.isEmpty, ["https", "http"].contains(url.scheme ?? "") else {
            throw Invalid(description: "its blob endpoint \(endpoint) is not an http(s) URL")
        }
        containerURL = VendorHTTP.base(endpoint) + "/" + container
        if let sas = fields["sharedaccesssignature"] {
            credential = .sas(sas.hasPrefix("?") ? String(sas.dropFirst()) : sas)
        } else if let account, let key = fields["accountkey"].flatMap({ Data(base64Encoded: $0) }), !key.isEmpty {
            credential = .sharedKey(account: account, key: key)
        } else {
            throw Invalid(description: "holds neither AccountName with a base64 AccountKey nor a SharedAccessSignature")
        }
    }

    /// `https://ACCOUNT.blob.core.windows.net/CONTAINER` reached with the service principal's token.
    public init(containerURL: String, credentials: AzureCredentials) throws(Invalid) {
        guard let url = URL(string: containerURL), url.scheme == "https" || url.scheme == "http", url.host != nil, url.query == nil,
              let container = url.path.split(separator: "/").last, Self.isContainerName(String(container))
        else {
            throw Invalid(description: "expected a container URL such as https://ACCOUNT.blob.core.windows.net/CONTAINER, without a query")
        }
        self.containerURL = VendorHTTP.base(containerURL)
        credential = .entraID(credentials)
    }

    static func isContainerName(_ name: String) -> Bool {
        (3...63).contains(name.count) && !name.hasPrefix("-") && !name.hasSuffix("-") && !name.contains("--")
            && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }
}

/// Shared Key authorization of Blob Storage requests: an HMAC-SHA256, keyed
/// with the account key, of the verb, the standard headers, the `x-ms-`
/// headers and the resource, as the Storage services' documentation defines it.
public enum BlobSharedKey {
    static let standardHeaders = [
        "content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
        "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range",
    ]

    /// The `Authorization` value for a request with these headers to `url`.
    public static func authorization(account: String, key: Data, method: String, url: URL, headers: [(String, String)]) -> String {
        var byName: [String: String] = [:]
        for (name, value) in headers { byName[name.lowercased()] = value.trimmingCharacters(in: .whitespaces) }
        var lines = [method]
        for name in standardHeaders {
            let value = byName[name] ?? ""
            lines.append(name == "content-length" && value == "0" ? "" : value)
        }
        let canonicalHeaders = byName.filter { $0.key.hasPrefix("x-ms-") }.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }
        var resource = "/\(account)\(URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedPath ?? url.path)"
        let query = URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? []
        let grouped = Dictionary(grouping: query) { $0.name.lowercased() }
        for name in grouped.keys.sorted() {
            resource += "\n\(name):" + (grouped[name] ?? []).compactMap(\.value).sorted().joined(separator: ",")
        }
        let text = (lines + canonicalHeaders + [resource]).joined(separator: "\n")
        let signature = HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: key))
        return "SharedKey \(account):\(Data(signature).base64EncodedString())"
    }
}
