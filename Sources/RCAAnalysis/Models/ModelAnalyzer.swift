import Foundation
import Metrics
import RCACore

/// Analysis by a language model, made safe for production: text is
/// redacted before it leaves, the daily budget is respected, 429 and 5xx
/// answers are retried as the provider asks, the answer is validated and
/// repaired once, and whenever the model cannot give a valid answer the
/// rules engine's result is returned with the reason.
public struct ModelAnalyzer: RootCauseAnalyzer {
    /// How persistent to be with a provider that is busy or failing.
    public struct RetryPolicy: Sendable {
        /// Calls per request, the first included.
        public var attempts: Int
        /// The wait before the second call when the provider names none; it doubles each time.
        public var baseDelay: Duration
        /// The longest wait accepted; a provider asking for more gets the fallback instead.
        public var maxWait: Duration

        public init(attempts: Int = 3, baseDelay: Duration = .seconds(1), maxWait: Duration = .seconds(30)) {
            self.attempts = max(1, attempts)
            self.baseDelay = baseDelay
            self.maxWait = maxWait
        }
    }

    private let model: any LanguageModel
    private let rules: RulesEngine
    private let budget: any ModelBudget
    private let retry: RetryPolicy

    public init(model: any LanguageModel, rules: RulesEngine, budget: any ModelBudget, retry: RetryPolicy = RetryPolicy()) {
        self.model = model
        self.rules = rules
        self.budget = budget
        self.retry = retry
    }

    public func analyze(_ input: AnalysisInput) async throws -> RootCauseAnalysis {
        let candidate = rules.analyzeNow(input)
        if case .exhausted(let reason) = try await budget.reserveCall() {
            return fallback(candidate, reason: reason, kind: "budget")
        }
        let redactedText = Redactor.redact(TextWindow.bounded(input.errorText))
        var request = AnalysisPrompt.request(
            source: input.source,
            resource: input.resource,
            errorText: redactedText,
            details: input.details.mapValues { Redactor.redact(TextWindow.bounded($0, head: 2048, tail: 0)) },
            candidate: candidate
        )
        let start = ContinuousClock.now
        var tokens = 0
        var lastProblem = ""
        for round in 1...2 {
            let reply: ModelReply
            do {
                reply = try await callWithRetries(request)
            } catch let error as ModelCallError {
                try await budget.record(tokens: tokens)
                return fallback(candidate, reason: "\(model.engine.rawValue): \(error.description)", kind: Self.kind(of: error))
            }
            tokens += reply.tokens
            Counter(label: "rca_model_tokens_total", dimensions: [("engine", model.engine.rawValue)]).increment(by: reply.tokens)
            do {
                var analysis = try ModelAnswer.decode(reply.text, engine: model.engine, model: model.modelName)
                let unsupported = ModelAnswer.unsupportedEvidence(analysis, in: redactedText)
                if !unsupported.isEmpty && round == 1 { throw ModelAnswerError.unsupportedEvidence(unsupported) }
                try await budget.record(tokens: tokens)
                analysis.tokensUsed = tokens
                analysis.latencyMilliseconds = (ContinuousClock.now - start).wholeMilliseconds
                if analysis.affectedEntity.isEmpty { analysis.affectedEntity = candidate.affectedEntity }
                return Self.checked(analysis, against: candidate)
            } catch {
                lastProblem = String(describing: error)
                Counter(label: "rca_model_invalid_answers_total", dimensions: [("engine", model.engine.rawValue)]).increment()
                if round == 1 {
                    request = AnalysisPrompt.repair(request, rejectedAnswer: reply.text, problem: lastProblem)
                    if case .exhausted(let reason) = try await budget.reserveCall() {
                        try await budget.record(tokens: tokens)
                        return fallback(candidate, reason: "\(model.engine.rawValue): invalid answer (\(lastProblem)) and \(reason)", kind: "budget")
                    }
                }
            }
        }
        try await budget.record(tokens: tokens)
        return fallback(candidate, reason: "\(model.engine.rawValue): the answer was still invalid after one repair (\(lastProblem))", kind: "invalid_answer")
    }

    /// The model's answer, checked against the rules engine's reading of the
    /// same text: when the rules engine was sure (a vendor code, a catalog
    /// entry or a curated rule decided it, High or Very High) and the model
    /// names another category, the model's answer stands but its confidence is
    /// at most Medium and `decided_by` records the disagreement; when the
    /// model could not tell (`unknown`), the rules engine's answer is kept.
    static func checked(_ answer: RootCauseAnalysis, against candidate: RootCauseAnalysis) -> RootCauseAnalysis {
        var analysis = answer
        let model = "model \(answer.model ?? answer.engine.rawValue)"
        let rulesWereSure = candidate.category != .unknown && (candidate.confidence == .high || candidate.confidence == .veryHigh)
        guard rulesWereSure, answer.category != candidate.category else {
            analysis.decidedBy = model
            return analysis
        }
        if answer.category == .unknown {
            var kept = candidate
            kept.tokensUsed = answer.tokensUsed
            kept.latencyMilliseconds = answer.latencyMilliseconds
            kept.decidedBy = "\(candidate.decidedBy ?? "rules"); \(model) could not tell"
            return kept
        }
        if analysis.confidence == .high || analysis.confidence == .veryHigh { analysis.confidence = .medium }
        analysis.decidedBy = "\(model), against the rules engine's \(candidate.category.rawValue) (\(candidate.decidedBy ?? "rules"))"
        return analysis
    }

    /// One request, retried while the provider says to try again and the wait is acceptable.
    private func callWithRetries(_ request: ModelRequest) async throws -> ModelReply {
        var attempt = 1
        while true {
            do {
                let reply = try await model.complete(request)
                countCall("ok")
                return reply
            } catch {
                countCall(Self.kind(of: error))
                guard error.isRetryable, attempt < retry.attempts else { throw error }
                let backoff = retry.baseDelay * (1 << (attempt - 1))
                let wait = max(error.retryAfter ?? .zero, backoff * Double.random(in: 0.8...1.2))
                if wait > retry.maxWait {
                    throw ModelCallError.rateLimited(retryAfter: wait, detail: "the provider asks to wait \(wait), longer than the \(retry.maxWait) allowed; \(error.description)")
                }
                try await Task.sleep(for: wait)
                attempt += 1
            }
        }
    }

    private func fallback(_ candidate: RootCauseAnalysis, reason: String, kind: String) -> RootCauseAnalysis {
        Counter(label: "rca_model_fallbacks_total", dimensions: [("engine", model.engine.rawValue), ("reason", kind)]).increment()
        var result = candidate
        result.fallbackReason = reason
        return result
    }

    private func countCall(_ outcome: String) {
        Counter(label: "rca_model_calls_total", dimensions: [("engine", model.engine.rawValue), ("outcome", outcome)]).increment()
    }

    private static func kind(of error: ModelCallError) -> String {
        switch error {
        case .rateLimited: "rate_limited"
        case .unavailable: "unavailable"
        case .timeout: "timeout"
        case .transport: "transport"
        case .unauthorized: "unauthorized"
        case .rejected: "rejected"
        case .refused: "refused"
        case .truncated: "truncated"
        case .invalidResponse: "invalid_response"
        }
    }
}
