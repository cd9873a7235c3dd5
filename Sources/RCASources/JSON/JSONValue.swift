import Foundation

/// A JSON document read without a fixed schema, with lenient accessors:
/// alerting platforms send numbers as strings, `null` where a value is
/// usually present, and JSON encoded inside strings.
public enum JSONValue: Sendable, Equatable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case null

    /// Why a body is not a JSON document we accept.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case empty
        case tooDeep(limit: Int)
        case malformed(String)

        public var description: String {
            switch self {
            case .empty: "the body is empty"
            case .tooDeep(let limit): "the JSON is nested more than \(limit) levels deep"
            case .malformed(let detail): "the body is not valid JSON (\(detail))"
            }
        }
    }

    /// Parses `data`, refusing documents nested deeper than `maxDepth`.
    public static func parse(_ data: Data, maxDepth: Int = 64) throws(ParseError) -> JSONValue {
        guard data.contains(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) else { throw .empty }
        return try JSONReader.parse(data, maxDepth: maxDepth)
    }

    public subscript(key: String) -> JSONValue {
        if case .object(let object) = self { return object[key] ?? .null }
        return .null
    }

    public subscript(index: Int) -> JSONValue {
        if case .array(let array) = self, array.indices.contains(index) { return array[index] }
        return .null
    }

    /// The member whose key matches `key` ignoring case (Azure is not consistent).
    public func member(_ key: String) -> JSONValue {
        guard case .object(let object) = self else { return .null }
        if let exact = object[key] { return exact }
        let lowered = key.lowercased()
        return object.first { $0.key.lowercased() == lowered }?.value ?? .null
    }

    public var object: [String: JSONValue]? {
        if case .object(let object) = self { return object }
        return nil
    }

    public var array: [JSONValue]? {
        if case .array(let array) = self { return array }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// A non-empty string, or a number or boolean written as one.
    public var string: String? {
        switch self {
        case .string(let string): string.isEmpty ? nil : string
        case .integer(let integer): String(integer)
        case .number(let number):
            number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .bool(let bool): String(bool)
        default: nil
        }
    }

    /// A number, or a string that holds one.
    public var double: Double? {
        switch self {
        case .number(let number): number
        case .integer(let integer): Double(integer)
        case .string(let string): Double(string.trimmingCharacters(in: .whitespaces))
        default: nil
        }
    }

    /// A boolean, or a string or number that means one (`"True"`, `1`).
    public var bool: Bool? {
        switch self {
        case .bool(let bool): bool
        case .string(let string):
            switch string.lowercased() {
            case "true", "1", "yes": true
            case "false", "0", "no": false
            default: nil
            }
        case .number(let number): number != 0
        case .integer(let integer): integer != 0
        default: nil
        }
    }

    /// The value itself, or the JSON document a string holds (`"{\"a\":1}"`).
    public var decodingEmbeddedJSON: JSONValue {
        guard case .string(let text) = self,
              let first = text.first(where: { !$0.isWhitespace }), first == "{" || first == "[",
              let parsed = try? JSONValue.parse(Data(text.utf8))
        else { return self }
        return parsed
    }

    /// Compact JSON text of the value (a string as itself), for error texts and details.
    public var jsonText: String {
        if case .string(let string) = self { return string }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let integer = try? container.decode(Int64.self) {
            self = .integer(integer)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .object(let object): try container.encode(object)
        case .array(let array): try container.encode(array)
        case .string(let string): try container.encode(string)
        case .integer(let integer): try container.encode(integer)
        case .number(let number): try container.encode(number)
        case .bool(let bool): try container.encode(bool)
        case .null: try container.encodeNil()
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
}
