import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A real HTTP server on a loopback address (127.0.0.1 unless told) with a
/// free port, standing in for a vendor's API in tests.
public final class LocalHTTPServer: Sendable {
    public let port: Int
    public let host: String
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    public var baseURL: String { "http://\(host):\(port)" }

    private init(port: Int, host: String, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.host = host
        self.group = group
        self.task = task
    }

    public static func start(_ router: Router<BasicRequestContext>, host: String = "127.0.0.1") async throws -> LocalHTTPServer {
        var logger = Logger(label: "local-http-server")
        logger.logLevel = .critical
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw LocalServerError() }
        return LocalHTTPServer(port: port, host: host, group: group, task: task)
    }

    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}

struct LocalServerError: Error {}

/// Answers queued per path, and a record of what was asked, for fake vendor APIs.
public final class ScriptedAnswers: Sendable {
    /// One scripted HTTP answer.
    public struct Answer: Sendable {
        public var status: HTTPResponse.Status
        public var body: String
        public var headers: HTTPFields
        public var delay: Duration

        public init(_ status: HTTPResponse.Status = .ok, body: String, headers: HTTPFields = [:], delay: Duration = .zero) {
            self.status = status
            self.body = body
            self.headers = headers
            self.delay = delay
        }
    }

    /// One request the fake received.
    public struct Received: Sendable {
        public let path: String
        public let query: String?
        public let authorization: String?
        public let headers: HTTPFields
        public let body: String
    }

    private let queued = Mutex<[String: [Answer]]>([:])
    private let fallback = Mutex<[String: Answer]>([:])
    private let log = Mutex<[Received]>([])

    public init() {}

    /// Answers the next request to `path` with `answer` (then the next queued one, then the fallback).
    public func enqueue(_ path: String, _ answer: Answer) {
        queued.withLock { $0[path, default: []].append(answer) }
    }

    /// Answers every request to `path` not served by the queue.
    public func always(_ path: String, _ answer: Answer) {
        fallback.withLock { $0[path] = answer }
    }

    public var received: [Received] { log.withLock { $0 } }

    public func count(_ path: String) -> Int { received.filter { $0.path == path }.count }

    /// The handler for a fake route: records the request, waits, answers.
    public func respond(to request: Request, body: String) async throws -> Response {
        let path = request.uri.path
        log.withLock {
            $0.append(Received(path: path, query: request.uri.query, authorization: request.headers[.authorization], headers: request.headers, body: body))
        }
        let answer = queued.withLock { queue -> Answer? in
            guard var answers = queue[path], !answers.isEmpty else { return nil }
            let first = answers.removeFirst()
            queue[path] = answers
            return first
        } ?? fallback.withLock { $0[path] } ?? Answer(.notFound, body: #"{"error_code":"ENDPOINT_NOT_FOUND","message":"no scripted answer"}"#)
        if answer.delay > .zero { try await Task.sleep(for: answer.delay) }
        var headers = answer.headers
        headers[.contentType] = "application/json"
        return Response(status: answer.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
    }

    /// A router that records a request to any path and answers 200 `{}`:
    /// a host that no request should reach, to show that none did.
    public func anyPathRouter() -> Router<BasicRequestContext> {
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            return try await self.respond(to: request, body: String(buffer: body))
        }
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("**", method: method, use: handler)
            router.on("/", method: method, use: handler)
        }
        return router
    }

    /// A router that serves `paths` (GET, POST and PUT) from this script.
    public func router(paths: [String]) -> Router<BasicRequestContext> {
        let router = Router()
        for path in paths {
            let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
                var request = request
                let body = try await request.collectBody(upTo: 1 << 20)
                return try await self.respond(to: request, body: String(buffer: body))
            }
            router.get(RouterPath(path), use: handler)
            router.post(RouterPath(path), use: handler)
            router.put(RouterPath(path), use: handler)
        }
        return router
    }
}
