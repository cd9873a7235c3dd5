import Foundation
import RCACore
import RCASources

/// Why a model's answer was not accepted as an analysis.
public enum ModelAnswerError: Error, Equatable, CustomStringConvertible {
    case notJSON(String)
    case missing(field: String)
    case wrongType(field: String, expected: String)
    case notAllowed(field: String, value: String)
    case invalid(AnalysisValidationError)
    case unsupportedEvidence([String])

    public var description: String {
        switch self {
        case .notJSON(let detail): "the answer is not a JSON object (\(detail))"
        case .missing(let field): "the field \(field) is missing"
        case .wrongType(let field, let expected): "the field \(field) must be \(expected)"
        case .notAllowed(let field, let value): "\"\(value)\" is not an allowed value of \(field)"
        case .invalid(let error): error.description
        case .unsupportedEvidence(let phrases):
            "the evidence " + phrases.map { "\"\($0)\"" }.joined(separator: ", ") + " does not occur verbatim in the error text"
        }
    }
}

/// Reads a model's JSON answer into an analysis, checking every field
/// against the schema rather than trusting the provider to have enforced it.
public enum ModelAnswer {
    public static func decode(_ text: String, engine: AnalysisEngine, model: String) throws(ModelAnswerError) -> RootCauseAnalysis {
        let json: JSONValue
        do {
            json = try JSONValue.parse(Data(unfenced(text).utf8))
        } catch {
            throw .notJSON(error.description)
        }
        guard json.object != nil else { throw .notJSON("found \(String(text.prefix(40)))") }
        let analysis = RootCauseAnalysis(
            rootCause: try string(json, "root_cause"),
            errorType: try string(json, "error_type"),
            affectedEntity: (try? string(json, "affected_entity")) ?? "",
            severity: try allowed(json, "severity", Severity.init(rawValue:)),
            confidence: try allowed(json, "confidence", Confidence.init(rawValue:)),
            recommendations: try strings(json, "recommendations"),
            autoHealPossible: try boolean(json, "auto_heal_possible"),
            category: try allowed(json, "category", FailureCategory.init(rawValue:)),
            evidence: try strings(json, "evidence"),
            engine: engine,
            model: model
        )
        do {
            try analysis.checkRequiredFields()
        } catch {
            throw .invalid(error)
        }
        return analysis
    }

    /// The phrases of `analysis.evidence` that `text` does not contain.
    public static func unsupportedEvidence(_ analysis: RootCauseAnalysis, in text: String) -> [String] {
        analysis.evidence.filter { !text.contains($0) }
    }

    /// Some local servers wrap JSON in a Markdown code fence despite the schema.
    private static func unfenced(_ text: String) -> String {
        var body = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard body.hasPrefix("```") else { return body }
        body = String(body.drop { $0 != "\n" })
        if body.hasSuffix("```") { body.removeLast(3) }
        return body
    }

    private static func string(_ json: JSONValue, _ field: String) throws(ModelAnswerError) -> String {
        switch json[field] {
        case .null: throw .missing(field: field)
        case .string(let value):
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { throw .missing(field: field) }
            return trimmed
        default: throw .wrongType(field: field, expected: "a string")
        }
    }

    private static func allowed<Value>(_ json: JSONValue, _ field: String, _ make: (String) -> Value?) throws(ModelAnswerError) -> Value {
        let raw = try string(json, field)
        guard let value = make(raw) else { throw .notAllowed(field: field, value: String(raw.prefix(60))) }
        return value
    }

    private static func strings(_ json: JSONValue, _ field: String) throws(ModelAnswerError) -> [String] {
        guard json[field] != .null else { throw .missing(field: field) }
        guard let items = json[field].array else { throw .wrongType(field: field, expected: "an array of strings") }
        var values: [String] = []
        for item in items {
            guard case .string(let value) = item else { throw .wrongType(field: field, expected: "an array of strings") }
            values.append(value)
        }
        return values
    }

    private static func boolean(_ json: JSONValue, _ field: String) throws(ModelAnswerError) -> Bool {
        switch json[field] {
        case .null: throw .missing(field: field)
        case .bool(let value): return value
        default: throw .wrongType(field: field, expected: "true or false")
        }
    }
}
