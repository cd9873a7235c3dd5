import Prometheus
import RCAStore

/// The server's own measurements, kept in a Prometheus registry served at
/// `/metrics`: requests by route and status with latency, queue depth and
/// tickets created.
public struct AppMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let ticketsCreated: Counter

    private static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        ticketsCreated = registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "rca", metricName: "tickets_created", unitName: "total", helpText: "Tickets opened from alerts")
        )
    }

    /// Records one answered HTTP request. `route` is the matched route pattern
    /// (never the raw path, whose variety would explode the label set).
    public func requestFinished(route: String, method: String, status: Int, duration: Duration) {
        let labels = [("route", route), ("method", method), ("status", String(status))]
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "rca", subsystem: "http", metricName: "requests", unitName: "total", helpText: "HTTP requests answered"),
            labels: labels
        ).increment()
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(namespace: "rca", subsystem: "http", metricName: "request_duration", unitName: "seconds", helpText: "Time to answer HTTP requests"),
            labels: [("route", route), ("method", method)],
            buckets: Self.latencyBuckets
        ).recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    public func ticketCreated(count: Int = 1) {
        ticketsCreated.increment(by: Int64(count))
    }

    /// Sets the queue-depth gauges from a fresh count.
    public func record(_ depth: QueueDepth) {
        for (state, value) in [("queued", depth.queued), ("running", depth.running), ("failed", depth.failed)] {
            registry.makeGauge(
                descriptor: MetricNameDescriptor(namespace: "rca", metricName: "jobs", unitName: "", helpText: "Jobs in the work queue by state"),
                labels: [("state", state)]
            ).set(Double(value))
        }
    }
}
