import Foundation
import HTTPTypes
import Hummingbird

/// The dashboard's pages and assets, read once from the bundle into memory.
/// Only files that exist in the bundle are served, by exact name, so no path
/// can reach outside it.
struct DashboardRoutes: Sendable {
    struct Asset: Sendable {
        let body: ByteBuffer
        let contentType: String
    }

    let assets: [String: Asset]

    init() throws {
        guard let folder = Bundle.module.url(forResource: "dashboard", withExtension: nil) else {
            throw DashboardAssetsMissing()
        }
        var assets: [String: Asset] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            let type: String? = switch (name as NSString).pathExtension {
            case "html": "text/html; charset=utf-8"
            case "css": "text/css; charset=utf-8"
            case "js": "text/javascript; charset=utf-8"
            case "svg": "image/svg+xml"
            default: nil
            }
            guard let type else { continue }
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            assets[name] = Asset(body: ByteBuffer(bytes: data), contentType: type)
        }
        self.assets = assets
    }

    func register(on router: Router<AppRequestContext>) {
        router.get("/") { _, _ in Response(status: .seeOther, headers: [.location: "/dashboard"]) }
        router.get("/login") { _, _ in try page("login.html") }
        router.get("/dashboard") { _, _ in try page("dashboard.html") }
        router.get("/assets/:name") { _, context in try page(try context.parameters.require("name")) }
        router.get("/favicon.ico") { _, _ in try page("favicon.svg") }
    }

    private func page(_ name: String) throws -> Response {
        guard let asset = assets[name] else { throw APIError(.notFound, "no such file: \(name)") }
        return Response(
            status: .ok,
            headers: [.contentType: asset.contentType, .cacheControl: "no-cache"],
            body: .init(byteBuffer: asset.body)
        )
    }
}

struct DashboardAssetsMissing: Error, CustomStringConvertible {
    var description: String { "the dashboard's files are missing from the build" }
}

/// Headers that make the browser refuse what the dashboard never does: run
/// inline or foreign scripts, load from other origins, be framed, or guess
/// content types. With them, even a value that slipped through as HTML could
/// not execute.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var contentSecurityPolicy: String {
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    }

    /// Adds `Strict-Transport-Security`: set when `PUBLIC_URL` is https, so
    /// that browsers never fall back to plain HTTP for this host.
    var strictTransportSecurity = false

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var response = try await next(request, context)
            apply(to: &response.headers)
            return response
        } catch var error as APIError {
            apply(to: &error.headers)
            throw error
        }
    }

    /// The same headers on answers and on errors: an error page is a page too.
    private func apply(to headers: inout HTTPFields) {
        headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        headers[.xContentTypeOptions] = "nosniff"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        if strictTransportSecurity { headers[.strictTransportSecurity] = "max-age=31536000" }
    }
}
