import Foundation
import RCACore
import SQLKit

/// A responder's verdict on what a failure is, kept per failure fingerprint:
/// the rules engine and a model both get some failures wrong, and the people
/// who fixed one know better. Later tickets of the same failure take it
/// instead of a new analysis, and `rca-assistant rules export` turns the
/// evidence it cites into site rules that also cover similar failures.
public struct AnalysisCorrection: Sendable, Equatable {
    public let fingerprint: String
    public let source: String
    public let category: FailureCategory
    public let errorType: String
    public let rootCause: String
    /// The corrected ticket's severity when the correction was made.
    public let severity: Severity
    public let recommendations: [String]
    /// Phrases of the corrected ticket's error text that identify the failure.
    public let evidence: [String]
    public let ticketID: String
    public let correctedBy: String
    public let correctedAt: String
}

/// What a responder says about one ticket's analysis.
public struct CorrectionRequest: Sendable, Equatable {
    public let ticketID: String
    public let category: FailureCategory
    public let errorType: String?
    public let rootCause: String
    public let recommendations: [String]
    /// Empty to keep the phrases the analysis cited that the text still contains.
    public let evidence: [String]

    public init(ticketID: String, category: FailureCategory, errorType: String?, rootCause: String, recommendations: [String], evidence: [String]) {
        self.ticketID = ticketID
        self.category = category
        self.errorType = errorType
        self.rootCause = rootCause
        self.recommendations = recommendations
        self.evidence = evidence
    }
}

/// Why a correction was refused.
public enum CorrectionError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    /// The ticket has no analysis (yet) to correct.
    case notAnalyzed(String)
    /// A cited phrase does not occur in the ticket's error text.
    case evidenceNotInText(String)

    public var description: String {
        switch self {
        case .notFound(let id): "no ticket \(id)"
        case .notAnalyzed(let id): "ticket \(id) has no analysis to correct yet; wait until it is analyzed"
        case .evidenceNotInText(let phrase): "the evidence \"\(phrase)\" does not occur in the ticket's error text; quote it exactly"
        }
    }
}

