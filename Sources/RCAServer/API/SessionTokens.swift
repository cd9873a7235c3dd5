import Foundation
import JWTKit
import RCACore

/// The claims of a dashboard session: who, with which role, until when.
struct SessionClaims: JWTPayload, Equatable {
    var sub: SubjectClaim
    var email: String
    var role: String
    var iat: IssuedAtClaim
    var exp: ExpirationClaim
    /// When the token was issued, in milliseconds: `iat` has whole seconds,
    /// too coarse to tell a token from a revocation in the same second.
    /// Tokens from before this claim existed fall back to `iat`.
    var iat_ms: Int64?

    var issuedAt: Date {
        iat_ms.map { Date(timeIntervalSince1970: Double($0) / 1000) } ?? iat.value
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Signs and checks session tokens (HS256 with `JWT_SECRET`). Replicas that
/// share the secret accept each other's tokens.
public struct SessionTokens: Sendable {
    /// The signing key, set up on first use (JWTKit's key collection is an actor).
    private actor Keys {
        let secret: String
        var collection: JWTKeyCollection?

        init(secret: String) {
            self.secret = secret
        }

        func get() async -> JWTKeyCollection {
            if let collection { return collection }
            let keys = JWTKeyCollection()
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
            collection = keys
            return keys
        }
    }

    private let keys: Keys
    public let lifetime: Duration

    public init(secret: String, lifetime: Duration) {
        keys = Keys(secret: secret)
        self.lifetime = lifetime
    }

    /// A token for `user`, and when it expires.
    public func issue(userID: Int64, email: String, role: UserRole, now: Date = Date()) async throws -> (token: String, expiresAt: Date) {
        let expires = now.addingTimeInterval(TimeInterval(lifetime.components.seconds))
        let claims = SessionClaims(
            sub: .init(value: String(userID)), email: email, role: role.rawValue, iat: .init(value: now), exp: .init(value: expires),
            iat_ms: Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        )
        return (try await keys.get().sign(claims), expires)
    }

    /// The claims of a valid token; throws for a forged, expired or malformed one.
    func verify(_ token: String) async throws -> SessionClaims {
        try await keys.get().verify(token, as: SessionClaims.self)
    }
}
