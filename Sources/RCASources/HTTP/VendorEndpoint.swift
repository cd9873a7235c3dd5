import Foundation

/// A configured service's base URL (`DATABRICKS_HOST`, `AZURE_MANAGEMENT_URL`,
/// `JIRA_DOMAIN`…) and the only way to make URLs under it: each path
/// segment and query value is percent-encoded on its own, so a value taken
/// from an alert or a vendor's answer can never add a segment, a query, a
/// fragment or a host; and every URL made is checked to have the base's
/// scheme, host and port before a credential is attached to a request.
public struct VendorEndpoint: Sendable, Equatable, CustomStringConvertible {
    public let scheme: String
    public let host: String
    public let port: Int?
    /// The base's path, without a trailing slash (empty for the root).
    public let basePath: String

    /// Parses a base URL; a bare host name gets `https://`. Refuses anything
    /// that is not an http(s) URL with a host, or that carries user
    /// information, a query or a fragment.
    public init(_ base: String) throws(EndpointError) {
        let text = base.contains("://") ? base : "https://\(base)"
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "https" || scheme == "http", let host = components.host?.lowercased(), !host.isEmpty
        else { throw EndpointError(base: base, reason: "it is not an http(s) URL with a host") }
        guard components.user == nil, components.password == nil, components.query == nil, components.fragment == nil else {
            throw EndpointError(base: base, reason: "a base URL carries no user, query or fragment")
        }
        self.scheme = scheme
        self.host = host
        port = components.port
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        basePath = path
    }

    /// `scheme://host[:port]`.
    public var origin: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(shownHost)" + (port.map { ":\($0)" } ?? "")
    }

    public var description: String { origin + basePath }

    /// The URL of `segments` under the base, each segment encoded whole.
    /// Refuses empty, `.` and `..` segments, which a server would resolve
    /// to another path.
    public func url(_ segments: [String], query: [(String, String)] = []) throws(EndpointError) -> String {
        var path = basePath
        for segment in segments {
            guard !segment.isEmpty, segment != ".", segment != ".." else {
                throw EndpointError(base: description, reason: "a path segment may not be empty, '.' or '..'")
            }
            path += "/" + Self.encode(segment)
        }
        let queryText = query.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        let url = origin + path + (queryText.isEmpty ? "" : "?\(queryText)")
        try checkOwns(url)
        return url
    }

    /// Throws unless `url` has this endpoint's scheme, host and port: the
    /// check made before a credential goes out.
    public func checkOwns(_ url: String) throws(EndpointError) {
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == scheme,
              components.host?.lowercased() == host, components.port == port, components.user == nil
        else { throw EndpointError(base: description, reason: "a request was about to leave for another host") }
    }

    /// Only RFC 3986's unreserved characters are left as they are.
    static func encode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}

/// A base URL that cannot serve as an endpoint, or a URL that would leave it.
public struct EndpointError: Error, Equatable, CustomStringConvertible {
    public let base: String
    public let reason: String

    public var description: String { "\(base): \(reason)" }
}
