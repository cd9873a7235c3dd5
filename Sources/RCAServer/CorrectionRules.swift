import Foundation
import RCAAnalysis
import RCACore
import RCAStore

/// Turns responders' corrections into site rules (`KNOWLEDGE_BASE_FILE`
/// format), so that what people taught the server about one failure also
/// covers similar ones and can be reviewed and kept like code. A rule
/// matches the phrases the correction cites, with numbers allowed to vary.
public enum CorrectionRules {
    /// The exported rules, and the corrections that cite no phrase (there is nothing to match them by).
    public struct Export: Sendable {
        public let document: Data
        public let ruleCount: Int
        public let skipped: [AnalysisCorrection]
    }

    /// A failure's numbers (ids, counts, line numbers) vary between its
    /// occurrences; up to this many of them become `[0-9]{1,12}`, which keeps
    /// a pattern's combinations within `LinearPattern`'s limit.
    static let variableNumbers = 3

    public static func export(_ corrections: [AnalysisCorrection]) throws -> Export {
        var rules: [[String: Any]] = []
        var skipped: [AnalysisCorrection] = []
        for correction in corrections {
            let patterns = correction.evidence.map(pattern(matching:))
            guard !patterns.isEmpty else {
                skipped.append(correction)
                continue
            }
            rules.append([
                "id": "correction-\(correction.fingerprint.prefix(16))",
                "patterns": patterns,
                "error_type": correction.errorType,
                "category": correction.category.rawValue,
                "severity": correction.severity.rawValue,
                "confidence": Confidence.high.rawValue,
                "root_cause": correction.rootCause,
                "recommendations": correction.recommendations,
                "auto_heal": false,
                "corrected_on_ticket": correction.ticketID,
                "corrected_by": correction.correctedBy,
                "corrected_at": correction.correctedAt,
            ])
        }
        let document = try JSONSerialization.data(
            withJSONObject: ["version": 1, "rules": rules] as [String: Any], options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        )
        return Export(document: document + Data("\n".utf8), ruleCount: rules.count, skipped: skipped)
    }

    /// A pattern that matches `phrase` literally except for its first
    /// numbers, which may be any others; fully literal when that would not be linear.
    static func pattern(matching phrase: String) -> String {
        let literal = NSRegularExpression.escapedPattern(for: phrase)
        var generalized = ""
        var numbers = 0
        var index = literal.startIndex
        while index < literal.endIndex {
            let character = literal[index]
            guard character.isASCII, character.isNumber, numbers < variableNumbers else {
                generalized.append(character)
                index = literal.index(after: index)
                continue
            }
            numbers += 1
            generalized += "[0-9]{1,12}"
            index = literal[index...].firstIndex { !($0.isASCII && $0.isNumber) } ?? literal.endIndex
        }
        return (try? LinearPattern(generalized)) != nil ? generalized : literal
    }
}