/// Records corrections on their ticket and for their fingerprint, and reads
/// them back for the worker and for rule export.
public struct CorrectionStore: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Rewrites the ticket's analysis as the responder states it, stores the
    /// correction for the ticket's fingerprint (replacing an earlier one) and
    /// audits the change, all in one transaction; `alongside` runs in it too
    /// (to queue the notifications it causes).
    public func correct(
        _ request: CorrectionRequest,
        by user: String,
        now: Date = Date(),
        alongside: @escaping @Sendable (any SQLDatabase) async throws -> Void = { _ in }
    ) async throws -> AnalysisCorrection {
        let nowText = Timestamp.string(from: now)
        return try await database.transaction { sql in
            guard let row = try await sql.raw(
                """
                SELECT source, fingerprint, error_message, analysis_state, category, error_type, severity, evidence
                FROM tickets WHERE id = \(bind: request.ticketID)
                """
            ).first() else { throw CorrectionError.notFound(request.ticketID) }
            guard try row.decode(column: "analysis_state", as: String.self) == "done",
                  let fingerprint = try row.decode(column: "fingerprint", as: String?.self)
            else { throw CorrectionError.notAnalyzed(request.ticketID) }
            let quotable = QuotableText(try row.decode(column: "error_message", as: String?.self) ?? "")
            if let missing = quotable.unquotable(request.evidence).first { throw CorrectionError.evidenceNotInText(missing) }
            let evidence = request.evidence.isEmpty ? Self.stillQuotable(try row.decode(column: "evidence", as: String?.self), in: quotable) : request.evidence
            let previousCategory = try row.decode(column: "category", as: String?.self) ?? FailureCategory.unknown.rawValue
            let previousType = try row.decode(column: "error_type", as: String?.self) ?? "unknown"
            let correction = AnalysisCorrection(
                fingerprint: fingerprint,
                source: try row.decode(column: "source", as: String.self),
                category: request.category,
                errorType: request.errorType ?? previousType,
                rootCause: request.rootCause,
                severity: Severity(rawValue: try row.decode(column: "severity", as: String?.self) ?? "") ?? .medium,
                recommendations: request.recommendations,
                evidence: evidence,
                ticketID: request.ticketID,
                correctedBy: user,
                correctedAt: nowText
            )
            let recommendations = IngestionStore.jsonArray(correction.recommendations)
            let evidenceText = IngestionStore.jsonArray(correction.evidence)
            try await sql.raw(
                """
                UPDATE tickets
                SET category = \(bind: correction.category.rawValue), error_type = \(bind: correction.errorType),
                    rca_result = \(bind: correction.rootCause), recommendations = \(bind: recommendations),
                    evidence = \(bind: evidenceText), confidence = \(bind: Confidence.high.rawValue),
                    analysis_engine = \(bind: AnalysisEngine.responder.rawValue), analysis_model = NULL, analysis_tokens = NULL,
                    decided_by = \(bind: "correction by \(user)"), updated_at = \(bind: nowText)
                WHERE id = \(bind: request.ticketID)
                """
            ).run()
            try await sql.raw(
                """
                INSERT INTO analysis_corrections
                    (fingerprint, source, category, error_type, root_cause, severity, recommendations, evidence, ticket_id, corrected_by, corrected_at)
                VALUES (\(bind: fingerprint), \(bind: correction.source), \(bind: correction.category.rawValue), \(bind: correction.errorType),
                        \(bind: correction.rootCause), \(bind: correction.severity.rawValue), \(bind: recommendations), \(bind: evidenceText),
                        \(bind: correction.ticketID), \(bind: user), \(bind: nowText))
                ON CONFLICT (fingerprint) DO UPDATE SET
                    source = excluded.source, category = excluded.category, error_type = excluded.error_type,
                    root_cause = excluded.root_cause, severity = excluded.severity, recommendations = excluded.recommendations,
                    evidence = excluded.evidence, ticket_id = excluded.ticket_id, corrected_by = excluded.corrected_by,
                    corrected_at = excluded.corrected_at
                """
            ).run()
            let changed = previousCategory == correction.category.rawValue
                ? "category stays \(previousCategory)" : "category \(previousCategory) → \(correction.category.rawValue)"
            let typeChange = previousType == correction.errorType ? "" : "; error type \(previousType) → \(correction.errorType)"
            try await TicketStore.appendAudit(
                ticketID: request.ticketID, action: "RCA Corrected",
                details: "\(changed)\(typeChange); root cause: \(correction.rootCause); later tickets of this failure will reuse it",
                user: user, on: sql
            )
            try await alongside(sql)
            return correction
        }
    }

    /// The correction stored for a failure, if any.
    public func find(fingerprint: String) async throws -> AnalysisCorrection? {
        try await database.read { sql in
            try await sql.raw("SELECT * FROM analysis_corrections WHERE fingerprint = \(bind: fingerprint)").first().map(Self.correction)
        }
    }

    /// Every stored correction, oldest first.
    public func all() async throws -> [AnalysisCorrection] {
        try await database.read { sql in
            try await sql.raw("SELECT * FROM analysis_corrections ORDER BY corrected_at, fingerprint").all().map(Self.correction)
        }
    }

    private static func correction(_ row: any SQLRow) throws -> AnalysisCorrection {
        let decoder = JSONDecoder()
        return AnalysisCorrection(
            fingerprint: try row.decode(column: "fingerprint", as: String.self),
            source: try row.decode(column: "source", as: String.self),
            category: FailureCategory(rawValue: try row.decode(column: "category", as: String.self)) ?? .unknown,
            errorType: try row.decode(column: "error_type", as: String.self),
            rootCause: try row.decode(column: "root_cause", as: String.self),
            severity: Severity(rawValue: try row.decode(column: "severity", as: String.self)) ?? .medium,
            recommendations: try decoder.decode([String].self, from: Data(try row.decode(column: "recommendations", as: String.self).utf8)),
            evidence: try decoder.decode([String].self, from: Data(try row.decode(column: "evidence", as: String.self).utf8)),
            ticketID: try row.decode(column: "ticket_id", as: String.self),
            correctedBy: try row.decode(column: "corrected_by", as: String.self),
            correctedAt: try row.decode(column: "corrected_at", as: String.self)
        )
    }

    /// The phrases of a stored evidence list that the text still contains.
    private static func stillQuotable(_ stored: String?, in quotable: QuotableText) -> [String] {
        let phrases = stored.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
        let missing = Set(quotable.unquotable(phrases))
        return phrases.filter { !missing.contains($0) }
    }
}
