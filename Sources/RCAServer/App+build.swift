import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import RCAAnalysis
import RCACore
import RCANotify
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
    /// Signs dashboard sessions.
    public var sessionTokens: SessionTokens
    /// Changes pushed to connected dashboards.
    public var events: LiveEvents
    /// Notification channels (Slack, Jira, …) and the jobs that feed them.
    public var outbox: Outbox
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
        jwtSecret: String,
        events: LiveEvents = LiveEvents(),
        notifiers: [any Notifier]? = nil,
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
        self.sessionTokens = SessionTokens(secret: jwtSecret, lifetime: .seconds(configuration.sessionSeconds))
        self.events = events
        if configuration.shareLiveEvents { LiveEventRelay.connect(events, to: database) }
        self.parsers = parsers
        self.enrichers = enrichers
        self.jobQueue = JobQueue(
            database: database,
            leaseDuration: .seconds(configuration.jobLeaseSeconds),
            defaultMaxAttempts: configuration.jobMaxAttempts
        )
        let notifiers = notifiers ?? makeNotifiers(configuration.notifications)
        self.outbox = Outbox(queue: jobQueue, notifiers: notifiers)
        self.wakeups = JobWakeups()
        self.jobHandlers = [
            IngestionStore.analyzeJobKind: AnalyzeJobHandler(
                database: database,
                enrichers: enrichers,
                analyzer: try analyzer ?? makeAnalyzer(configuration.analysis, database: database),
                slaPolicy: configuration.analysis.slaPolicy,
                ownershipMap: configuration.analysis.ownership,
                correlation: TicketCorrelation(linkRecurrences: configuration.analysis.linkRecurrences),
                events: events,
                outbox: outbox,
                wakeups: wakeups,
                enrichmentAttempts: 3, enrichmentRetryDelay: enrichmentRetryDelay, logger: logger
            ),
            Outbox.jobKind: NotifyJobHandler(
                database: database,
                notifiers: Dictionary(uniqueKeysWithValues: notifiers.map { ($0.channel, $0) }),
                outbox: outbox,
                dashboardURL: configuration.baseURL,
                logger: logger,
                lease: .seconds(configuration.notifications.timeoutSeconds * 3 + 10)
            ),
        ].merging(jobHandlers) { _, given in given }
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
    let liveSocket = LiveSocket(
        events: dependencies.events,
        authenticator: SessionAuthenticator(tokens: dependencies.sessionTokens, users: UserStore(database: dependencies.database)),
        writeTimeout: .seconds(10),
        sessionRecheck: .seconds(configuration.sessionRecheckSeconds)
    )
    var app = Application(
        router: buildRouter(dependencies),
        server: HTTPServerBuilder { responder in
            FirstRequestDeadline(
                timeout: .seconds(Int64(configuration.idleTimeoutSeconds)),
                base: HTTP1WebSocketUpgradeChannel(
                    responder: responder,
                    configuration: .init(
                        http1: .init(idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds))),
                        // Pings keep a quiet dashboard's socket inside the idle timeout (its pongs are reads).
                        ws: .init(autoPing: .enabled(timePeriod: .milliseconds(Int64(configuration.idleTimeoutSeconds) * 500)))
                    )
                ) { request, _, logger in
                    await liveSocket.shouldUpgrade(request, logger: logger)
                }
            )
        },
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "rca-assistant"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: dependencies.logger
    )
    if configuration.shareLiveEvents && dependencies.database.sharesNotifications {
        app.addServices(LiveEventRelay(database: dependencies.database, events: dependencies.events, logger: dependencies.logger))
    }
    if configuration.role.runsWorkers {
        app.addServices(
            JobRunner(
                queue: dependencies.jobQueue,
                handlers: dependencies.jobHandlers,
                concurrency: configuration.workerConcurrency,
                wakeups: dependencies.wakeups,
                logger: dependencies.logger
            ),
            SLAMonitor(
                database: dependencies.database,
                interval: .seconds(configuration.slaCheckSeconds),
                events: dependencies.events,
                outbox: dependencies.outbox,
                logger: dependencies.logger
            ),
            TicketCounterFolder(counters: TicketCounters(database: dependencies.database), interval: .seconds(2), logger: dependencies.logger)
        )
    }
    return app
}

