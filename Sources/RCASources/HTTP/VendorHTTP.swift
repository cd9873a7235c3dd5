import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RCACore

/// The one way vendor clients call HTTP APIs: a deadline on every call, and
/// status codes mapped to `EnrichmentError` so that callers know what is
/// worth retrying. Response bodies are returned; request headers (which
/// carry tokens) are never put into errors.
public struct VendorHTTP: Sendable {
    let client: HTTPClient
    let timeout: TimeAmount
    static let maxResponseBytes = 16 << 20

    /// An answer of any status, for callers that read error bodies themselves.
    public struct Exchange: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: Data
    }

    /// The client every credentialed call uses: it follows no redirect, so
    /// an answer cannot send a token on to a host nobody configured (a 3xx
    /// is returned as it is and reported as an unexpected answer).
    public static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public init(client: HTTPClient, timeout: Duration) {
        self.client = client
        self.timeout = .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
    }

    /// A base URL without trailing slashes, so that paths can be appended.
    public static func base(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    func send(
        _ method: HTTPMethod,
        _ url: String,
        headers: [(String, String)],
        body: Data? = nil
    ) async throws(EnrichmentError) -> Data {
        let response = try await exchange(method, url, headers: headers, body: body)
        let bytes = response.body
        switch response.status {
        case 200..<300: return bytes
        case 401, 403: throw .unauthorized("HTTP \(response.status)\(Self.snippet(bytes))")
        case 404: throw .notFound("HTTP 404\(Self.snippet(bytes))")
        case 429: throw .rateLimited(retryAfter: Self.retryAfter(response.headers))
        case 500...: throw .serverError(status: response.status)
        default: throw .invalidResponse("HTTP \(response.status)\(Self.snippet(bytes))")
        }
    }

    /// The `Retry-After` header in whole seconds, when present.
    public static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        headers.first(name: "Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }.map { .seconds($0) }
    }

    /// Sends a request and returns the answer whatever its status; only a
    /// timeout or a failed connection throws.
    public func exchange(
        _ method: HTTPMethod,
        _ url: String,
        headers: [(String, String)],
        body: Data? = nil
    ) async throws(EnrichmentError) -> Exchange {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response: HTTPClientResponse
        let data: ByteBuffer
        do {
            response = try await client.execute(request, timeout: timeout)
            data = try await response.body.collect(upTo: Self.maxResponseBytes)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw .timeout
        } catch {
            throw .transport(Self.describe(error))
        }
        return Exchange(status: Int(response.status.code), headers: response.headers, body: Data(data.readableBytesView))
    }

    /// The start of an error body, which vendors fill with a useful message.
    public static func snippet(_ body: Data) -> String {
        let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "" : ": \(text)"
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return String(describing: error) }
        return String(describing: type(of: error))
    }
}
