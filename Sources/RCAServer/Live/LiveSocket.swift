import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// `GET /ws`: the dashboard's live feed. The session token comes in the
/// query (`/ws?token=…`), since browsers cannot set headers on a WebSocket;
/// query strings are never logged. Events are sent as JSON text frames; a
/// client that stops reading is disconnected when its buffer fills or a write
/// stalls for `writeTimeout`.
struct LiveSocket: Sendable {
    let events: LiveEvents
    let authenticator: SessionAuthenticator
    let writeTimeout: Duration

    static let path = "/ws"

    /// The token of a WebSocket request, from its query string.
    static func token(inPath path: String) -> String? {
        guard let query = path.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in query.split(separator: "&") where pair.hasPrefix("token=") {
            return String(pair.dropFirst(6)).removingPercentEncoding
        }
        return nil
    }

    /// Decides an upgrade: only a valid session may listen.
    func shouldUpgrade(_ request: HTTPRequest, logger: Logger) async -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        guard let path = request.path, path.split(separator: "?").first == Substring(Self.path),
              let user = try? await authenticator.user(bearer: Self.token(inPath: path))
        else { return .dontUpgrade }
        return .upgrade([:]) { inbound, outbound, _ in
            logger.debug("dashboard connected", metadata: ["user": .string(user.email)])
            let stream = events.subscribe()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await _ in inbound {}
                }
                group.addTask {
                    let encoder = JSONEncoder()
                    let hello = String(decoding: try encoder.encode(["type": "hello", "user": user.email]), as: UTF8.self)
                    try await outbound.write(.text(hello))
                    for await event in stream {
                        let text = String(decoding: try encoder.encode(event), as: UTF8.self)
                        try await write(text, to: outbound)
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    private func write(_ text: String, to outbound: WebSocketOutboundWriter) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await outbound.write(.text(text))
                return true
            }
            group.addTask {
                try await Task.sleep(for: writeTimeout)
                return false
            }
            let finished = try await group.next() ?? false
            group.cancelAll()
            if !finished { throw CancellationError() }
        }
    }

    /// The plain-HTTP answer for `/ws` when no upgrade happened: why not.
    func register(on router: Router<AppRequestContext>) {
        router.get(RouterPath(Self.path)) { request, _ -> Response in
            _ = try await authenticator.user(bearer: request.uri.queryParameters.get("token"))
            throw APIError(.badRequest, "this endpoint speaks WebSocket: connect with an Upgrade: websocket request")
        }
    }
}
