import Foundation

/// What an enrichment found out about a failure: the real error text and
/// facts worth keeping on the ticket.
public struct Enrichment: Sendable, Equatable {
    public var errorMessage: String
    public var runID: String?
    public var details: [String: String]

    public init(errorMessage: String, runID: String? = nil, details: [String: String] = [:]) {
        self.errorMessage = errorMessage
        self.runID = runID
        self.details = details
    }
}

/// Why an enrichment call failed. Secrets never appear in these messages.
public enum EnrichmentError: Error, Equatable, CustomStringConvertible {
    case unauthorized(String)
    case notFound(String)
    case rateLimited(retryAfter: Duration?)
    case serverError(status: Int)
    case timeout
    case transport(String)
    case invalidResponse(String)
    /// The request was not sent: an id from the alert or the vendor's answer
    /// is not of the form the API gives out, or names something outside what
    /// the operator allowed.
    case refused(String)

    /// Whether trying again later may succeed.
    public var isRetryable: Bool {
        switch self {
        case .rateLimited, .serverError, .timeout, .transport: true
        case .unauthorized, .notFound, .invalidResponse, .refused: false
        }
    }

    public var description: String {
        switch self {
        case .unauthorized(let detail): "authentication failed (\(detail))"
        case .notFound(let detail): "not found (\(detail))"
        case .rateLimited(let retryAfter): "rate limited" + (retryAfter.map { ", retry after \($0)" } ?? "")
        case .serverError(let status): "the service answered \(status)"
        case .timeout: "the service did not answer in time"
        case .transport(let detail): "cannot reach the service (\(detail))"
        case .invalidResponse(let detail): "unexpected response (\(detail))"
        case .refused(let detail): "not called (\(detail))"
        }
    }
}

/// Finds the real error behind an alert by asking the platform that failed.
/// Each vendor's client implements it for the requests it understands.
public protocol AlertEnricher: Sendable {
    /// Returns nil when the request is not this enricher's kind.
    func enrich(_ request: EnrichmentRequest) async throws(EnrichmentError) -> Enrichment?
}
