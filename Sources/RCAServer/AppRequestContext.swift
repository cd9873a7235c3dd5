import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's core storage plus the
/// caller's address, which is kept with each stored webhook payload.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
