import Foundation
import RCACore

/// The rules engine's knowledge: failure signatures and what they mean, kept
/// as data (`Resources/knowledge-base.json`) so that they can be reviewed and
/// extended without touching code. Rules are tried in order, most specific first.
public struct KnowledgeBase: Sendable, Decodable {
    /// One failure signature.
    public struct Rule: Sendable, Decodable {
        public let id: String
        /// Case-insensitive regular expressions, each a `LinearPattern`; the text a pattern matches is the evidence.
        public let patterns: [String]
        /// The vendor's code, or `{exception}` / `{code}` to take it from the text.
        public let errorType: String
        public let category: FailureCategory
        public let severity: Severity
        public let confidence: Confidence
        /// May name `{path}`, `{table}`, `{column}`, `{host}`, `{cluster}`, `{exception}`.
        public let rootCause: String
        /// Used when the text does not name what `rootCause` refers to.
        public let rootCauseGeneral: String?
        public let recommendations: [String]
        public let autoHeal: Bool

        /// The rule's patterns, each checked to run in linear time.
        public func compiledPatterns() throws(KnowledgeBaseError) -> [LinearPattern] {
            try patterns.map { pattern throws(KnowledgeBaseError) in
                do {
                    return try LinearPattern(pattern)
                } catch {
                    throw KnowledgeBaseError.invalidPattern(rule: id, reason: String(describing: error))
                }
            }
        }

        enum CodingKeys: String, CodingKey {
            case id, patterns, category, severity, confidence, recommendations
            case errorType = "error_type"
            case rootCause = "root_cause"
            case rootCauseGeneral = "root_cause_general"
            case autoHeal = "auto_heal"
        }
    }

    public let version: Int
    public let rules: [Rule]

    /// The knowledge base shipped with this build.
    public static func bundled() throws -> KnowledgeBase {
        try JSONDecoder().decode(KnowledgeBase.self, from: bundledResource("knowledge-base"))
    }

    /// An operator's own rules (`KNOWLEDGE_BASE_FILE`), in the built-in format.
    public static func site(file path: String) throws(KnowledgeBaseError) -> KnowledgeBase {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable("cannot read \(path)")
        }
        let base: KnowledgeBase
        do {
            base = try JSONDecoder().decode(KnowledgeBase.self, from: data)
        } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
            throw .unreadable("\(path) is not JSON: \(context.debugDescription)")
        } catch let DecodingError.dataCorrupted(context) {
            throw .unreadable("\(path): \(Self.where(context)): \(context.debugDescription)")
        } catch let DecodingError.keyNotFound(key, context) {
            throw .unreadable("\(path): \(Self.where(context)) has no \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw .unreadable("\(path): \(Self.where(context)): \(context.debugDescription)")
        } catch {
            throw .unreadable("\(path): \(error)")
        }
        var seen: Set<String> = []
        for rule in base.rules where !seen.insert(rule.id).inserted {
            throw .unreadable("\(path): rule id \(rule.id) appears twice")
        }
        return base
    }

    private static func `where`(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return path.isEmpty ? "the file" : String(path.drop { $0 == "." })
    }

    /// The operator's rules first, then the built-in ones they do not replace (same id).
    public func overridden(by site: KnowledgeBase?) -> [(rule: Rule, site: Bool)] {
        guard let site else { return rules.map { ($0, false) } }
        let replaced = Set(site.rules.map(\.id))
        return site.rules.map { ($0, true) } + rules.filter { !replaced.contains($0.id) }.map { ($0, false) }
    }
}

/// One of the JSON files the rules engine ships with.
func bundledResource(_ name: String) throws -> Data {
    guard let url = Bundle.module.url(forResource: name, withExtension: "json") else {
        throw KnowledgeBaseError.missing
    }
    return try Data(contentsOf: url)
}

/// The knowledge base could not be loaded.
public enum KnowledgeBaseError: Error, CustomStringConvertible {
    case missing
    case invalidPattern(rule: String, reason: String)
    case invalidVocabulary(String)
    case unreadable(String)

    public var description: String {
        switch self {
        case .missing: "the rules knowledge base is missing from the build"
        case .invalidPattern(let rule, let reason): "rule \(rule): \(reason)"
        case .invalidVocabulary(let reason): "analysis vocabulary: \(reason)"
        case .unreadable(let reason): reason
        }
    }
}
