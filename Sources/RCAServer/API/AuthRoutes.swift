import Foundation
import Hummingbird
import RCACore
import RCAStore

/// `POST /api/login`, `POST /api/register` (only with `ALLOW_REGISTRATION=true`),
/// `POST /api/logout` (ends every session of the account) and `GET /api/me`.
struct AuthRoutes: Sendable {
    let users: UserStore
    let hasher: PasswordHasher
    let tokens: SessionTokens
    /// Failed sign-ins per account (5 in 15 minutes by default).
    let accountThrottle: GuessThrottle
    /// Failed sign-ins per address, looser since offices share one (20 in 15 minutes).
    let addressThrottle: GuessThrottle
    /// Registrations per address (10 an hour), counted whether or not the e-mail was free.
    let registrationThrottle: GuessThrottle
    let clients: ClientAddresses
    let allowRegistration: Bool

    struct Credentials: Decodable {
        let email: String
        let password: String
        let name: String?
    }

    struct Session: ResponseEncodable {
        let token: String
        let expires_at: String
        let user: UserView
    }

    struct UserView: ResponseEncodable, Equatable {
        let email: String
        let name: String?
        let role: String
    }

    /// A hash to compare against when the account does not exist, so that
    /// unknown and known e-mails take the same time to refuse.
    private let decoyHash = "$2b$12$jG/J6K4oQG4I6q.BUTBRxuWVMBQykSiM82uwHpO3mWmZglumUV46q"

    func register(on api: RouterGroup<AppRequestContext>, protected: RouterGroup<AppRequestContext>) {
        api.post("login") { request, context in try await login(request, context: context) }
        if allowRegistration {
            api.post("register") { request, context in try await register(request, context: context) }
        }
        protected.post("logout") { request, context -> Response in
            let user = try context.require(.viewer)
            try await users.endSessions(id: user.id)
            return Response(status: .noContent)
        }
        protected.get("me") { _, context in
            let user = try context.require(.viewer)
            return UserView(email: user.email, name: user.name, role: user.role.rawValue)
        }
    }

    private func login(_ request: Request, context: AppRequestContext) async throws -> Session {
        let credentials = try await APIInput.decode(Credentials.self, from: request, context: context)
        let email = UserStore.normalize(email: credentials.email)
        let address = clients.throttleKey(peer: context.remoteAddress?.ipAddress, headers: request.headers)
        // Each attempt is counted before the password is checked, so that
        // parallel guesses cannot all pass a check made before any of them
        // failed; a successful sign-in gives its reservations back.
        let waits = [try await accountThrottle.reserve(email), try await addressThrottle.reserve(address)]
        if let wait = waits.compactMap({ $0 }).max() {
            throw APIError.throttled("too many failed sign-ins for this account or address", wait: wait)
        }
        let user = try await users.find(email: email)
        let matches = try await hasher.verify(credentials.password, hash: user?.passwordHash ?? decoyHash)
        guard let user, matches, !user.disabled else {
            throw APIError(.unauthorized, "wrong e-mail or password")
        }
        try await accountThrottle.reset(email)
        try await addressThrottle.release(address)
        try await users.recordLogin(id: user.id)
        let (token, expires) = try await tokens.issue(userID: user.id, email: user.email, role: user.role)
        return Session(token: token, expires_at: Timestamp.string(from: expires), user: UserView(email: user.email, name: user.fullName, role: user.role.rawValue))
    }

    private func register(_ request: Request, context: AppRequestContext) async throws -> Response {
        let credentials = try await APIInput.decode(Credentials.self, from: request, context: context)
        let email = UserStore.normalize(email: credentials.email)
        guard email.contains("@"), email.count <= 254 else { throw APIError(.badRequest, "give a valid e-mail address") }
        guard credentials.password.count >= 12 else { throw APIError(.badRequest, "the password must be at least 12 characters long") }
        let address = clients.throttleKey(peer: context.remoteAddress?.ipAddress, headers: request.headers)
        if let wait = try await registrationThrottle.reserve(address) {
            throw APIError.throttled("too many registrations from this address", wait: wait)
        }
        let hash = try await hasher.hash(credentials.password)
        _ = try await users.insertIfAbsent(email: email, passwordHash: hash, fullName: credentials.name, role: .viewer)
        // The same answer whether the address was free or taken, so that
        // registration cannot be used to learn who has an account.
        let answer = RegistrationAnswer(
            status: "submitted",
            detail: "if \(email) had no account, one was created with the viewer role; sign in with the password you chose"
        )
        return try answer.response(from: request, context: context).with(status: .accepted)
    }

    struct RegistrationAnswer: ResponseEncodable {
        let status: String
        let detail: String
    }
}

/// Reads JSON request bodies with errors that say what is wrong.
enum APIInput {
    static let maxBodyBytes = 64 * 1024

    static func decode<Value: Decodable>(_ type: Value.Type, from request: Request, context: AppRequestContext) async throws -> Value {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxBodyBytes)
        } catch {
            throw APIError(.contentTooLarge, "the body is over \(maxBodyBytes) bytes")
        }
        do {
            return try JSONDecoder().decode(Value.self, from: Data(body.readableBytesView))
        } catch DecodingError.keyNotFound(let key, _) {
            throw APIError(.badRequest, "the field \(key.stringValue) is missing")
        } catch DecodingError.typeMismatch(_, let where_), DecodingError.valueNotFound(_, let where_) {
            let field = where_.codingPath.map(\.stringValue).joined(separator: ".")
            throw APIError(.badRequest, "the field \(field) has the wrong type")
        } catch let error as DecodingError {
            if case .dataCorrupted(let where_) = error, let field = where_.codingPath.last?.stringValue {
                throw APIError(.badRequest, "the field \(field) has a value that is not allowed")
            }
            throw APIError(.badRequest, "the body is not valid JSON")
        }
    }
}
