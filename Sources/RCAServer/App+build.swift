import Hummingbird
import Logging
import RCAAnalysis
import RCACore
import RCASources
import RCAStore

/// What the application is built from. Production and tests build it the same
/// way, differing only in these values (a temporary database, port 0, test
/// handlers).
public struct AppDependencies: Sendable {
    public var configuration: ServerConfiguration
    public var database: Database
    /// The secret alert senders present.
    public var webhookToken: String
    public var parsers: [any AlertPayloadParser]
    /// Clients that find the real error behind an alert (Databricks, Data Factory).
    public var enrichers: [any AlertEnricher]
    public var jobQueue: JobQueue
    public var jobHandlers: [String: any JobHandler]
    public var wakeups: JobWakeups
    public var metrics: AppMetrics
    public var logger: Logger

    public init(
        configuration: ServerConfiguration,
        database: Database,
        webhookToken: String,
        parsers: [any AlertPayloadParser] = SourceRegistry.parsers,
        enrichers: [any AlertEnricher] = [],
        enrichmentRetryDelay: Duration = .seconds(5),
        analyzer: (any RootCauseAnalyzer)? = nil,
        jobHandlers: [String: any JobHandler] = [:],
        metrics: AppMetrics = AppMetrics(),
        logger: Logger
    ) throws {
        self.configuration = configuration
        self.database = database
        self.webhookToken = webhookToken
        self.parsers = parsers
        self.enrichers = enrichers
        self.jobQueue = JobQueue(
            database: database,
            leaseDuration: .seconds(configuration.jobLeaseSeconds),
            defaultMaxAttempts: configuration.jobMaxAttempts
        )
        self.jobHandlers = [
            IngestionStore.analyzeJobKind: AnalyzeJobHandler(
                database: database,
                enrichers: enrichers,
                analyzer: try analyzer ?? makeAnalyzer(configuration.analysis, database: database),
                slaPolicy: configuration.analysis.slaPolicy,
                ownershipMap: configuration.analysis.ownership,
                correlation: TicketCorrelation(linkRecurrences: configuration.analysis.linkRecurrences),
                enrichmentAttempts: 3, enrichmentRetryDelay: enrichmentRetryDelay, logger: logger
            ),
        ].merging(jobHandlers) { _, given in given }
        self.wakeups = JobWakeups()
        self.metrics = metrics
        self.logger = logger
    }
}

/// Builds the HTTP application with its background services (the job
/// workers). `onServerRunning` receives the port actually bound.
public func buildApplication(
    _ dependencies: AppDependencies,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let configuration = dependencies.configuration
    var app = Application(
        router: buildRouter(dependencies),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "rca-assistant"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: dependencies.logger
    )
    if configuration.role.runsWorkers {
        app.addServices(
            JobRunner(
                queue: dependencies.jobQueue,
                handlers: dependencies.jobHandlers,
                concurrency: configuration.workerConcurrency,
                wakeups: dependencies.wakeups,
                logger: dependencies.logger
            ),
            SLAMonitor(database: dependencies.database, interval: .seconds(configuration.slaCheckSeconds), logger: dependencies.logger)
        )
    }
    return app
}

func buildRouter(_ dependencies: AppDependencies) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: AccessLogMiddleware(metrics: dependencies.metrics))
    router.add(middleware: ErrorMiddleware())
    HealthRoutes(database: dependencies.database, jobQueue: dependencies.jobQueue, metrics: dependencies.metrics)
        .register(on: router)
    guard dependencies.configuration.role.servesWebhooks else { return router }
    WebhookRoutes(
        parsers: dependencies.parsers,
        token: dependencies.webhookToken,
        maxBodyBytes: dependencies.configuration.maxBodyBytes,
        ingestion: Ingestion(
            database: dependencies.database,
            jobQueue: dependencies.jobQueue,
            wakeups: dependencies.wakeups,
            metrics: dependencies.metrics,
            logger: dependencies.logger
        )
    ).register(on: router)
    return router
}
