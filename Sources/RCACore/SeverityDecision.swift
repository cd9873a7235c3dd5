/// How the severity the sender gave and the one the analysis suggests
/// combine. The sender knows its alert: its severity is the floor, and the
/// analysis raises it only when it is sure of what it found (High
/// confidence), saying so. Whenever the outcome differs from one of the two,
/// `reason` says why, for the ticket's detail view and its audit trail.
public struct SeverityDecision: Sendable, Equatable {
    public let severity: Severity
    public let reason: String?

    public init(reported: Severity?, analysis: RootCauseAnalysis) {
        let suggested = analysis.severity
        guard let reported, reported != suggested else {
            severity = suggested
            reason = nil
            return
        }
        if reported.isMoreSevere(than: suggested) {
            severity = reported
            reason = "kept at \(reported.rawValue) as the sender reported it; the analysis alone suggests \(suggested.rawValue)"
        } else if analysis.confidence == .high {
            severity = suggested
            reason = "raised from the sender's \(reported.rawValue) to \(suggested.rawValue): the \(analysis.engine.rawValue) analysis found "
                + "\(analysis.category.rawValue) (\(analysis.errorType)) with High confidence"
        } else {
            severity = reported
            reason = "kept at the sender's \(reported.rawValue): the analysis suggests \(suggested.rawValue) with only "
                + "\(analysis.confidence.rawValue) confidence"
        }
    }
}

extension Severity {
    private var rank: Int {
        switch self {
        case .critical: 3
        case .high: 2
        case .medium: 1
        case .low: 0
        }
    }

    /// Whether this severity calls for a faster response than `other`.
    public func isMoreSevere(than other: Severity) -> Bool { rank > other.rank }
}
