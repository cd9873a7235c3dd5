import RCACore
import RCASources

/// The shape of the JSON answer every model must give, written once and
/// rendered in each provider's schema dialect: Gemini's `responseSchema`
/// (an OpenAPI subset with upper-case types) and OpenAI's strict
/// `json_schema` (every property required, no extra properties).
public struct AnalysisSchema: Sendable, Equatable {
    enum FieldType: Equatable {
        case string(allowed: [String]?)
        case strings
        case boolean
    }

    struct Field: Equatable {
        let name: String
        let type: FieldType
        let description: String
    }

    let fields: [Field] = [
        Field(name: "root_cause", type: .string(allowed: nil), description: "What failed and why, naming the files, tables, hosts or settings involved"),
        Field(name: "error_type", type: .string(allowed: nil), description: "The vendor's error code, else the exception class, else the category"),
        Field(name: "category", type: .string(allowed: FailureCategory.allCases.map(\.rawValue)), description: "The failure's category"),
        Field(name: "affected_entity", type: .string(allowed: nil), description: "The pipeline, activity, job, task, table or cluster that failed"),
        Field(name: "severity", type: .string(allowed: Severity.allCases.map(\.rawValue)), description: "Business impact"),
        Field(name: "confidence", type: .string(allowed: Confidence.allCases.map(\.rawValue)), description: "How sure the conclusion is"),
        Field(name: "evidence", type: .strings, description: "Exact phrases copied from the error text that support the conclusion"),
        Field(name: "recommendations", type: .strings, description: "One to six concrete steps that fix or prevent the failure"),
        Field(name: "auto_heal_possible", type: .boolean, description: "Whether simply re-running is likely to succeed"),
    ]

    public init() {}

    /// The schema as Gemini's `generationConfig.responseSchema`.
    public var gemini: JSONValue {
        var schema = rendered { $0.uppercased() }
        schema["propertyOrdering"] = .array(fields.map { .string($0.name) })
        return .object(schema)
    }

    /// The schema as the `schema` of OpenAI's strict `json_schema` response format.
    public var openAI: JSONValue {
        var schema = rendered { $0 }
        schema["additionalProperties"] = false
        return .object(schema)
    }

    /// The parts both dialects share; `typeName` spells a JSON Schema type the provider's way.
    private func rendered(typeName: (String) -> String) -> [String: JSONValue] {
        let properties = fields.map { field -> (String, JSONValue) in
            var property: [String: JSONValue] = ["description": .string(field.description)]
            switch field.type {
            case .string(let allowed):
                property["type"] = .string(typeName("string"))
                if let allowed { property["enum"] = .array(allowed.map(JSONValue.string)) }
            case .strings:
                property["type"] = .string(typeName("array"))
                property["items"] = .object(["type": .string(typeName("string"))])
            case .boolean:
                property["type"] = .string(typeName("boolean"))
            }
            return (field.name, .object(property))
        }
        return [
            "type": .string(typeName("object")),
            "properties": .object(Dictionary(uniqueKeysWithValues: properties)),
            "required": .array(fields.map { .string($0.name) }),
        ]
    }
}
