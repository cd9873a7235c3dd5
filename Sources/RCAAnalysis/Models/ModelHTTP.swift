import AsyncHTTPClient
import Foundation
import NIOHTTP1
import RCACore
import RCASources

/// Sends one JSON request to a model provider and maps the answer's status
/// to `ModelCallError`. Both Gemini and OpenAI put a human-readable message in
/// `error.message`; Gemini says how long to wait in a `RetryInfo` detail,
/// OpenAI-compatible servers in `Retry-After`.
struct ModelHTTP: Sendable {
    let http: VendorHTTP
    /// The API key, never to appear in an error even if the provider echoes it.
    let apiKey: String?

    init(client: HTTPClient, timeout: Duration, apiKey: String?) {
        http = VendorHTTP(client: client, timeout: timeout)
        self.apiKey = apiKey
    }

    func post(_ url: String, headers: [(String, String)], body: JSONValue) async throws(ModelCallError) -> JSONValue {
        let encoded: Data
        do {
            encoded = try JSONEncoder().encode(body)
        } catch {
            throw .invalidResponse("cannot encode the request: \(error)")
        }
        let exchange: VendorHTTP.Exchange
        do {
            exchange = try await http.exchange(.POST, url, headers: headers + [("Content-Type", "application/json")], body: encoded)
        } catch {
            switch error {
            case .timeout: throw .timeout
            default: throw .transport(error.description)
            }
        }
        let json = try? JSONValue.parse(exchange.body)
        var detail = Redactor.redact(json.map(Self.message(in:)) ?? VendorHTTP.snippet(exchange.body))
        if let apiKey, !apiKey.isEmpty { detail = detail.replacingOccurrences(of: apiKey, with: Redactor.marker) }
        let retryAfter = VendorHTTP.retryAfter(exchange.headers) ?? json.flatMap(Self.retryDelay(in:))
        switch exchange.status {
        case 200..<300:
            guard let json else { throw .invalidResponse("the body is not JSON\(VendorHTTP.snippet(exchange.body))") }
            return json
        case 401, 403: throw .unauthorized("HTTP \(exchange.status)\(detail.isEmpty ? "" : ": \(detail)")")
        case 408: throw .timeout
        case 429: throw .rateLimited(retryAfter: retryAfter, detail: detail)
        case 500...: throw .unavailable(status: exchange.status, retryAfter: retryAfter, detail: detail)
        default: throw .rejected(status: exchange.status, detail: detail)
        }
    }

    /// `error.message` of a provider's error body, cut to a readable length.
    static func message(in body: JSONValue) -> String {
        String((body["error"]["message"].string ?? body["error"].string ?? "").prefix(300))
    }

    /// Gemini's `google.rpc.RetryInfo.retryDelay` ("26s", "1.5s").
    static func retryDelay(in body: JSONValue) -> Duration? {
        for detail in body["error"]["details"].array ?? [] where detail["@type"].string?.hasSuffix("google.rpc.RetryInfo") == true {
            guard var text = detail["retryDelay"].string, text.hasSuffix("s") else { continue }
            text.removeLast()
            if let seconds = Double(text), seconds >= 0 { return .milliseconds(Int64(seconds * 1000)) }
        }
        return nil
    }
}
