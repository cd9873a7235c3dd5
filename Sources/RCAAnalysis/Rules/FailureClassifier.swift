import Foundation
import RCACore

/// What the classifier concluded of a text, and what it rests on.
struct Verdict {
    var category: FailureCategory
    var confidence: Confidence
    /// Verbatim phrases of the text, strongest first.
    var evidence: [String]
    /// The signal that weighed most (`rule spark-oom`, `code ORA-12541`, `words "timed out"`).
    var decidedBy: String
    /// Where the deciding signal stands, to quote its line.
    var position: String.Index?
    /// Whether the curated rule's category won, so that its explanation applies.
    var ruleAgrees: Bool
}

/// The category an error text points to, weighed from every signal in it:
/// a curated rule of the knowledge base, the identifiers it names (by the
/// catalog, or by their own words) and the vocabulary of its prose. Each
/// signal adds its weight to its category; the heaviest category wins, except
/// that an operator's rule decides outright.
struct FailureClassifier {
    /// A curated rule that matched, and the phrases it matched.
    struct RuleMatch {
        let rule: KnowledgeBase.Rule
        let evidence: [String]
        /// An operator's rule: it decides whatever else the text says.
        let site: Bool
    }

    /// Weights of a curated rule's match, by its confidence.
    static func weight(of confidence: Confidence) -> Int {
        switch confidence {
        case .veryHigh: 12
        case .high: 9
        case .medium: 4
        case .low: 2
        }
    }

    static let catalogWeight = 6
    static let identifierWordsWeight = 3
    static let innermostBonus = 2
    /// The most the vocabulary of a text can add to one category, so that a
    /// long text repeating common words does not outweigh a curated rule or a
    /// catalog entry.
    static let phraseCap = 8
    /// Ties between equally weighed categories go to the one declared first, so that an answer never depends on hashing.
    static let order = Dictionary(uniqueKeysWithValues: FailureCategory.allCases.enumerated().map { ($1, $0) })

    struct Contribution {
        let category: FailureCategory
        let weight: Int
        let label: String
        let evidence: String?
        let position: String.Index?
        let decisive: Bool
        /// A phrase of the vocabulary, whose weights are capped per category.
        var fromVocabulary = false
    }

