import Foundation
import Logging
import Metrics
import RCAAnalysis
import RCACore
import RCANotify
import RCAStore
import SQLKit

/// The worker's step for each new ticket: find the real error (enrichment),
/// explain it (analysis), and store the validated result with its priority
/// and SLA. Safe to run again after a crash: a ticket already analyzed is
/// left alone.
struct AnalyzeJobHandler: JobHandler {
    let database: Database
    let enrichers: [any AlertEnricher]
    let analyzer: any RootCauseAnalyzer
    let slaPolicy: SLAPolicy
    let ownershipMap: OwnershipMap
    let correlation: TicketCorrelation
    let events: LiveEvents
    let outbox: Outbox
    let wakeups: JobWakeups
    /// Serializes analyses of one failure within this process that the cache
    /// cannot answer, so that it answers all but the first.
    let analysisLocks = KeyedAsyncLock()
    /// Tries of an enrichment that failed for a reason that may pass (429, 5xx, timeout) before going on without it.
    let enrichmentAttempts: Int
    /// The wait before the second try of an enrichment; it grows with each try.
    let enrichmentRetryDelay: Duration
    let logger: Logger

    struct Payload: Decodable {
        let ticket_id: String
    }

    func run(_ job: ClaimedJob, completion: JobCompletion) async throws {
        let ticketID = try ticketID(of: job)
        guard let ticket = try await TicketStore(database: database).find(id: ticketID) else {
            throw JobFailure.permanent("ticket \(ticketID) no longer exists")
        }
        guard ticket.analysisState == "pending" else { return }

        var errorMessage = ticket.errorMessage ?? ""
        var details = ticket.detailValues
        var runID = ticket.runID
        var audits: [(String, String)] = []
        if let request = ticket.enrichmentRequest {
            switch await enrich(request, attempt: job.attempt) {
            case .found(let enrichment, let source):
                errorMessage = enrichment.errorMessage
                runID = enrichment.runID ?? runID
                details.merge(enrichment.details) { _, new in new }
                audits.append(("Error Enriched", "\(source): the error text now comes from the platform's API"))
            case .unavailable(let reason):
                audits.append(("Enrichment Failed", "\(reason); analysis continues with the webhook's own text"))
            case .notConfigured(let reason):
                audits.append(("Enrichment Skipped", reason))
            case .retryLater(let delay, let reason):
                throw JobFailure.retryAfter(delay, reason)
            }
        }
        let source = AlertSource(rawValue: ticket.source) ?? .generic
        let input = AnalysisInput(source: source, errorText: errorMessage, resource: ticket.pipeline ?? "", details: details)
        let fingerprint = Fingerprint.of(source: source, errorText: errorMessage)
        let quotable = QuotableText(errorMessage)
        // While another ticket of this failure holds the lock (a burst), the
        // ones whose text the stored analysis fits are stored side by side
        // instead of queueing for the lock one by one.
        if analysisLocks.isHeld(fingerprint),
           let cached = try await cachedAnalysis(fingerprint: fingerprint, excluding: ticket.id), Self.fits(cached.analysis, quotable) {
            try await analyzeAndStore(
                ticket: ticket, input: input, quotable: quotable, fingerprint: fingerprint, lookedUp: cached, runID: runID,
                details: details, audits: audits, completion: completion
            )
            return
        }
        // Held until the result is stored, so that the next ticket of this failure finds it in the cache.
        try await analysisLocks.withLock(fingerprint) {
            try await analyzeAndStore(
                ticket: ticket, input: input, quotable: quotable, fingerprint: fingerprint, lookedUp: nil, runID: runID,
                details: details, audits: audits, completion: completion
            )
        }
    }

    /// Whether a stored analysis can stand for a ticket whose quotable text is
    /// `quotable`: all its evidence must occur there.
    static func fits(_ analysis: RootCauseAnalysis, _ quotable: QuotableText) -> Bool {
        !analysis.evidence.isEmpty && quotable.unquotable(analysis.evidence).isEmpty
    }

