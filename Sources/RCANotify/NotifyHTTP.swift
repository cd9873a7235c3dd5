import AsyncHTTPClient
import Foundation
import NIOHTTP1
import RCACore
import RCASources

/// One HTTP call of a notifier, with the answer's status mapped to
/// `DeliveryError`: 408, 429 (honouring `Retry-After`), 5xx, timeouts and
/// lost connections are retryable; any other 4xx is permanent. Error texts
/// carry the status and the start of the answer, redacted, never the request.
struct NotifyHTTP: Sendable {
    let http: VendorHTTP
    let service: String
    /// Values of this channel that must never appear in an error, even if a
    /// service echoes them back: tokens, keys, secret URL paths.
    let secrets: [String]

    init(client: HTTPClient, timeout: Duration, service: String, secrets: [String]) {
        http = VendorHTTP(client: client, timeout: timeout)
        self.service = service
        self.secrets = secrets.filter { $0.count >= 6 }.sorted { $0.count > $1.count }
    }

    /// Secret-bearing parts of a webhook URL: its path, the path segments
    /// that look like ids (with a digit), its query and the query's values.
    static func secretParts(of url: String) -> [String] {
        guard let components = URLComponents(string: url) else { return [url] }
        let idSegments = components.percentEncodedPath.split(separator: "/").map(String.init).filter { $0.contains(where: \.isNumber) }
        let values = (components.percentEncodedQuery ?? "").split(separator: "&").compactMap { $0.split(separator: "=", maxSplits: 1).last.map(String.init) }
        return [components.percentEncodedPath, components.percentEncodedQuery ?? ""] + idSegments + values
    }

    func scrub(_ text: String) -> String {
        secrets.reduce(Redactor.redact(text)) { $0.replacingOccurrences(of: $1, with: Redactor.marker) }
    }

    func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)], body: Data? = nil) async throws(DeliveryError) -> VendorHTTP.Exchange {
        let exchange: VendorHTTP.Exchange
        do {
            exchange = try await http.exchange(method, url, headers: headers, body: body)
        } catch {
            switch error {
            case .timeout: throw DeliveryError(.retryable(after: nil), "\(service) did not answer in time")
            default: throw DeliveryError(.retryable(after: nil), "cannot reach \(service)")
            }
        }
        let snippet = scrub(VendorHTTP.snippet(exchange.body))
        switch exchange.status {
        case 200..<300:
            return exchange
        case 408, 429, 500...:
            throw DeliveryError(.retryable(after: VendorHTTP.retryAfter(exchange.headers)), "\(service) answered \(exchange.status)\(snippet)")
        default:
            throw DeliveryError(.permanent, "\(service) answered \(exchange.status)\(snippet)")
        }
    }

    func json(_ method: HTTPMethod, _ url: String, headers: [(String, String)], body: JSONValue? = nil) async throws(DeliveryError) -> JSONValue {
        var data: Data?
        if let body {
            do {
                data = try JSONEncoder().encode(body)
            } catch {
                throw DeliveryError(.permanent, "cannot encode the \(service) request")
            }
        }
        let exchange = try await send(method, url, headers: headers + [("Content-Type", "application/json; charset=utf-8"), ("Accept", "application/json")], body: data)
        if exchange.body.isEmpty { return .null }
        do {
            return try JSONValue.parse(exchange.body)
        } catch {
            throw DeliveryError(.retryable(after: nil), "\(service) answered something that is not JSON")
        }
    }
}
