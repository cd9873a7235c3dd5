import Foundation
import HTTPTypes
import JWTKit
import Hummingbird
import RCACore
import RCAStore

/// Checks the session token of every API request and loads its user, so
/// that a disabled account, a changed role, a new password or a sign-out
/// (each moves the account's `sessions_valid_after`) takes effect at once
/// rather than when the token expires. Routes then ask for the role they need.
struct SessionAuthenticator: RouterMiddleware {
    let tokens: SessionTokens
    let users: UserStore

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        context.user = try await user(bearer: Self.bearerToken(request))
        return try await next(request, context)
    }

    static func bearerToken(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return nil }
        return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    /// The user a token belongs to; 401 for a missing, forged, expired or revoked one.
    func user(bearer token: String?) async throws -> SessionUser {
        try await session(bearer: token).user
    }

    /// The user a token belongs to and when the token expires.
    func session(bearer token: String?) async throws -> (user: SessionUser, expiresAt: Date) {
        guard let token, !token.isEmpty else {
            throw APIError(.unauthorized, "sign in first: send the token from POST /api/login as Authorization: Bearer TOKEN")
        }
        let claims: SessionClaims
        do {
            claims = try await tokens.verify(token)
        } catch {
            throw APIError(.unauthorized, "the session token is invalid or expired; sign in again")
        }
        guard let id = Int64(claims.sub.value), let record = try await users.find(id: id), !record.disabled else {
            throw APIError(.unauthorized, "this account no longer exists or is disabled")
        }
        if let validAfter = record.sessionsValidAfter.flatMap(Timestamp.date(from:)), claims.issuedAt <= validAfter {
            throw APIError(.unauthorized, "this session was ended (sign-out, new password or role change); sign in again")
        }
        return (SessionUser(id: record.id, email: record.email, name: record.fullName, role: record.role), claims.exp.value)
    }
}
