import Foundation
import RCACore

/// The built-in analysis engine. It weighs every signal of the error text:
/// the first curated rule of the knowledge base that matches, the identifiers
/// the text names (Spark error classes, vendor codes, exception classes, read
/// through the catalog or their own words) and the failure vocabulary of its
/// prose (`FailureClassifier`). A curated rule that agrees with the verdict
/// gives its specific explanation; otherwise the category's guidance does.
/// Needs no account and no network; it is the default and the fallback of
/// the model engines.
public struct RulesEngine: RootCauseAnalyzer {
    struct CompiledRule: Sendable {
        let rule: KnowledgeBase.Rule
        let patterns: [LinearPattern]
        /// One of the operator's rules (`KNOWLEDGE_BASE_FILE`), which decides over every other signal.
        let site: Bool
    }

    let rules: [CompiledRule]
    let lexicon: Lexicon
    let finder: IdentifierFinder

    public init(knowledgeBase: KnowledgeBase, siteRules: KnowledgeBase? = nil, lexicon: Lexicon, catalog: Catalog) throws {
        rules = try knowledgeBase.overridden(by: siteRules).map { rule, site in
            CompiledRule(rule: rule, patterns: try rule.compiledPatterns(), site: site)
        }
        self.lexicon = lexicon
        finder = IdentifierFinder(catalog: catalog, lexicon: lexicon)
    }

    /// The engine with the given knowledge base, the operator's rules, and the vocabulary and catalog shipped in this build.
    public init(knowledgeBase: KnowledgeBase, siteRules: KnowledgeBase? = nil) throws {
        try self.init(knowledgeBase: knowledgeBase, siteRules: siteRules, lexicon: .bundled(), catalog: .bundled())
    }

    /// The engine with what is shipped in this build and the operator's rules, if any.
    public init(siteRules: KnowledgeBase? = nil) throws {
        try self.init(knowledgeBase: .bundled(), siteRules: siteRules)
    }

    public func analyze(_ input: AnalysisInput) async throws -> RootCauseAnalysis {
        analyzeNow(input)
    }

    /// The analysis, computed at once (the engine does no I/O).
    public func analyzeNow(_ input: AnalysisInput) -> RootCauseAnalysis {
        let start = ContinuousClock.now
        let text = TextWindow.bounded(input.errorText)
        let facts = FactExtractor.facts(in: text, details: input.details)
        let scan = WordScanner.scan(text)
        let identifiers = finder.identifiers(in: text, tokens: scan.tokens)
        let matched = firstMatch(in: text)
        let verdict = FailureClassifier().classify(
            text: text, words: scan.words, hits: lexicon.hits(in: scan.words), identifiers: identifiers,
            statedSQLSTATEs: finder.statedSQLSTATEs(in: text), rule: matched
        )
        var result: RootCauseAnalysis
        if let verdict {
            let rule = verdict.ruleAgrees ? matched?.rule : nil
            let guidance = CategoryGuidance.of(verdict.category)
            let literalType = rule.flatMap { $0.errorType.hasPrefix("{") ? nil : $0.errorType }
            result = RootCauseAnalysis(
                rootCause: rule.map { Self.fill($0.rootCause, general: $0.rootCauseGeneral, facts: facts) }
                    ?? Self.explain(guidance, quoting: Self.line(of: text, at: verdict.position)),
                errorType: FailureClassifier.errorType(identifiers: Self.sameTask(identifiers, text: text, position: verdict.position), ruleType: literalType, category: verdict.category),
                affectedEntity: Self.affectedEntity(input, facts: facts),
                severity: rule?.severity ?? guidance.severity,
                confidence: verdict.confidence,
                recommendations: (rule?.recommendations ?? guidance.recommendations).map { Self.fillGenerically($0, facts: facts) },
                autoHealPossible: rule?.autoHeal ?? guidance.autoHeal,
                category: verdict.category,
                evidence: verdict.evidence,
                engine: .rules
            )
            result.decidedBy = verdict.decidedBy
        } else {
            result = Self.unknown(input, text: text, facts: facts, identifiers: identifiers)
        }
        result.latencyMilliseconds = (ContinuousClock.now - start).wholeMilliseconds
        return result
    }

    /// The identifiers of the task failure that decided the verdict, when the text reports several.
    static func sameTask(_ identifiers: [NamedIdentifier], text: String, position: String.Index?) -> [NamedIdentifier] {
        guard let position else { return identifiers }
        let part = TaskFailures.part(of: text, around: position)
        return identifiers.filter { part.contains($0.position) }
    }

    /// The category's explanation with the line that decided it.
    static func explain(_ guidance: CategoryGuidance, quoting line: String?) -> String {
        guard let line, !line.isEmpty else { return guidance.summary }
        return "\(guidance.summary). The error reads: \"\(line)\""
    }

    /// The line around a position of the text, trimmed to 200 characters.
    static func line(of text: String, at position: String.Index?) -> String? {
        guard let position else { return nil }
        let start = text[..<position].lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex
        let end = text[position...].firstIndex(of: "\n") ?? text.endIndex
        let line = text[start..<end].trimmingCharacters(in: .whitespaces)
        return line.count > 200 ? String(line.prefix(199)) + "…" : line
    }

    /// The first rule with a matching pattern (the operator's first), and the phrases it matched.
    private func firstMatch(in text: String) -> FailureClassifier.RuleMatch? {
        for compiled in rules {
            var evidence: [String] = []
            for pattern in compiled.patterns {
                guard let match = pattern.firstMatch(in: text), let found = Range(match.range, in: text) else { continue }
                let phrase = String(text[found]).trimmingCharacters(in: .whitespaces)
                if !phrase.isEmpty, !evidence.contains(where: { $0.contains(phrase) || phrase.contains($0) }) {
                    evidence.append(String(phrase.prefix(300)))
                }
            }
            if !evidence.isEmpty { return FailureClassifier.RuleMatch(rule: compiled.rule, evidence: Array(evidence.prefix(3)), site: compiled.site) }
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
    static func unknown(_ input: AnalysisInput, text: String, facts: Facts, identifiers: [NamedIdentifier]) -> RootCauseAnalysis {
        let firstLine = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty } ?? ""
        let quoted = String(firstLine.prefix(200))
        return RootCauseAnalysis(
            rootCause: quoted.isEmpty
                ? "The failure carries no error text, so its cause cannot be told from the alert"
                : "No known failure signature matches this error; it reads: \(quoted)",
            errorType: FailureClassifier.errorType(identifiers: identifiers, ruleType: nil, category: .unknown),
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
