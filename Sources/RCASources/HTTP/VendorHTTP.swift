import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RCACore

/// The one way vendor clients call HTTP APIs: a deadline on every call, and
/// status codes mapped to `EnrichmentError` so that callers know what is
/// worth retrying. Response bodies are returned; request headers (which
/// carry tokens) are never put into errors.
struct VendorHTTP: Sendable {
    let client: HTTPClient
    let timeout: TimeAmount
    static let maxResponseBytes = 16 << 20

    init(client: HTTPClient, timeout: Duration) {
        self.client = client
        self.timeout = .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
    }

    /// A base URL without trailing slashes, so that paths can be appended.
    static func base(_ url: String) -> String {
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
        let bytes = Data(data.readableBytesView)
        switch response.status.code {
        case 200..<300: return bytes
        case 401, 403: throw .unauthorized("HTTP \(response.status.code)\(Self.snippet(bytes))")
        case 404: throw .notFound("HTTP 404\(Self.snippet(bytes))")
        case 429:
            let retryAfter = response.headers.first(name: "Retry-After").flatMap(Int.init).map { Duration.seconds($0) }
            throw .rateLimited(retryAfter: retryAfter)
        case 500...: throw .serverError(status: Int(response.status.code))
        default: throw .invalidResponse("HTTP \(response.status.code)\(Self.snippet(bytes))")
        }
    }

    /// The start of an error body, which vendors fill with a useful message.
    private static func snippet(_ body: Data) -> String {
        let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "" : ": \(text)"
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return String(describing: error) }
        return String(describing: type(of: error))
    }
}
