import Foundation
import Hummingbird
import NIOCore

/// An error answered to an HTTP client as `{"error": "...", "status": N,
/// "request_id": "..."}`, with a message that says what to do about it.
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let message: String
    public var headers: HTTPFields
    public var requestID: String?

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    func withRequestID(_ id: String) -> APIError {
        var copy = self
        if copy.requestID == nil { copy.requestID = id }
        return copy
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder().encode(APIErrorBody(error: message, status: Int(status.code), request_id: requestID))
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        if let requestID { headers[RequestIDMiddleware<BasicRequestContext>.headerName] = requestID }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The JSON shape of every error response.
struct APIErrorBody: Encodable {
    let error: String
    let status: Int
    let request_id: String?
}
