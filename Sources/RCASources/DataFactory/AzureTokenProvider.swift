import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RCACore
import Synchronization

/// A Microsoft Entra ID application (service principal) used to call Azure
/// management APIs.
public struct AzureCredentials: Sendable {
    public var tenantID: String
    public var clientID: String
    public var clientSecret: String
    /// `https://login.microsoftonline.com` unless a proxy or sovereign cloud is used.
    public var authorityHost: VendorEndpoint
    /// `https://management.azure.com` unless a proxy or sovereign cloud is used.
    public var managementURL: VendorEndpoint

    public init(tenantID: String, clientID: String, clientSecret: String, authorityHost: VendorEndpoint, managementURL: VendorEndpoint) {
        self.tenantID = tenantID
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.authorityHost = authorityHost
        self.managementURL = managementURL
    }
}

/// Gets access tokens with the client-credentials grant and reuses each until
/// shortly before it expires.
public final class AzureTokenProvider: Sendable {
    private let credentials: AzureCredentials
    private let http: VendorHTTP
    private let scope: String
    private let cached = Mutex<(token: String, renewAt: Date)?>(nil)

    /// `scope` is the resource the tokens are for (`https://storage.azure.com/.default`…);
    /// by default the management API that `credentials` name.
    init(credentials: AzureCredentials, http: VendorHTTP, scope: String? = nil) {
        self.credentials = credentials
        self.http = http
        self.scope = scope ?? credentials.managementURL.description + "/.default"
    }

    public convenience init(credentials: AzureCredentials, scope: String, timeout: Duration) {
        self.init(credentials: credentials, http: VendorHTTP(client: VendorHTTP.sharedClient, timeout: timeout), scope: scope)
    }

    public func token() async throws(EnrichmentError) -> String {
        try await tokenAndRenewal().token
    }

    /// The token and the time from which the next call fetches a new one:
    /// a fifth of its lifetime, at most two minutes, before it ends.
    public func tokenAndRenewal() async throws(EnrichmentError) -> (token: String, renewAt: Date) {
        if let current = cached.withLock({ $0 }), current.renewAt > Date() { return current }
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", credentials.clientID),
            ("client_secret", credentials.clientSecret),
            ("scope", scope),
        ].map { "\($0)=\(Self.formEncode($1))" }.joined(separator: "&")
        let url: String
        do {
            url = try credentials.authorityHost.url([credentials.tenantID, "oauth2", "v2.0", "token"])
        } catch {
            throw .refused(error.description)
        }
        let data: Data
        do {
            data = try await http.send(.POST, url, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Data(form.utf8))
        } catch .invalidResponse(let detail) {
            throw .unauthorized("Entra ID token request refused: \(detail)")
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(data)
        } catch {
            throw .invalidResponse("token endpoint answered \(error.description)")
        }
        guard let token = json["access_token"].string else { throw .invalidResponse("token endpoint answered without access_token") }
        let lifetime = json["expires_in"].double ?? 3600
        let renewal = (token, Date().addingTimeInterval(max(lifetime - min(120, lifetime / 5), 1)))
        cached.withLock { $0 = renewal }
        return renewal
    }

    static func formEncode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}
