import Foundation
import Hummingbird
import RCACore
import RCASources
import RCAStore

/// Admin-only API: accounts, and the stored webhook payloads with replay.
struct AdminRoutes: Sendable {
    let database: Database
    let users: UserStore
    let hasher: PasswordHasher
    let replayer: PayloadReplayer
    let wakeups: JobWakeups

    struct UserView: ResponseEncodable {
        let email: String
        let name: String?
        let role: String
        let disabled: Bool
        let created_at: String
        let last_login: String?

        init(_ record: UserRecord) {
            email = record.email
            name = record.fullName
            role = record.role.rawValue
            disabled = record.disabled
            created_at = record.createdAt
            last_login = record.lastLogin
        }
    }

    struct NewUser: Decodable {
        let email: String
        let name: String?
        let role: UserRole?
    }

    struct CreatedUser: ResponseEncodable {
        let user: UserView
        /// Shown once; the account's owner changes it with `rca-assistant user reset-password` or an admin gives a new one.
        let password: String
    }

    struct UserChange: Decodable {
        let role: UserRole?
        let disabled: Bool?
    }

    struct PayloadView: ResponseEncodable {
        let id: Int64
        let received_at: String
        let endpoint: String
        let body_size: Int
        let parse_status: String
        let parse_error: String?
        let ticket_ids: String?
    }

    struct ReplayAnswer: ResponseEncodable {
        let payload_id: Int64
        let status: String
        let detail: String?
        let ticket_ids: [String]
    }

    func register(on api: RouterGroup<AppRequestContext>) {
        api.get("users") { _, context in
            _ = try context.require(.admin)
            return try await users.all().map(UserView.init)
        }
        api.post("users") { request, context in
            _ = try context.require(.admin)
            let input = try await APIInput.decode(NewUser.self, from: request, context: context)
            let email = UserStore.normalize(email: input.email)
            guard email.contains("@"), email.count <= 254 else { throw APIError(.badRequest, "give a valid e-mail address") }
            let password = RandomSecret.password()
            guard try await users.insertIfAbsent(email: email, passwordHash: try await hasher.hash(password), fullName: input.name, role: input.role ?? .viewer),
                  let record = try await users.find(email: email)
            else { throw APIError(.conflict, "an account with this e-mail already exists") }
            return try CreatedUser(user: UserView(record), password: password).response(from: request, context: context).with(status: .created)
        }
        api.patch("users/:email") { request, context in
            let admin = try context.require(.admin)
            let email = UserStore.normalize(email: try context.parameters.require("email"))
            let change = try await APIInput.decode(UserChange.self, from: request, context: context)
            if email == admin.email, change.disabled == true || (change.role.map { $0 != .admin } ?? false) {
                throw APIError(.conflict, "you cannot remove your own admin access; ask another admin")
            }
            do {
                if let role = change.role { try await users.setRole(email: email, role) }
                if let disabled = change.disabled { try await users.setDisabled(email: email, disabled) }
            } catch let error as UserStoreError {
                throw APIError(.notFound, error.description)
            }
            guard let record = try await users.find(email: email) else { throw APIError(.notFound, "no user with e-mail \(email)") }
            return UserView(record)
        }
        api.get("payloads") { request, context in
            _ = try context.require(.admin)
            let status = request.uri.queryParameters.get("status") ?? "failed"
            guard ["failed", "parsed", "ignored", "pending"].contains(status) else {
                throw APIError(.badRequest, "status must be failed, parsed, ignored or pending")
            }
            let limit = try TicketRoutes.integer(request, "limit", default: 100, range: 1...1000)
            return try await RawPayloadStore(database: database).list(status: status, limit: limit).map {
                PayloadView(
                    id: $0.id, received_at: $0.receivedAt, endpoint: $0.endpoint, body_size: $0.bodySize,
                    parse_status: $0.parseStatus, parse_error: $0.parseError, ticket_ids: $0.ticketIDs
                )
            }
        }
        api.post("payloads/:id/replay") { _, context in
            _ = try context.require(.admin)
            guard let id = Int64(try context.parameters.require("id")) else { throw APIError(.badRequest, "the payload id is a number") }
            do {
                guard let outcome = try await replayer.replay(ids: [id]).first else { throw APIError(.notFound, "no payload #\(id)") }
                if let created = outcome.result?.created, !created.isEmpty { wakeups.signal(jobs: created.count) }
                return ReplayAnswer(payload_id: id, status: outcome.status, detail: outcome.detail, ticket_ids: outcome.result?.ticketIDs ?? [])
            } catch let error as ReplayError {
                throw APIError(.notFound, error.description)
            }
        }
    }
}
