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

    init(client: HTTPClient, timeout: Duration, service: String) {
        http = VendorHTTP(client: client, timeout: timeout)
        self.service = service
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
        let snippet = Redactor.redact(VendorHTTP.snippet(exchange.body))
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
