import Hummingbird
import NIOCore
import RCACore

/// The request context of every route: Hummingbird's core storage, the
/// caller's address (kept with each stored webhook payload), and the signed-in
/// user once the API's authenticator has checked the session token.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public var user: SessionUser?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The signed-in user, if their role is at least `role`; 403 otherwise.
    func require(_ role: UserRole) throws -> SessionUser {
        guard let user else { throw APIError(.unauthorized, "sign in first: send the token from POST /api/login as Authorization: Bearer TOKEN") }
        guard user.role >= role else {
            throw APIError(.forbidden, "this needs the \(role.rawValue) role; your account \(user.email) is \(user.role.rawValue)")
        }
        return user
    }
}

/// Who is calling, as their session token and the user store say.
public struct SessionUser: Sendable, Equatable {
    public let id: Int64
    public let email: String
    public let name: String?
    public let role: UserRole
}
