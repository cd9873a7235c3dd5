import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RCACore
import RCASources
import RCAStore

/// The alert endpoints, one per registered source. Each request is
/// authenticated by the webhook token, stored as received, parsed, and
/// applied to the tickets in one transaction before it is answered 202;
/// enrichment, analysis and notification happen later, in the workers.
struct WebhookRoutes: Sendable {
    let parsers: [any AlertPayloadParser]
    let tokenCheck: WebhookTokenCheck
    let maxBodyBytes: Int
    let ingestion: Ingestion

    struct Accepted: ResponseEncodable {
        let status: String
        let ticket_ids: [String]
        let payload_id: Int64
        var reason: String?
        /// The first ticket, under the prototype's name, for senders written against it.
        var ticket_id: String?

        init(status: String, ticket_ids: [String], payload_id: Int64, reason: String? = nil) {
            self.status = status
            self.ticket_ids = ticket_ids
            self.payload_id = payload_id
            self.reason = reason
            self.ticket_id = ticket_ids.first
        }
    }

    func register(on router: Router<AppRequestContext>) {
        for parser in parsers {
            router.post(RouterPath(parser.endpoint)) { request, context in
                try await receive(request, context: context, parser: parser)
            }
        }
    }

    private func receive(_ request: Request, context: AppRequestContext, parser: any AlertPayloadParser) async throws -> Response {
        try await tokenCheck.verify(request, context: context)
        let receivedAt = Date()
        let (body, size) = try await read(request.body)
        let payload = IncomingPayload(
            endpoint: parser.endpoint,
            contentType: request.headers[.contentType],
            remoteAddress: tokenCheck.clients.client(peer: context.remoteAddress?.ipAddress, headers: request.headers),
            body: body,
            bodySize: size,
            receivedAt: receivedAt
        )
        guard size <= maxBodyBytes else {
            let reason = "the body is \(size)+ bytes, over the limit of \(maxBodyBytes) bytes (MAX_BODY_BYTES); its first \(body.count) bytes were kept"
            let result = try await store(payload, outcome: .failed(reason))
            throw APIError(.contentTooLarge, reason + " as payload #\(result.payloadID)")
        }
        let (outcome, error) = parser.outcome(of: body, receivedAt: receivedAt)
        let result = try await store(payload, outcome: outcome)
        if let error {
            let status: HTTPResponse.Status = if case .notJSON = error { .badRequest } else { .unprocessableContent }
            context.logger.warning("webhook payload not understood", metadata: ["endpoint": .string(parser.endpoint), "payload_id": "\(result.payloadID)"])
            throw APIError(status, "\(error.description). The payload was kept as #\(result.payloadID) and can be replayed with `rca-assistant replay \(result.payloadID)`")
        }
        let answer: Accepted
        switch outcome {
        case .ignored(let reason):
            answer = Accepted(status: "ignored", ticket_ids: [], payload_id: result.payloadID, reason: reason)
        default:
            let status =
                if !result.created.isEmpty { "accepted" } else if !result.duplicates.isEmpty { "duplicate_ignored" } else if !result.resolved.isEmpty { "resolved" } else { "ignored" }
            answer = Accepted(
                status: status,
                ticket_ids: result.ticketIDs,
                payload_id: result.payloadID,
                reason: status == "ignored" ? "the resolution matches no ticket; resolutions never open one" : nil
            )
        }
        return try answer.response(from: request, context: context).with(status: .accepted)
    }

    /// Reads at most `maxBodyBytes + 1` bytes: enough to know the body is too
    /// large without holding all of it.
    private func read(_ body: RequestBody) async throws -> (Data, Int) {
        var data = Data()
        var size = 0
        for try await buffer in body {
            size += buffer.readableBytes
            if data.count <= maxBodyBytes {
                let room = maxBodyBytes + 1 - data.count
                data.append(contentsOf: buffer.readableBytesView.prefix(room))
            }
            if size > maxBodyBytes { break }
        }
        return (data.prefix(maxBodyBytes), size)
    }

    private func store(_ payload: IncomingPayload, outcome: PayloadOutcome) async throws -> IngestionResult {
        do {
            return try await ingestion.ingest(payload, outcome: outcome)
        } catch let error as DatabaseError {
            throw APIError(.serviceUnavailable, "the database is unavailable (\(error.reason)); nothing was stored, retry later", headers: [.retryAfter: "5"])
        } catch let failure as IngestionFailure {
            throw APIError(
                .internalServerError,
                "the payload was kept as #\(failure.payloadID) but \(failure.reason); this is a fault of the server, and the payload can be replayed with `rca-assistant replay \(failure.payloadID)` once it is fixed"
            )
        }
    }
}

/// The alert senders' credential: the webhook token, in the `X-RCA-Token`
/// header or `?token=`, compared in constant time. Wrong or missing tokens
/// are counted per client address; past the limit an address's wrong
/// tokens are answered 429 until its window passes. A right token is always
/// accepted: a sender sharing an address (or a proxy) with a guesser keeps
/// delivering.
struct WebhookTokenCheck: Sendable {
    static let header = HTTPField.Name("X-RCA-Token")!

    let token: String
    /// Nil: wrong tokens are not counted (`WEBHOOK_GUESS_LIMIT=0`).
    let guesses: GuessThrottle?
    let clients: ClientAddresses

    /// Whether the request carries a token at all.
    static func isPresented(in request: Request) -> Bool {
        request.headers[header] != nil || request.uri.queryParameters.get("token") != nil
    }

    func verify(_ request: Request, context: AppRequestContext) async throws {
        let presented = request.headers[Self.header] ?? request.uri.queryParameters.get("token")
        guard let presented, ConstantTime.equals(presented, token) else {
            let address = clients.throttleKey(peer: context.remoteAddress?.ipAddress, headers: request.headers)
            if let wait = try await guesses?.reserve(address) {
                throw APIError.throttled("too many requests with a wrong webhook token from this address", wait: wait)
            }
            throw APIError(
                .unauthorized,
                presented == nil
                    ? "missing webhook token: send it in the X-RCA-Token header or as ?token= in the URL"
                    : "wrong webhook token; the server prints the webhook URLs with the right one at start"
            )
        }
    }
}

extension Response {
    func with(status: HTTPResponse.Status) -> Response {
        var response = self
        response.status = status
        return response
    }
}
