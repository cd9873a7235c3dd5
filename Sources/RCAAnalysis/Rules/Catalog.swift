import Foundation
import RCACore

/// What vendors' own identifiers mean: Spark's error classes and their
/// SQLSTATE, SQLSTATE classes, Data Factory, Databricks, Azure, SQL Server,
/// Oracle, Snowflake and Entra ID codes, and exception classes whose names
/// alone do not say what went wrong (`KeyError`, `ValueError`). A code listed
/// without a category only carries another error (`2200`, `SparkException`).
/// Kept as data (`Resources/catalog.json`) with the vendors' published codes.
public struct Catalog: Sendable {
    /// A SQLSTATE or its class, and what it means; nil for one that says nothing of the cause.
    let sqlstateCategories: [String: FailureCategory?]
    let sparkErrorClasses: [String: String]
    let codes: [String: FailureCategory?]
    let exceptions: [String: FailureCategory?]
    let genericIdentifiers: Set<String>

    /// What the catalog knows of one identifier.
    enum Entry: Equatable {
        /// Listed, and what it means.
        case means(FailureCategory, because: String)
        /// Listed as one that only carries another error.
        case wrapper
        /// Not listed.
        case unlisted
    }

    struct File: Decodable {
        let version: Int
        let sqlstateCategories: [String: String?]
        let sparkErrorClasses: [String: String]
        let codes: [String: String?]
        let exceptions: [String: String?]
        let genericIdentifiers: [String]

        enum CodingKeys: String, CodingKey {
            case version, codes, exceptions
            case sqlstateCategories = "sqlstate_categories"
            case sparkErrorClasses = "spark_error_classes"
            case genericIdentifiers = "generic_identifiers"
        }
    }

    /// The catalog shipped with this build.
    public static func bundled() throws -> Catalog {
        try decode(bundledResource("catalog"))
    }

    static func decode(_ data: Data) throws -> Catalog {
        let file = try JSONDecoder().decode(File.self, from: data)
        func category(_ name: String?, _ context: String) throws -> FailureCategory? {
            guard let name else { return nil }
            guard let category = FailureCategory(rawValue: name) else {
                throw KnowledgeBaseError.invalidVocabulary("\(context): unknown category \(name)")
            }
            return category
        }
        return Catalog(
            sqlstateCategories: try file.sqlstateCategories.reduce(into: [:]) { $0[$1.key] = .some(try category($1.value, "SQLSTATE \($1.key)")) },
            sparkErrorClasses: file.sparkErrorClasses,
            codes: try file.codes.reduce(into: [:]) { $0[$1.key] = .some(try category($1.value, "code \($1.key)")) },
            exceptions: try file.exceptions.reduce(into: [:]) { $0[$1.key] = .some(try category($1.value, "exception \($1.key)")) },
            genericIdentifiers: Set(file.genericIdentifiers)
        )
    }

    /// The category of a SQLSTATE: its own entry, else its class (first two characters).
    func category(ofSQLSTATE state: String) -> FailureCategory? {
        if let listed = sqlstateCategories[state] { return listed }
        return sqlstateCategories[String(state.prefix(2))] ?? nil
    }

    /// A Spark error class (`CAST_INVALID_INPUT`, or `UNRESOLVED_COLUMN.WITH_SUGGESTION` by its main class).
    func sparkClass(_ name: String) -> Entry {
        let main = String(name.split(separator: ".").first ?? Substring(name))
        guard let state = sparkErrorClasses[main] else { return .unlisted }
        guard let category = category(ofSQLSTATE: state) else { return .unlisted }
        return .means(category, because: "Spark error class \(main) (SQLSTATE \(state))")
    }

    /// A vendor's code: exact, else by a listed prefix (`AADSTS…`).
    func code(_ name: String) -> Entry {
        if genericIdentifiers.contains(name) { return .wrapper }
        if let listed = codes[name] {
            return listed.map { .means($0, because: "code \(name)") } ?? .wrapper
        }
        if name.hasPrefix("AADSTS"), let family = codes["AADSTS"] ?? nil {
            return .means(family, because: "Entra ID sign-in error \(name)")
        }
        return .unlisted
    }

    /// An exception class, by its name without package.
    func exception(_ name: String) -> Entry {
        guard let listed = exceptions[name] else { return .unlisted }
        return listed.map { .means($0, because: "exception \(name)") } ?? .wrapper
    }
}
