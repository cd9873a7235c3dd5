import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket

/// `GET /ws`: the dashboard's live feed. The session token comes in the
/// query (`/ws?token=…`), since browsers cannot set headers on a WebSocket;
/// query strings are never logged. Events are sent as JSON text frames; a
/// client that stops reading is disconnected when its buffer fills or a write
/// stalls for `writeTimeout`. A feed lives no longer than its session: it is
/// closed (code 1008) when the token expires, and within `sessionRecheck` of
/// the account being disabled, signed out or given another role.
struct LiveSocket: Sendable {
    let events: LiveEvents
    let authenticator: SessionAuthenticator
    let writeTimeout: Duration
    var sessionRecheck: Duration = .seconds(10)

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
              let (user, expiresAt) = try? await authenticator.session(bearer: Self.token(inPath: path))
        else { return .dontUpgrade }
        let token = Self.token(inPath: path)
        return .upgrade([:]) { inbound, outbound, _ in
            logger.debug("dashboard connected", metadata: ["user": .string(user.email)])
            let stream = events.subscribe()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await _ in inbound {}
                }
                group.addTask {
                    let reason = await endOfSession(token: token, expiresAt: expiresAt)
                    logger.debug("dashboard disconnected", metadata: ["user": .string(user.email), "reason": .string(reason)])
                    try await outbound.close(.policyViolation, reason: reason)
                }
                group.addTask {
                    let encoder = JSONEncoder()
                    let hello = String(decoding: try encoder.encode(["type": "hello", "user": user.email]), as: UTF8.self)
                    try await outbound.write(.text(hello))
                    for await event in stream {
                        let text = String(decoding: try encoder.encode(LiveEventMessage(event)), as: UTF8.self)
                        try await write(text, to: outbound)
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    /// Waits until the session behind a feed ends, and says why.
    private func endOfSession(token: String?, expiresAt: Date) async -> String {
        while !Task.isCancelled {
            let untilExpiry = expiresAt.timeIntervalSinceNow
            if untilExpiry <= 0 { return "session expired" }
            let wait = min(Duration.milliseconds(Int64(untilExpiry * 1000) + 1), sessionRecheck)
            try? await Task.sleep(for: wait)
            if expiresAt.timeIntervalSinceNow <= 0 { return "session expired" }
            do {
                _ = try await authenticator.session(bearer: token)
            } catch let error as APIError where error.status == .unauthorized {
                return "session ended"
            } catch {
                continue
            }
        }
        return "closing"
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