    private func analyzeAndStore(
        ticket: TicketRecord,
        input: AnalysisInput,
        quotable: QuotableText,
        fingerprint: String,
        lookedUp: CachedAnalysis?,
        runID: String?,
        details: [String: String],
        audits: [(String, String)],
        completion: JobCompletion
    ) async throws {
        var details = details
        var audits = audits
        let ticketID = ticket.id
        let errorMessage = input.errorText
        var analysis = try await analyze(
            input, quotable: quotable, fingerprint: fingerprint, lookedUp: lookedUp, ticket: ticket, details: &details, audits: &audits
        )
        let reported = (ticket.reportedSeverity ?? ticket.severity).flatMap(Severity.init(rawValue:))
        let severity = SeverityDecision(reported: reported, analysis: analysis)
        analysis.severity = severity.severity
        analysis.priority = Priority(severity: severity.severity)
        if let reason = severity.reason { audits.append(("Severity Decided", reason)) }
        let ownership = ownershipMap.owner(of: ticket.pipeline ?? "", tags: Self.tags(in: details))
        let slaSeconds = slaPolicy.seconds(for: analysis.priority)
        audits.append((
            "RCA Generated",
            "\(analysis.engine.rawValue) engine\(analysis.model.map { " (\($0))" } ?? ""): \(analysis.category.rawValue), \(analysis.errorType), confidence \(analysis.confidence.rawValue)\(analysis.decidedBy.map { ", decided by \($0)" } ?? ""); \(analysis.priority.rawValue), SLA \(slaSeconds / 60) min"
        ))
        let detailsText = IngestionStore.jsonObject(details)
        let recommendations = IngestionStore.jsonArray(analysis.recommendations)
        let evidence = IngestionStore.jsonArray(analysis.evidence)
        let subject = TicketCorrelation.Subject(
            id: ticketID, source: ticket.source, pipeline: ticket.pipeline, runID: runID, fingerprint: fingerprint,
            errorText: errorMessage, clusterID: details["cluster_id"] ?? details["detail.cluster_id"], firstSeen: ticket.firstSeen, lastSeen: ticket.lastSeen, occurredAt: ticket.timestamp
        )
        let finalError = errorMessage
        let finalRunID = runID
        let result = analysis
        let severityReason = severity.reason
        let slaDeadline = Timestamp.string(from: (Timestamp.date(from: ticket.firstSeen) ?? Date()).addingTimeInterval(TimeInterval(slaSeconds)))
        let pendingAudits = audits
        let correlation = self.correlation
        // Another worker may have stored an analysis meanwhile (this job's
        // lease ran out while it worked): the update then matches nothing and
        // the transaction, correlation included, is rolled back.
        struct AlreadyAnalyzed: Error {}
        let stored: (links: TicketCorrelation.Outcome, notifications: (queued: Int, leased: ClaimedJob?))
        do {
            stored = try await database.transaction { sql in
                let links = try await correlation.correlate(subject, on: sql)
                let updated = try await sql.reusable(
                    """
                    UPDATE tickets
                    SET error_message = \(bind: finalError), run_id = \(bind: finalRunID), details = \(bind: detailsText),
                        rca_result = \(bind: result.rootCause), recommendations = \(bind: recommendations),
                        confidence = \(bind: result.confidence.rawValue), severity = \(bind: result.severity.rawValue),
                        reported_severity = COALESCE(reported_severity, severity), severity_reason = \(bind: severityReason),
                        priority = \(bind: result.priority.rawValue), error_type = \(bind: result.errorType),
                        affected_entity = \(bind: result.affectedEntity), sla_seconds = \(bind: slaSeconds),
                        sla_deadline = \(bind: links.recurrenceOf == nil ? slaDeadline : nil), fingerprint = \(bind: fingerprint),
                        category = \(bind: result.category.rawValue), evidence = \(bind: evidence),
                        auto_heal_possible = \(bind: result.autoHealPossible), analysis_engine = \(bind: result.engine.rawValue),
                        decided_by = \(bind: result.decidedBy),
                        analysis_model = \(bind: result.model), analysis_tokens = \(bind: result.tokensUsed),
                        analysis_latency_ms = \(bind: result.latencyMilliseconds),
                        finops_team = \(bind: ownership?.team), finops_owner = \(bind: ownership?.owner),
                        finops_cost_center = \(bind: ownership?.costCenter), cluster_id = \(bind: subject.clusterID),
                        recurrence_of = \(bind: links.recurrenceOf),
                        sla_status = CASE WHEN \(bind: links.recurrenceOf != nil) THEN NULL ELSE sla_status END,
                        analysis_state = 'done', analysis_error = NULL, updated_at = \(bind: Timestamp.now())
                    WHERE id = \(bind: ticketID) AND analysis_state = 'pending'
                    RETURNING id
                    """
                ).first()
                guard updated != nil else { throw AlreadyAnalyzed() }
                try await TicketStore.appendAudits(
                    pendingAudits.map { (ticketID, $0.0, $0.1) } + links.notes.map { ($0.ticketID, $0.action, $0.details) }, on: sql
                )
                let notifications =
                    if let openTicket = links.recurrenceOf {
                        try await outbox.enqueue(ticketID: openTicket, reason: .recurred, leasingFirstTo: completion, on: sql)
                    } else {
                        try await outbox.enqueue(ticketID: ticketID, reason: .opened, leasingFirstTo: completion, on: sql)
                    }
                try await events.announce(Self.liveEvents(ticketID, links), on: sql)
                try await completion.complete(on: sql)
                return (links, notifications)
            }
        } catch is AlreadyAnalyzed {
            return
        }
        // The first channel's delivery runs next on this worker, without a
        // claim; the other channels' wake idle workers.
        if let leased = stored.notifications.leased { completion.handOff(leased) }
        wakeups.signal(jobs: stored.notifications.queued)
        events.afterCommit(Self.liveEvents(ticketID, stored.links))
    }

