import Foundation
import Hummingbird

/// `GET /openapi.json`: the API's description, kept in the bundle; a test
/// checks that it lists every route the router answers.
struct OpenAPIRoutes: Sendable {
    static let document: ByteBuffer? = Bundle.module.url(forResource: "openapi", withExtension: "json")
        .flatMap { try? Data(contentsOf: $0) }
        .map { ByteBuffer(bytes: $0) }

    func register(on router: Router<AppRequestContext>) {
        router.get("/openapi.json") { _, _ in
            guard let document = Self.document else { throw APIError(.internalServerError, "the API description is missing from the build") }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: document))
        }
    }
}