    func classify(
        text: String,
        words: [Word],
        hits: [Lexicon.Hit],
        identifiers: [NamedIdentifier],
        statedSQLSTATEs: [(state: String, range: Range<String.Index>, category: FailureCategory)],
        rule: RuleMatch?
    ) -> Verdict? {
        var contributions: [Contribution] = []
        if let rule {
            contributions.append(Contribution(category: rule.rule.category, weight: Self.weight(of: rule.rule.confidence),
                                              label: Self.label(rule), evidence: rule.evidence.first,
                                              position: rule.evidence.first.flatMap { text.range(of: $0)?.lowerBound },
                                              decisive: rule.site || rule.rule.confidence == .high || rule.rule.confidence == .veryHigh))
        }
        let named = Self.mostSpecific(identifiers)
        for identifier in identifiers {
            guard let category = identifier.category, let reason = identifier.reason else { continue }
            var weight = identifier.fromCatalog ? Self.catalogWeight : Self.identifierWordsWeight
            if identifier.position == named?.position { weight += Self.innermostBonus }
            contributions.append(Contribution(category: category, weight: weight, label: reason, evidence: identifier.name,
                                              position: identifier.position, decisive: identifier.fromCatalog))
        }
        for stated in statedSQLSTATEs {
            contributions.append(Contribution(category: stated.category, weight: Self.catalogWeight, label: "SQLSTATE \(stated.state)",
                                              evidence: String(text[stated.range]), position: stated.range.lowerBound, decisive: true))
        }
        var seen: Set<String> = []
        for hit in hits where seen.insert(hit.phrase.text).inserted {
            let range = words[hit.firstWord].range.lowerBound..<words[hit.lastWord].range.upperBound
            contributions.append(Contribution(category: hit.phrase.category, weight: hit.phrase.weight, label: "\"\(hit.phrase.text)\"",
                                              evidence: String(text[range]), position: range.lowerBound, decisive: false, fromVocabulary: true))
        }

        var scores: [FailureCategory: Int] = [:]
        var phraseScores: [FailureCategory: Int] = [:]
        for contribution in contributions {
            if contribution.fromVocabulary {
                phraseScores[contribution.category, default: 0] += contribution.weight
            } else {
                scores[contribution.category, default: 0] += contribution.weight
            }
        }
        for (category, weight) in phraseScores {
            scores[category, default: 0] += min(weight, Self.phraseCap)
        }
        let ranked = scores.sorted { left, right in
            if left.value != right.value { return left.value > right.value }
            let (leftStrongest, rightStrongest) = (strongest(left.key, contributions), strongest(right.key, contributions))
            if leftStrongest != rightStrongest { return leftStrongest > rightStrongest }
            return Self.order[left.key, default: 0] < Self.order[right.key, default: 0]
        }
        let decided = rule.flatMap { $0.site ? ($0.rule.category, scores[$0.rule.category] ?? 0) : nil } ?? ranked.first
        guard let (category, score) = decided, score > 0 else { return nil }
        let runnerUp = ranked.first { $0.key != category }?.value ?? 0
        let mine = contributions.filter { $0.category == category }
        let signals = mine.filter { !$0.fromVocabulary }.sorted { $0.weight > $1.weight }
        let phrases = mine.filter(\.fromVocabulary).sorted { $0.weight > $1.weight }
        let phraseWeight = phrases.reduce(0) { $0 + $1.weight }

        let ruleAgrees = rule?.rule.category == category
        let decider: Contribution?
        let decidedBy: String
        if ruleAgrees, let rule {
            decider = signals.first { $0.label == Self.label(rule) }
            decidedBy = Self.label(rule)
        } else if let top = signals.first, top.weight >= min(phraseWeight, Self.phraseCap) {
            decider = top
            decidedBy = top.label
        } else {
            decider = phrases.first
            decidedBy = "words " + phrases.prefix(3).map(\.label).joined(separator: ", ")
        }

        let confidence: Confidence
        if ruleAgrees, let rule, rule.site || rule.rule.confidence == .high || rule.rule.confidence == .veryHigh {
            confidence = rule.rule.confidence
        } else if mine.contains(where: \.decisive) {
            confidence = score - runnerUp >= Self.catalogWeight ? .high : .medium
        } else if ruleAgrees, let rule {
            confidence = rule.rule.confidence
        } else {
            confidence = score >= 6 && score - runnerUp >= 3 ? .medium : .low
        }

        var evidence: [String] = []
        let ordered = ruleAgrees ? (rule?.evidence ?? []) + (signals + phrases).compactMap(\.evidence) : (signals + phrases).compactMap(\.evidence)
        for phrase in ordered {
            let trimmed = phrase.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !evidence.contains(where: { $0.contains(trimmed) || trimmed.contains($0) }) else { continue }
            evidence.append(String(trimmed.prefix(300)))
            if evidence.count == 3 { break }
        }
        return Verdict(category: category, confidence: confidence, evidence: evidence, decidedBy: decidedBy,
                       position: decider?.position, ruleAgrees: ruleAgrees)
    }

    /// How the audit names a rule: `rule spark-oom`, or `site rule nightly-sales-late` for an operator's.
    static func label(_ match: RuleMatch) -> String {
        (match.site ? "site rule " : "rule ") + match.rule.id
    }

    private func strongest(_ category: FailureCategory, _ contributions: [Contribution]) -> Int {
        contributions.filter { $0.category == category }.map(\.weight).max() ?? 0
    }

    /// The identifier that names the failure best, by the convention of
    /// docs/analysis.md: the innermost error class, else the innermost code
    /// that means something, else the innermost exception class or code name
    /// that does; else the innermost code, exception or HTTP status that only
    /// carries another error.
    static func mostSpecific(_ identifiers: [NamedIdentifier]) -> NamedIdentifier? {
        for rank in [4, 3, 2] {
            if let identifier = identifiers.last(where: { $0.rank == rank }) { return identifier }
        }
        for kinds: Set<NamedIdentifier.Kind> in [[.errorClass, .code, .name], [.exception], [.httpStatus]] {
            if let identifier = identifiers.last(where: { kinds.contains($0.kind) }) { return identifier }
        }
        return nil
    }

    /// The error type: the identifier the text names best, else the curated rule's type, else the category's name.
    static func errorType(identifiers: [NamedIdentifier], ruleType: String?, category: FailureCategory) -> String {
        mostSpecific(identifiers)?.name ?? ruleType ?? category.rawValue
    }
}
