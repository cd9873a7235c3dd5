import Foundation
import Hummingbird
import RCACore
import RCAStore

/// `GET /api/dedup-check/{run_id}`: whether an alert for a platform run
/// would open a ticket or fold into an existing one, as the prototype's
/// senders ask before sending. Alert senders authenticate with the webhook
/// token (`X-RCA-Token` or `?token=`), whose wrong tries count towards the
/// same guess limit as on the alert endpoints; dashboard users with their
/// session.
struct DedupCheckRoutes: Sendable {
    let database: Database
    let tokenCheck: WebhookTokenCheck
    let authenticator: SessionAuthenticator

    struct Answer: ResponseEncodable {
        let run_id: String
        let duplicate: Bool
        let ticket_id: String?
        let status: String?
        let occurrence_count: Int?
        let first_seen: String?
        let last_seen: String?

        enum CodingKeys: String, CodingKey {
            case run_id, duplicate, ticket_id, status, occurrence_count, first_seen, last_seen
        }

        /// Every field is present, `null` when there is no ticket, as the prototype's clients read it.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(run_id, forKey: .run_id)
            try container.encode(duplicate, forKey: .duplicate)
            try container.encode(ticket_id, forKey: .ticket_id)
            try container.encode(status, forKey: .status)
            try container.encode(occurrence_count, forKey: .occurrence_count)
            try container.encode(first_seen, forKey: .first_seen)
            try container.encode(last_seen, forKey: .last_seen)
        }
    }

    func register(on api: RouterGroup<AppRequestContext>) {
        api.get("dedup-check/:run_id") { request, context in
            try await authenticate(request, context: context)
            let runID = try context.parameters.require("run_id")
            guard (1...200).contains(runID.count) else { throw APIError(.badRequest, "run_id must be 1 to 200 characters") }
            let ticket = try await TicketQueries(database: database).newest(runID: runID)
            return Answer(
                run_id: runID, duplicate: ticket != nil, ticket_id: ticket?.id, status: ticket?.status,
                occurrence_count: ticket?.occurrenceCount, first_seen: ticket?.firstSeen, last_seen: ticket?.lastSeen
            )
        }
    }

    private func authenticate(_ request: Request, context: AppRequestContext) async throws {
        if let bearer = SessionAuthenticator.bearerToken(request), !WebhookTokenCheck.isPresented(in: request) {
            _ = try await authenticator.user(bearer: bearer)
        } else {
            try await tokenCheck.verify(request, context: context)
        }
    }
}