    /// The analyzed ticket changed, and so did the open ticket it recurs of.
    static func liveEvents(_ ticketID: String, _ links: TicketCorrelation.Outcome) -> [LiveEvent] {
        [LiveEvent(.ticketUpdated, ticketID: ticketID)] + (links.recurrenceOf.map { [LiveEvent(.ticketUpdated, ticketID: $0)] } ?? [])
    }

    /// The cached analysis of the same failure if it still fits (`lookedUp`
    /// when the caller already read it), else a new one. A new one is asked
    /// for under the per-fingerprint lock, so that a burst of one failure
    /// asks the engine once and the rest reuse its answer.
    private func analyze(
        _ input: AnalysisInput,
        quotable: QuotableText,
        fingerprint: String,
        lookedUp: CachedAnalysis?,
        ticket: TicketRecord,
        details: inout [String: String],
        audits: inout [(String, String)]
    ) async throws -> RootCauseAnalysis {
        if let correction = try await CorrectionStore(database: database).find(fingerprint: fingerprint) {
            audits.append((
                "RCA Reused",
                "\(correction.correctedBy) corrected this failure's analysis on ticket \(correction.ticketID) (\(correction.correctedAt)); the correction was applied, no new analysis was made"
            ))
            return Self.analysis(from: correction, quotable: quotable, affectedEntity: ticket.pipeline ?? "")
        }
        let candidate = if let lookedUp { lookedUp } else { try await cachedAnalysis(fingerprint: fingerprint, excluding: ticket.id) }
        if let cached = candidate, Self.fits(cached.analysis, quotable) {
            var analysis = try cached.analysis.validated(against: quotable)
            analysis.affectedEntity = ticket.pipeline ?? analysis.affectedEntity
            analysis.cachedFrom = cached.ticketID
            details["rca_cached_from"] = cached.ticketID
            Counter(label: "rca_analysis_cache_hits_total", dimensions: [("engine", analysis.engine.rawValue)]).increment()
            audits.append(("RCA Reused", "the same failure was analyzed for ticket \(cached.ticketID); no new analysis was made"))
            return analysis
        }
        let analysis = try await analyzer.analyze(input).validated(against: quotable)
        if let reason = analysis.fallbackReason {
            audits.append(("RCA Fallback", "\(reason); the rules engine answered"))
        }
        return analysis
    }

    /// A responder's correction as the analysis of a later ticket of the same
    /// failure. Its evidence is kept where this ticket's text has it too (a
    /// number or a name in it may differ); the responder's word stands even when none is.
    static func analysis(from correction: AnalysisCorrection, quotable: QuotableText, affectedEntity: String) -> RootCauseAnalysis {
        let missing = Set(quotable.unquotable(correction.evidence))
        let evidence = correction.evidence.filter { !missing.contains($0) }
        var analysis = RootCauseAnalysis(
            rootCause: correction.rootCause, errorType: correction.errorType, affectedEntity: affectedEntity,
            severity: correction.severity, confidence: evidence.isEmpty ? .medium : .high,
            recommendations: correction.recommendations, autoHealPossible: false, category: correction.category,
            evidence: evidence, engine: .responder
        )
        analysis.decidedBy = "correction by \(correction.correctedBy) on ticket \(correction.ticketID)"
        return analysis
    }

    /// Resource tags, Databricks custom tags and Alertmanager labels, by name
    /// (a generic webhook sends tags as `tag.NAME` in its details).
    static func tags(in details: [String: String]) -> [String: String] {
        var tags: [String: String] = [:]
        for (key, value) in details {
            for prefix in ["tag.", "custom.", "label.", "detail.tag."] where key.hasPrefix(prefix) {
                tags[String(key.dropFirst(prefix.count))] = value
            }
        }
        return tags
    }

