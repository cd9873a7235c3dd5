import Foundation

/// How urgent a failure is, in the seed's four levels.
public enum Severity: String, Sendable, Codable, CaseIterable {
    case critical = "Critical"
    case high = "High"
    case medium = "Medium"
    case low = "Low"

    /// Azure Monitor's `Sev0`…`Sev4`.
    public init?(azureSeverity: String) {
        switch azureSeverity.lowercased() {
        case "sev0": self = .critical
        case "sev1": self = .high
        case "sev2": self = .medium
        case "sev3", "sev4": self = .low
        default: return nil
        }
    }

    /// Words that monitoring tools commonly use (`critical`, `error`, `warning`, `info`…).
    public init?(word: String) {
        switch word.lowercased() {
        case "critical", "fatal", "emergency", "page", "p1", "sev0", "disaster": self = .critical
        case "high", "error", "major", "p2", "sev1": self = .high
        case "medium", "warning", "warn", "moderate", "minor", "p3", "sev2": self = .medium
        case "low", "info", "informational", "notice", "p4", "sev3", "sev4": self = .low
        default: return nil
        }
    }
}

/// What the worker should fetch to find the real error behind an alert that
/// does not carry it.
public enum EnrichmentRequest: Sendable, Equatable, Codable {
    /// A Databricks job run: `runs/get`, then `runs/get-output` of each failed task.
    case databricksRun(runID: String)
    /// An ADF pipeline that failed in a window, known only by name (metric
    /// alerts). The factory's Azure resource id, when the alert names it.
    case dataFactoryPipeline(name: String, factoryResourceID: String?, windowStart: Date, windowEnd: Date)
}

/// One failure (or the clearing of one) as reported by a source, normalized
/// from whatever shape the vendor sent. Every ingestion endpoint turns its
/// payload into zero or more of these.
public struct AlertEvent: Sendable, Equatable, Codable {
    public var source: AlertSource
    /// Identifies the failure across repeated deliveries: equal keys make one ticket.
    public var dedupKey: String
    public var status: SourceStatus
    /// The failing pipeline, job, cluster or resource (the seed's `pipeline`).
    public var resource: String
    public var runID: String?
    /// The error as far as the payload tells it; enrichment may find more.
    public var errorMessage: String
    public var severity: Severity?
    public var occurredAt: Date?
    /// How the alert reached us (`azure_monitor_alert`, `direct_webhook`, …), as in the seed.
    public var processingMode: String
    /// Source-specific facts worth keeping (activity, error code, alert rule, cluster id…).
    public var details: [String: String]
    public var enrichment: EnrichmentRequest?

    public init(
        source: AlertSource,
        dedupKey: String,
        status: SourceStatus = .firing,
        resource: String,
        runID: String? = nil,
        errorMessage: String,
        severity: Severity? = nil,
        occurredAt: Date? = nil,
        processingMode: String,
        details: [String: String] = [:],
        enrichment: EnrichmentRequest? = nil
    ) {
        self.source = source
        self.dedupKey = dedupKey
        self.status = status
        self.resource = resource
        self.runID = runID
        self.errorMessage = errorMessage
        self.severity = severity
        self.occurredAt = occurredAt
        self.processingMode = processingMode
        self.details = details
        self.enrichment = enrichment
    }
}
