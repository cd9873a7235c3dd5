import Foundation
import RCACore

/// The built-in analysis engine: matches the error text against the
/// knowledge base, fills the matching rule's explanation with what the text
/// names, and quotes the matched phrases as evidence. Needs no account and
/// no network; it is the default and the fallback of the model engines.
public struct RulesEngine: RootCauseAnalyzer {
    struct CompiledRule: Sendable {
        let rule: KnowledgeBase.Rule
        let patterns: [LinearPattern]
    }

    let rules: [CompiledRule]

    public init(knowledgeBase: KnowledgeBase) throws {
        rules = try knowledgeBase.rules.map { rule in
            let patterns = try rule.patterns.map { pattern throws(KnowledgeBaseError) in
                do {
                    return try LinearPattern(pattern)
                } catch {
                    throw KnowledgeBaseError.invalidPattern(rule: rule.id, reason: String(describing: error))
                }
            }
            return CompiledRule(rule: rule, patterns: patterns)
        }
    }

    /// The engine with the knowledge base shipped in this build.
    public init() throws {
        try self.init(knowledgeBase: .bundled())
    }

    public func analyze(_ input: AnalysisInput) async throws -> RootCauseAnalysis {
        analyzeNow(input)
    }

    /// The analysis, computed at once (the engine does no I/O).
    public func analyzeNow(_ input: AnalysisInput) -> RootCauseAnalysis {
        let start = ContinuousClock.now
        let text = TextWindow.bounded(input.errorText)
        let facts = FactExtractor.facts(in: text, details: input.details)
        var result: RootCauseAnalysis
        if let (rule, evidence) = firstMatch(in: text) {
            result = RootCauseAnalysis(
                rootCause: Self.fill(rule.rootCause, general: rule.rootCauseGeneral, facts: facts),
                errorType: Self.errorType(rule.errorType, evidence: evidence, facts: facts, category: rule.category),
                affectedEntity: Self.affectedEntity(input, facts: facts),
                severity: rule.severity,
                confidence: rule.confidence,
                recommendations: rule.recommendations.map { Self.fillGenerically($0, facts: facts) },
                autoHealPossible: rule.autoHeal,
                category: rule.category,
                evidence: evidence,
                engine: .rules
            )
            result.decidedBy = "rule \(rule.id)"
        } else {
            result = Self.unknown(input, text: text, facts: facts)
        }
        result.latencyMilliseconds = (ContinuousClock.now - start).wholeMilliseconds
        return result
    }

    /// The first rule with a matching pattern, and the phrases it matched.
    private func firstMatch(in text: String) -> (KnowledgeBase.Rule, [String])? {
        for compiled in rules {
            var evidence: [String] = []
            for pattern in compiled.patterns {
                guard let match = pattern.firstMatch(in: text), let found = Range(match.range, in: text) else { continue }
                let phrase = String(text[found]).trimmingCharacters(in: .whitespaces)
                if !phrase.isEmpty, !evidence.contains(where: { $0.contains(phrase) || phrase.contains($0) }) {
                    evidence.append(String(phrase.prefix(300)))
                }
            }
            if !evidence.isEmpty { return (compiled.rule, Array(evidence.prefix(3))) }
        }
        return nil
    }

    private static func value(of placeholder: String, in facts: Facts) -> String? {
        switch placeholder {
        case "path": facts.path
        case "table": facts.table
        case "column": facts.column
        case "host": facts.host
        case "cluster": facts.cluster
        case "exception": facts.exception
        default: nil
        }
    }

    private static let placeholderNames = ["path", "table", "column", "host", "cluster", "exception"]

    /// The rule's specific explanation when the text names everything it
    /// refers to, otherwise its general one.
    static func fill(_ template: String, general: String?, facts: Facts) -> String {
        var text = template
        for name in placeholderNames where text.contains("{\(name)}") {
            guard let value = value(of: name, in: facts) else {
                return general ?? fillGenerically(template, facts: facts)
            }
            text = text.replacingOccurrences(of: "{\(name)}", with: value)
        }
        return text
    }

    /// Fills what the text names and uses plain words for the rest.
    static func fillGenerically(_ template: String, facts: Facts) -> String {
        let plain = ["path": "the input", "table": "the table", "column": "the column", "host": "the service", "cluster": "the cluster", "exception": "an exception"]
        var text = template
        for name in placeholderNames where text.contains("{\(name)}") {
            text = text.replacingOccurrences(of: "{\(name)}", with: value(of: name, in: facts) ?? plain[name]!)
        }
        return text
    }

    /// Exceptions that only carry another error: the Spark error class inside says more.
    static let wrapperExceptions: Set<String> = [
        "AnalysisException", "Py4JJavaError", "SparkException", "PythonException", "ParseException",
        "StreamingQueryException", "SparkRuntimeException", "SparkUpgradeException",
    ]

    /// The vendor's own code when the text has one, else the category's name.
    static func errorType(_ template: String, evidence: [String], facts: Facts, category: FailureCategory) -> String {
        switch template {
        case "{exception}":
            if let exception = facts.exception, !wrapperExceptions.contains(exception) { return exception }
            return facts.sparkErrorClass ?? facts.exception ?? category.rawValue
        case "{code}":
            let code = evidence.compactMap { phrase -> String? in
                if phrase.count > 2, phrase.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) { return phrase }
                let token = phrase.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "_" }).first.map(String.init) ?? phrase
                return token.count > 2 && token.uppercased() == token || token.hasPrefix("AADSTS") ? token : nil
            }.first
            return code ?? facts.errorCode ?? facts.exception ?? category.rawValue
        default:
            return template
        }
    }

    static func affectedEntity(_ input: AnalysisInput, facts: Facts) -> String {
        var parts = [input.resource]
        if let activity = input.details["activity_name"] { parts.append("activity \(activity)") }
        if let tasks = input.details["failed_tasks"] { parts.append("task \(tasks)") }
        if let table = facts.table {
            parts.append("table \(table)")
        } else if let path = facts.path {
            parts.append(path)
        } else if let cluster = facts.cluster {
            parts.append("cluster \(cluster)")
        }
        return parts.joined(separator: ", ")
    }

    /// No signature matched: say so plainly, quote the text's first line,
    /// and give steps that are honest about what is known.
    static func unknown(_ input: AnalysisInput, text: String, facts: Facts) -> RootCauseAnalysis {
        let firstLine = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty } ?? ""
        let quoted = String(firstLine.prefix(200))
        return RootCauseAnalysis(
            rootCause: quoted.isEmpty
                ? "The failure carries no error text, so its cause cannot be told from the alert"
                : "No known failure signature matches this error; it reads: \(quoted)",
            errorType: facts.errorCode ?? facts.sparkErrorClass ?? facts.exception ?? FailureCategory.unknown.rawValue,
            affectedEntity: affectedEntity(input, facts: facts),
            severity: .medium,
            confidence: .low,
            recommendations: [
                "Open the run's full logs; the first error in them usually names the cause",
                "Check what changed since the last successful run (code, configuration, input data, credentials)",
                "Rerun once to tell a transient failure from a persistent one",
            ],
            autoHealPossible: false,
            category: .unknown,
            evidence: quoted.isEmpty ? [] : [quoted],
            engine: .rules
        )
    }
}
