import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RCAStore

/// Gives every request an id that appears on each of its log lines and in the
/// `X-Request-Id` response header. A well-formed id sent by a proxy is kept so
/// that logs correlate across hops.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    static var headerName: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let inbound = request.headers[Self.headerName], Self.isAcceptable(inbound) {
            context.logger[metadataKey: "hb.request.id"] = .string(inbound)
        }
        var response = try await next(request, context)
        response.headers[Self.headerName] = context.id
        return response
    }

    static func isAcceptable(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x2D || byte == 0x5F || byte == 0x2E
            }
    }
}

/// Logs each answered request once (method, route, path without its query
/// string, which may carry a token, status and duration) and feeds the
/// request metrics.
struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: AppMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let status: Int
        do {
            let response = try await next(request, context)
            status = Int(response.status.code)
            finish(request, context: context, status: status, start: start)
            return response
        } catch {
            status = Int((error as? any HTTPResponseError)?.status.code ?? 500)
            finish(request, context: context, status: status, start: start)
            throw error
        }
    }

    private func finish(_ request: Request, context: Context, status: Int, start: ContinuousClock.Instant) {
        let duration = ContinuousClock.now - start
        let route = context.endpointPath ?? "unmatched"
        metrics.requestFinished(route: route, method: request.method.rawValue, status: status, duration: duration)
        context.logger.log(
            level: status >= 500 ? .error : .info,
            "request answered",
            metadata: [
                "method": .string(request.method.rawValue),
                "path": .string(request.uri.path),
                "status": .stringConvertible(status),
                "duration_ms": .string(String(format: "%.2f", duration.seconds * 1000)),
            ]
        )
    }
}

/// Turns any error into a JSON body a person can act on. Unexpected errors
/// are logged in full and answered with a generic 500 that names the request
/// id, never with internal details.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error.withRequestID(context.id)
        } catch let error as DatabaseError {
            throw APIError(.serviceUnavailable, "the database is unavailable (\(error.reason)); retry later", headers: [.retryAfter: "5"])
                .withRequestID(context.id)
        } catch let error as HTTPError {
            let message = error.body ?? Self.defaultMessage(for: error.status, path: request.uri.path)
            throw APIError(error.status, message, headers: error.headers).withRequestID(context.id)
        } catch {
            context.logger.error("unexpected error", metadata: ["error": .string(String(reflecting: error))])
            throw APIError(.internalServerError, "an unexpected error occurred; quote request id \(context.id) when reporting it")
                .withRequestID(context.id)
        }
    }

    static func defaultMessage(for status: HTTPResponse.Status, path: String) -> String {
        switch status {
        case .notFound: "no such endpoint: \(path)"
        case .methodNotAllowed: "this endpoint does not accept that method"
        default: status.reasonPhrase
        }
    }
}
