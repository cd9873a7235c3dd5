import Hummingbird
import Logging
import Prometheus
import NIOCore
import RCAStore

/// Liveness, readiness and metrics, for orchestrators and Prometheus; open
/// without authentication and free of secrets.
struct HealthRoutes: Sendable {
    let database: Database
    let jobQueue: JobQueue
    let metrics: AppMetrics
    /// How long `/ready` waits for the database (`READY_TIMEOUT_SECONDS`):
    /// probes (Kubernetes' default timeout is 1 s) and people both want an
    /// answer, not the pool's 5 s wait for a connection.
    let readyDeadline: Duration

    struct Status: ResponseEncodable {
        let status: String
        var schema_version: Int?
        var database: String?
    }

    func register(on router: Router<AppRequestContext>) {
        router.get("/health") { _, _ in Status(status: "ok") }
        router.get("/ready") { _, _ in try await ready() }
        router.get("/metrics") { _, context in try await metricsText(context: context) }
    }

    private func ready() async throws -> Status {
        let database = database
        let readyDeadline = readyDeadline
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await Migrator(database: database).checkReady() }
                group.addTask {
                    try await Task.sleep(for: readyDeadline)
                    throw DatabaseError.unavailable("the database did not answer within \(readyDeadline)")
                }
                try await group.next()
                group.cancelAll()
            }
        } catch let error as DatabaseError {
            throw APIError(.serviceUnavailable, "not ready: \(error.reason)", headers: [.retryAfter: "5"])
        }
        return Status(status: "ready", schema_version: Migrator.latestVersion, database: database.dialect.rawValue)
    }

    private func metricsText(context: AppRequestContext) async throws -> Response {
        do {
            metrics.record(try await jobQueue.depth())
        } catch {
            context.logger.warning("queue depth unavailable for /metrics", metadata: ["error": "\(error)"])
        }
        let buffer = ByteBuffer(bytes: metrics.registry.emitToBuffer())
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: buffer)
        )
    }
}
