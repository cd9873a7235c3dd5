import Foundation
import RCACore

/// One labelled failure text of an evaluation corpus: what an on-call
/// engineer would call it, and the identifier the text names.
public struct LabelledFailure: Sendable, Decodable, Equatable {
    public let source: String
    public let text: String
    public let category: FailureCategory
    /// Other categories a responder would also accept.
    public let alt: [FailureCategory]
    /// The most specific identifier the text names; nil when it names none.
    public let errorType: String?

    public init(source: String, text: String, category: FailureCategory, alt: [FailureCategory] = [], errorType: String? = nil) {
        self.source = source
        self.text = text
        self.category = category
        self.alt = alt
        self.errorType = errorType
    }

    enum CodingKeys: String, CodingKey {
        case source, text, category, alt
        case errorType = "error_type"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        source = try container.decodeIfPresent(String.self, forKey: .source) ?? ""
        text = try container.decode(String.self, forKey: .text)
        category = try container.decode(FailureCategory.self, forKey: .category)
        alt = try container.decodeIfPresent([FailureCategory].self, forKey: .alt) ?? []
        errorType = try container.decodeIfPresent(String.self, forKey: .errorType).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether `category` is the label or one of the acceptable alternatives.
    public func accepts(_ category: FailureCategory) -> Bool {
        category == self.category || alt.contains(category)
    }

    /// Whether `answer` names the labelled error type: the same identifier,
    /// ignoring case, or the same class qualified by its package.
    public func acceptsErrorType(_ answer: String) -> Bool {
        guard let errorType else { return false }
        let expected = errorType.lowercased()
        let given = answer.lowercased()
        return given == expected || given.hasSuffix("." + expected)
    }
}

/// A corpus line that could not be read.
public struct CorpusError: Error, CustomStringConvertible, Equatable {
    public let line: Int
    public let reason: String

    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

    public var description: String { "line \(line): \(reason)" }
}

/// Reads an evaluation corpus: one JSON object per line, blank lines ignored.
public enum EvaluationCorpus {
    public static func parse(_ data: Data) throws(CorpusError) -> [LabelledFailure] {
        var failures: [LabelledFailure] = []
        let decoder = JSONDecoder()
        for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            guard line.contains(where: { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0D) }) else { continue }
            do {
                failures.append(try decoder.decode(LabelledFailure.self, from: Data(line)))
            } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
                throw CorpusError(line: index + 1, reason: "not JSON")
            } catch let DecodingError.keyNotFound(key, _) {
                throw CorpusError(line: index + 1, reason: "missing \"\(key.stringValue)\"")
            } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context), let DecodingError.dataCorrupted(context) {
                let field = context.codingPath.map(\.stringValue).joined(separator: ".")
                throw CorpusError(line: index + 1, reason: "\"\(field)\": \(context.debugDescription)")
            } catch {
                throw CorpusError(line: index + 1, reason: String(describing: error))
            }
        }
        return failures
    }
}

/// How an engine did on a labelled corpus: accuracy, where it went wrong and
/// what decided each wrong answer.
public struct EvaluationReport: Sendable, Codable, Equatable {
    /// One text the engine got wrong, in category or error type.
    public struct Miss: Sendable, Codable, Equatable {
        public let line: Int
        public let source: String
        public let expected: FailureCategory
        public let answered: FailureCategory
        public let categoryCorrect: Bool
        public let expectedErrorType: String?
        public let answeredErrorType: String
        public let confidence: Confidence
        /// What decided the answer (the rule, catalog entry or exception class).
        public let decidedBy: String?
        public let evidence: [String]
        public let excerpt: String

        enum CodingKeys: String, CodingKey {
            case line, source, expected, answered, confidence, evidence, excerpt
            case categoryCorrect = "category_correct"
            case expectedErrorType = "expected_error_type"
            case answeredErrorType = "answered_error_type"
            case decidedBy = "decided_by"
        }
    }

    public var total = 0
    public var categoryCorrect = 0
    /// Texts whose label names an error type, and how many the engine named right.
    public var errorTypeJudged = 0
    public var errorTypeCorrect = 0
    public var answeredUnknown = 0
    /// Label → answer → count, over every text, by category name.
    public var confusion: [String: [String: Int]] = [:]
    public var misses: [Miss] = []