func buildRouter(_ dependencies: AppDependencies) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: AccessLogMiddleware(metrics: dependencies.metrics))
    router.add(middleware: SecurityHeadersMiddleware(strictTransportSecurity: dependencies.configuration.publicURL?.lowercased().hasPrefix("https://") == true))
    router.add(middleware: ErrorMiddleware())
    let health = HealthRoutes(
        database: dependencies.database, jobQueue: dependencies.jobQueue, metrics: dependencies.metrics,
        readyDeadline: .seconds(dependencies.configuration.readyTimeoutSeconds)
    )
    health.register(on: router)
    guard dependencies.configuration.role.servesWebhooks else { return router }
    let clients = ClientAddresses(trustedProxies: dependencies.configuration.trustedProxies)
    let tokenCheck = WebhookTokenCheck(
        token: dependencies.webhookToken,
        guesses: dependencies.configuration.webhookGuessLimit > 0
            ? GuessThrottle(database: dependencies.database, scope: "webhook-address", limit: dependencies.configuration.webhookGuessLimit, window: .seconds(600))
            : nil,
        clients: clients
    )
    let ingestion = Ingestion(
        database: dependencies.database,
        jobQueue: dependencies.jobQueue,
        wakeups: dependencies.wakeups,
        metrics: dependencies.metrics,
        events: dependencies.events,
        outbox: dependencies.outbox,
        logger: dependencies.logger
    )
    WebhookRoutes(
        parsers: dependencies.parsers,
        tokenCheck: tokenCheck,
        maxBodyBytes: dependencies.configuration.maxBodyBytes,
        ingestion: ingestion
    ).register(on: router)
    let users = UserStore(database: dependencies.database)
    let authenticator = SessionAuthenticator(tokens: dependencies.sessionTokens, users: users)
    let hasher = PasswordHasher()
    let api = router.group("api")
    let protected = api.group().add(middleware: authenticator)
    AuthRoutes(
        users: users,
        hasher: hasher,
        tokens: dependencies.sessionTokens,
        accountThrottle: GuessThrottle(database: dependencies.database, scope: "sign-in-account", limit: 5),
        addressThrottle: GuessThrottle(database: dependencies.database, scope: "sign-in-address", limit: 20),
        registrationThrottle: GuessThrottle(database: dependencies.database, scope: "registration-address", limit: 10, window: .seconds(3600)),
        clients: clients,
        allowRegistration: dependencies.configuration.allowRegistration
    ).register(on: api, protected: protected)
    DedupCheckRoutes(database: dependencies.database, tokenCheck: tokenCheck, authenticator: authenticator).register(on: api)
    let changes = StatusChanges(database: dependencies.database, events: dependencies.events, outbox: dependencies.outbox, wakeups: dependencies.wakeups)
    let corrections = AnalysisCorrections(database: dependencies.database, events: dependencies.events, outbox: dependencies.outbox, wakeups: dependencies.wakeups)
    let collaboration = Collaboration(database: dependencies.database, events: dependencies.events, outbox: dependencies.outbox, wakeups: dependencies.wakeups)
    TicketRoutes(
        database: dependencies.database, changes: changes, corrections: corrections, collaboration: collaboration,
        summaries: SummaryCache(database: dependencies.database), databricksWorkspace: dependencies.configuration.databricks?.workspace
    ).register(on: protected)
    ExportRoutes(database: dependencies.database).register(on: protected)
    AdminRoutes(
        database: dependencies.database,
        users: users,
        hasher: hasher,
        replayer: PayloadReplayer(database: dependencies.database, parsers: dependencies.parsers, jobQueue: dependencies.jobQueue),
        wakeups: dependencies.wakeups
    ).register(on: protected)
    IntegrationRoutes(
        database: dependencies.database,
        changes: changes,
        slackSigningSecret: dependencies.configuration.notifications.slack?.signingSecret,
        jira: dependencies.configuration.notifications.jira,
        signatureGuesses: GuessThrottle(
            database: dependencies.database, scope: "integration-signature",
            limit: max(dependencies.configuration.webhookGuessLimit, 1), window: .seconds(600)
        ),
        clients: clients,
        logger: dependencies.logger
    ).register(on: router)
    LiveSocket(
        events: dependencies.events, authenticator: authenticator, writeTimeout: .seconds(10),
        sessionRecheck: .seconds(dependencies.configuration.sessionRecheckSeconds)
    ).register(on: router)
    OpenAPIRoutes().register(on: router)
    if let dashboard = try? DashboardRoutes() { dashboard.register(on: router) }
    return router
}

/// The method and path of every route the application answers, for checks
/// that its API description is complete.
public func registeredRoutes(_ dependencies: AppDependencies) -> [(path: String, method: HTTPRequest.Method)] {
    buildRouter(dependencies).routes.map { (path: $0.path.description, method: $0.method) }
}