    /// The analysis of the first analyzed ticket with this fingerprint. It is
    /// reused only if its evidence occurs in the new text as well; otherwise
    /// (the text differs in a path or a name) a fresh analysis names the right ones.
    private func cachedAnalysis(fingerprint: String, excluding ticketID: String) async throws -> CachedAnalysis? {
        try await database.read { sql in
            guard let row = try await sql.reusable(
                """
                SELECT id, rca_result, recommendations, confidence, severity, error_type, affected_entity, category, evidence,
                       auto_heal_possible, analysis_engine, analysis_model
                FROM tickets
                WHERE fingerprint = \(bind: fingerprint) AND analysis_state = 'done' AND rca_result IS NOT NULL AND id <> \(bind: ticketID)
                ORDER BY first_seen, id
                LIMIT 1
                """
            ).first() else { return nil }
            let decoder = JSONDecoder()
            let analysis = RootCauseAnalysis(
                rootCause: try row.decode(column: "rca_result", as: String.self),
                errorType: try row.decode(column: "error_type", as: String?.self) ?? FailureCategory.unknown.rawValue,
                affectedEntity: try row.decode(column: "affected_entity", as: String?.self) ?? "",
                severity: Severity(rawValue: try row.decode(column: "severity", as: String?.self) ?? "") ?? .medium,
                confidence: Confidence(rawValue: try row.decode(column: "confidence", as: String?.self) ?? "") ?? .low,
                recommendations: try decoder.decode([String].self, from: Data((try row.decode(column: "recommendations", as: String?.self) ?? "[]").utf8)),
                autoHealPossible: try row.decode(column: "auto_heal_possible", as: Bool?.self) ?? false,
                category: FailureCategory(rawValue: try row.decode(column: "category", as: String?.self) ?? "") ?? .unknown,
                evidence: try decoder.decode([String].self, from: Data((try row.decode(column: "evidence", as: String?.self) ?? "[]").utf8)),
                engine: AnalysisEngine(rawValue: try row.decode(column: "analysis_engine", as: String?.self) ?? "") ?? .rules,
                model: try row.decode(column: "analysis_model", as: String?.self)
            )
            return (try row.decode(column: "id", as: String.self), analysis)
        }
    }

    /// A stored analysis of the same failure, and the ticket it was made for.
    typealias CachedAnalysis = (ticketID: String, analysis: RootCauseAnalysis)

    func gaveUp(on job: ClaimedJob, reason: String) async {
        guard let ticketID = try? ticketID(of: job) else { return }
        do {
            try await database.transaction { sql in
                try await sql.raw(
                    """
                    UPDATE tickets SET analysis_state = 'failed', analysis_error = \(bind: reason), updated_at = \(bind: Timestamp.now())
                    WHERE id = \(bind: ticketID) AND analysis_state = 'pending'
                    """
                ).run()
                try await TicketStore.appendAudit(ticketID: ticketID, action: "Analysis Failed", details: reason, on: sql)
            }
        } catch {
            logger.error("cannot record a failed analysis", metadata: ["ticket_id": "\(ticketID)", "error": "\(Database.describe(error))"])
        }
    }

    private enum Outcome {
        case found(Enrichment, source: String)
        case unavailable(String)
        case notConfigured(String)
        case retryLater(Duration, String)
    }

    private func enrich(_ request: EnrichmentRequest, attempt: Int) async -> Outcome {
        let source = request.serviceName
        for enricher in enrichers {
            do {
                if let enrichment = try await enricher.enrich(request) { return .found(enrichment, source: source) }
            } catch {
                if error.isRetryable && attempt < enrichmentAttempts {
                    var delay = enrichmentRetryDelay * attempt
                    if case .rateLimited(let retryAfter?) = error { delay = max(delay, retryAfter) }
                    return .retryLater(delay, "\(source): \(error.description)")
                }
                return .unavailable("\(source): \(error.description)")
            }
        }
        return .notConfigured("\(source) is not configured (\(request.configurationHint)); analysis uses the webhook's own text")
    }

    private func ticketID(of job: ClaimedJob) throws -> String {
        guard let payload = try? JSONDecoder().decode(Payload.self, from: Data(job.payload.utf8)) else {
            throw JobFailure.permanent("the job's payload names no ticket")
        }
        return payload.ticket_id
    }
}

extension EnrichmentRequest {
    /// The API that answers this request, for the audit trail.
    var serviceName: String {
        switch self {
        case .databricksRun: "Databricks Jobs API"
        case .dataFactoryPipeline: "Data Factory REST API"
        }
    }

    /// What to set to turn this enrichment on.
    var configurationHint: String {
        switch self {
        case .databricksRun: "set DATABRICKS_HOST and DATABRICKS_TOKEN"
        case .dataFactoryPipeline:
            "set AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, ADF_SUBSCRIPTION_ID, ADF_RESOURCE_GROUP and ADF_FACTORY_NAME"
        }
    }
}
