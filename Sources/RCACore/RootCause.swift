import Foundation

/// The fixed taxonomy every analysis classifies a failure into.
public enum FailureCategory: String, Sendable, Codable, CaseIterable {
    case missingInputData = "missing_input_data"
    case schemaMismatch = "schema_mismatch"
    case dataQuality = "data_quality"
    case outOfMemory = "out_of_memory"
    case resourceExhaustedOrQuota = "resource_exhausted_or_quota"
    case clusterLaunchFailure = "cluster_launch_failure"
    case nodeOrSpotLoss = "node_or_spot_loss"
    case timeout
    case networkConnectivity = "network_connectivity"
    case authenticationFailed = "authentication_failed"
    case permissionDenied = "permission_denied"
    case configurationError = "configuration_error"
    case dependencyOrLibraryFailure = "dependency_or_library_failure"
    case upstreamDependencyFailed = "upstream_dependency_failed"
    case concurrencyConflict = "concurrency_conflict"
    case codeError = "code_error"
    case platformOutage = "platform_outage"
    case unknown
}

/// How sure an analysis is of its conclusion.
public enum Confidence: String, Sendable, Codable, CaseIterable {
    case veryHigh = "Very High"
    case high = "High"
    case medium = "Medium"
    case low = "Low"
}

/// How soon a ticket must be acknowledged, derived from its severity.
public enum Priority: String, Sendable, Codable, CaseIterable, Comparable {
    case p1 = "P1"
    case p2 = "P2"
    case p3 = "P3"
    case p4 = "P4"

    public init(severity: Severity) {
        switch severity {
        case .critical: self = .p1
        case .high: self = .p2
        case .medium: self = .p3
        case .low: self = .p4
        }
    }

    public static func < (lhs: Priority, rhs: Priority) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Seconds to acknowledge a ticket of each priority before its SLA is breached.
public struct SLAPolicy: Sendable, Equatable {
    public var seconds: [Priority: Int]

    /// The prototype's defaults: 15 minutes for P1, then 30 minutes, 2 hours and 8 hours.
    public static let defaults = SLAPolicy(seconds: [.p1: 900, .p2: 1800, .p3: 7200, .p4: 28800])

    public init(seconds: [Priority: Int]) {
        self.seconds = seconds
    }

    public func seconds(for priority: Priority) -> Int {
        seconds[priority] ?? SLAPolicy.defaults.seconds[priority] ?? 3600
    }
}

/// Which engine produced an analysis.
public enum AnalysisEngine: String, Sendable, Codable {
    case rules
    case gemini
    case openai
    /// A responder's correction, stored for the failure's fingerprint and
    /// reused for its later tickets.
    case responder
}

/// A root-cause analysis, as stored on the ticket and shown to responders:
/// the prototype's RCA object plus category, evidence and provenance.
public struct RootCauseAnalysis: Sendable, Equatable, Codable {
    public var rootCause: String
    public var errorType: String
    public var affectedEntity: String
    public var severity: Severity
    public var priority: Priority
    public var confidence: Confidence
    public var recommendations: [String]
    public var autoHealPossible: Bool
    public var category: FailureCategory
    /// Exact phrases of the error text that support the conclusion.
    public var evidence: [String]
    public var engine: AnalysisEngine
    public var model: String?
    public var tokensUsed: Int?
    public var latencyMilliseconds: Int?
    /// Set when a model engine was asked but the rules engine answered, saying why.
    public var fallbackReason: String?
    /// The ticket whose analysis this one reuses, when it came from the cache.
    public var cachedFrom: String?
    /// What decided the conclusion: the rules engine's rule, catalog entry or
    /// exception class, so that a responder and the audit can see why.
    public var decidedBy: String?

    public init(
        rootCause: String,
        errorType: String,
        affectedEntity: String,
        severity: Severity,
        confidence: Confidence,
        recommendations: [String],
        autoHealPossible: Bool,
        category: FailureCategory,
        evidence: [String],
        engine: AnalysisEngine,
        model: String? = nil,
        tokensUsed: Int? = nil,
        latencyMilliseconds: Int? = nil
    ) {
        self.rootCause = rootCause
        self.errorType = errorType
        self.affectedEntity = affectedEntity
        self.severity = severity
        self.priority = Priority(severity: severity)
        self.confidence = confidence
        self.recommendations = recommendations
        self.autoHealPossible = autoHealPossible
        self.category = category
        self.evidence = evidence
        self.engine = engine
        self.model = model
        self.tokensUsed = tokensUsed
        self.latencyMilliseconds = latencyMilliseconds
    }