    public var categoryAccuracy: Double { total == 0 ? 0 : Double(categoryCorrect) / Double(total) }
    public var errorTypeAccuracy: Double { errorTypeJudged == 0 ? 0 : Double(errorTypeCorrect) / Double(errorTypeJudged) }

    enum CodingKeys: String, CodingKey {
        case total, confusion, misses
        case categoryCorrect = "category_correct"
        case errorTypeJudged = "error_type_judged"
        case errorTypeCorrect = "error_type_correct"
        case answeredUnknown = "answered_unknown"
    }

    public init() {}
}

/// Runs the rules engine over a labelled corpus.
public struct Evaluation: Sendable {
    let engine: RulesEngine

    public init(engine: RulesEngine) {
        self.engine = engine
    }

    public func run(_ corpus: [LabelledFailure]) -> EvaluationReport {
        var report = EvaluationReport()
        for (index, failure) in corpus.enumerated() {
            let input = AnalysisInput(source: .generic, errorText: failure.text, resource: "evaluation")
            let analysis = engine.analyzeNow(input)
            report.total += 1
            report.confusion[failure.category.rawValue, default: [:]][analysis.category.rawValue, default: 0] += 1
            if analysis.category == .unknown { report.answeredUnknown += 1 }
            let categoryCorrect = failure.accepts(analysis.category)
            if categoryCorrect { report.categoryCorrect += 1 }
            var errorTypeCorrect = true
            if failure.errorType != nil {
                report.errorTypeJudged += 1
                errorTypeCorrect = failure.acceptsErrorType(analysis.errorType)
                if errorTypeCorrect { report.errorTypeCorrect += 1 }
            }
            if !categoryCorrect || !errorTypeCorrect {
                report.misses.append(EvaluationReport.Miss(
                    line: index + 1,
                    source: failure.source,
                    expected: failure.category,
                    answered: analysis.category,
                    categoryCorrect: categoryCorrect,
                    expectedErrorType: failure.errorType,
                    answeredErrorType: analysis.errorType,
                    confidence: analysis.confidence,
                    decidedBy: analysis.decidedBy,
                    evidence: analysis.evidence,
                    excerpt: String(failure.text.replacingOccurrences(of: "\n", with: " ").prefix(160))
                ))
            }
        }
        return report
    }
}

extension EvaluationReport {
    /// The report as a person reads it: figures first, then the confusion
    /// rows that hold a mistake, then each miss with what decided it.
    public func text(corpus: String, maxMisses: Int?) -> String {
        func percent(_ part: Int, _ whole: Int) -> String {
            whole == 0 ? "n/a" : String(format: "%.1f %%", Double(part) * 100 / Double(whole))
        }
        var lines = [
            "Evaluated \(total) texts from \(corpus) with the rules engine",
            "Category:   \(categoryCorrect)/\(total) = \(percent(categoryCorrect, total)) (label or an accepted alternative)",
            "Error type: \(errorTypeCorrect)/\(errorTypeJudged) = \(percent(errorTypeCorrect, errorTypeJudged)) (texts whose label names one)",
            "Unknown:    \(answeredUnknown) = \(percent(answeredUnknown, total))",
        ]
        let wrongRows = confusion.keys.sorted().compactMap { label -> String? in
            let wrong = (confusion[label] ?? [:]).filter { $0.key != label }.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
            guard !wrong.isEmpty else { return nil }
            let right = confusion[label]?[label] ?? 0
            return "  \(label) (\(right) right): " + wrong.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
        }
        if !wrongRows.isEmpty {
            lines.append("Confusion, label → answers other than the label:")
            lines += wrongRows
        }
        let shown = maxMisses.map { Array(misses.prefix($0)) } ?? misses
        if !shown.isEmpty {
            lines.append("Misses\(shown.count < misses.count ? " (first \(shown.count) of \(misses.count))" : ""):")
            for miss in shown {
                var line = "  line \(miss.line): "
                line += miss.categoryCorrect ? "category \(miss.answered.rawValue) right" : "\(miss.expected.rawValue) → \(miss.answered.rawValue)"
                if let expectedType = miss.expectedErrorType, expectedType.lowercased() != miss.answeredErrorType.lowercased() {
                    line += "; error type \(expectedType) → \(miss.answeredErrorType)"
                }
                line += " (\(miss.confidence.rawValue)"
                if let decidedBy = miss.decidedBy { line += ", \(decidedBy)" }
                line += ")"
                lines.append(line)
                lines.append("    \(miss.excerpt)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
