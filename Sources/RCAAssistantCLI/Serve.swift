import ArgumentParser
import Logging
import Metrics
import Prometheus
import RCAServer
import RCASources
import RCAStore
import ServiceLifecycle
import UnixSignals

/// `rca-assistant serve`: runs the HTTP server and the job workers until
/// SIGTERM or SIGINT, then drains in-flight work and closes the database.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (webhooks, API, dashboard, workers).")

    @Option(help: "Address to listen on (overrides HOST; default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on (overrides PORT; default 8000; 0 picks a free port).")
    var port: Int?

    @Option(help: "all (default), web (HTTP only) or worker (background jobs only; HTTP serves health and metrics). Overrides ROLE.")
    var role: ServerRole?

    func run() async throws {
        try await CommandFailure.run {
            var configuration = try ServerConfiguration.current()
            if let host { configuration.host = host }
            if let role { configuration.role = role }
            if let port {
                guard (0...65535).contains(port) else {
                    throw ConfigurationError(variable: "--port", problem: "expected a whole number from 0 to 65535, got \(port)")
                }
                configuration.port = port
            }
            configuration.logFormat.bootstrap(level: configuration.logLevel)
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            let logger = Logger(label: "rca-assistant")

            let prepared = try await ServerStartup.prepare(configuration, logger: logger)
            let dependencies: AppDependencies
            do {
                dependencies = try AppDependencies(
                    configuration: configuration,
                    database: prepared.database,
                    webhookToken: prepared.webhookToken.value,
                    jwtSecret: prepared.jwtSecret.value,
                    enrichers: makeEnrichers(configuration),
                    metrics: AppMetrics(registry: registry),
                    logger: logger
                )
            } catch {
                await prepared.database.close()
                throw error
            }
            let started = StartFlag()
            let doctor = Doctor(configuration: configuration)
            let paths = configuration.role.servesWebhooks ? dependencies.parsers.map(\.endpoint) : []
            let app = buildApplication(dependencies) { port in
                started.set()
                Console.print(StartupBanner.lines(for: prepared, listeningPort: port, webhookPaths: paths).joined(separator: "\n"))
                Task {
                    for finding in await doctor.integrations() where finding.outcome == .problem {
                        logger.warning("integration check failed: \(finding.line)")
                    }
                }
            }
            let group = ServiceGroup(
                configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            )
            do {
                try await group.run()
            } catch {
                await prepared.database.close()
                if !started.isSet {
                    throw ConfigurationError(
                        variable: "HOST/PORT",
                        problem: "cannot listen on \(configuration.host):\(configuration.port): \(error)"
                    )
                }
                throw CommandError(message: "the server stopped: \(error)")
            }
            await prepared.database.close()
            logger.info("stopped")
        }
    }
}

extension ServerRole: ExpressibleByArgument {}