    enum CodingKeys: String, CodingKey {
        case rootCause = "root_cause"
        case errorType = "error_type"
        case affectedEntity = "affected_entity"
        case severity, priority, confidence, recommendations, category, evidence, engine, model
        case autoHealPossible = "auto_heal_possible"
        case tokensUsed = "tokens_used"
        case latencyMilliseconds = "latency_ms"
        case fallbackReason = "fallback_reason"
        case cachedFrom = "cached_from"
        case decidedBy = "decided_by"
    }
}

/// Why an analysis was refused by validation.
public enum AnalysisValidationError: Error, Equatable, CustomStringConvertible {
    case emptyRootCause
    case recommendationCount(Int)

    public var description: String {
        switch self {
        case .emptyRootCause: "the root cause is empty"
        case .recommendationCount(let count): "expected 1 to 6 recommendations, got \(count)"
        }
    }
}

extension RootCauseAnalysis {
    private var steps: [String] {
        recommendations.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    /// Throws unless the root cause is stated and there are 1 to 6 recommendations.
    public func checkRequiredFields() throws(AnalysisValidationError) {
        guard !rootCause.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw .emptyRootCause }
        guard (1...6).contains(steps.count) else { throw .recommendationCount(steps.count) }
    }

    /// Checks the result before it is stored: required fields, 1 to 6
    /// recommendations, and evidence that occurs verbatim in `input`. An
    /// analysis whose evidence does not check out is kept but downgraded to
    /// Low confidence, and says so.
    public func validated(against input: String) throws(AnalysisValidationError) -> RootCauseAnalysis {
        try validated(against: QuotableText(input))
    }

    /// `validated(against:)` for an error text a model may have been shown redacted.
    public func validated(against input: QuotableText) throws(AnalysisValidationError) -> RootCauseAnalysis {
        try checkRequiredFields()
        var checked = self
        checked.recommendations = steps
        checked.priority = Priority(severity: severity)
        let unsupported = input.unquotable(evidence)
        if !unsupported.isEmpty || evidence.isEmpty {
            checked.evidence = evidence.filter { !unsupported.contains($0) }
            checked.confidence = .low
            let quoted = unsupported.map { "\"\($0)\"" }.joined(separator: ", ")
            checked.rootCause += evidence.isEmpty
                ? " (Low confidence: no phrase of the error text was cited as evidence.)"
                : " (Low confidence: the cited evidence \(quoted) does not occur in the error text.)"
        }
        return checked
    }
}

/// The text an analysis may quote as evidence: the error text as it arrived,
/// or as a model was shown it (its `TextWindow`), with secrets and addresses redacted (a model
/// quotes what it saw, markers included). The redacted copy is made only
/// when a quote is missing from the original, and once for all of them, so
/// analyses that quote the original (the rules engine's always do) never pay
/// for the redaction's patterns.
public struct QuotableText: Sendable {
    public let original: String

    public init(_ original: String) {
        self.original = original
    }

    /// The quotes that occur in neither the original nor its redacted copy.
    public func unquotable(_ quotes: [String]) -> [String] {
        let notInOriginal = quotes.filter { !original.contains($0) }
        guard !notInOriginal.isEmpty else { return [] }
        let redacted = Redactor.redact(TextWindow.bounded(original))
        return notInOriginal.filter { !redacted.contains($0) }
    }
}

/// Turns an error text into a root-cause analysis. The rules engine, Gemini
/// and OpenAI-compatible models implement it.
public protocol RootCauseAnalyzer: Sendable {
    func analyze(_ input: AnalysisInput) async throws -> RootCauseAnalysis
}

/// What an analyzer is given: the error text and what is known around it.
public struct AnalysisInput: Sendable, Equatable {
    public var source: AlertSource
    public var errorText: String
    public var resource: String
    public var details: [String: String]

    public init(source: AlertSource, errorText: String, resource: String, details: [String: String] = [:]) {
        self.source = source
        self.errorText = errorText
        self.resource = resource
        self.details = details
    }
}
