/// A top-level Azure Resource Manager resource id, parsed by the ARM
/// grammar (`/subscriptions/{guid}/resourceGroups/{name}/providers/{namespace}/{type}/{name}`)
/// with Azure's naming rules. Alert payloads name resources by such ids,
/// and the worker calls the management API on them with the service
/// principal's token: only a value that parses here may reach a URL, so an
/// id such as `@evil.example/…`, one with `?`, `#`, `%` or `..`, or one
/// with extra segments is refused instead of steering the request.
public struct AzureResourceID: Sendable, Hashable, CustomStringConvertible {
    public let subscriptionID: String
    public let resourceGroup: String
    public let providerNamespace: String
    public let resourceType: String
    public let name: String

    public init?(_ text: String) {
        let segments = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard segments.count == 9, segments[0].isEmpty,
              segments[1].lowercased() == "subscriptions", Identifiers.isGUID(segments[2]),
              segments[3].lowercased() == "resourcegroups", Self.isResourceGroupName(segments[4]),
              segments[5].lowercased() == "providers", Self.isNamespace(segments[6]),
              Self.isTypeName(segments[7]), Self.isResourceName(segments[8])
        else { return nil }
        subscriptionID = segments[2].lowercased()
        resourceGroup = segments[4]
        providerNamespace = segments[6]
        resourceType = segments[7]
        name = segments[8]
    }

    public init?(subscriptionID: String, resourceGroup: String, providerNamespace: String, resourceType: String, name: String) {
        self.init("/subscriptions/\(subscriptionID)/resourceGroups/\(resourceGroup)/providers/\(providerNamespace)/\(resourceType)/\(name)")
    }

    /// The id's path segments, for building a URL one encoded segment at a time.
    public var segments: [String] {
        ["subscriptions", subscriptionID, "resourceGroups", resourceGroup, "providers", providerNamespace, resourceType, name]
    }

    public var description: String { "/" + segments.joined(separator: "/") }

    /// Whether this is a resource of `namespace`/`type`, compared as ARM does, without case.
    public func isKind(_ namespace: String, _ type: String) -> Bool {
        providerNamespace.lowercased() == namespace.lowercased() && resourceType.lowercased() == type.lowercased()
    }

    /// Resource groups: 1–90 letters, digits, `_`, `-`, `.`, `(` and `)`, not ending in a period.
    static func isResourceGroupName(_ name: String) -> Bool {
        (1...90).contains(name.count) && !name.hasSuffix(".")
            && name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.()".unicodeScalars.contains($0) }
    }

    static func isNamespace(_ name: String) -> Bool {
        (3...64).contains(name.count) && name.first?.isLetter == true && !name.hasSuffix(".")
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == ".") }
    }

    static func isTypeName(_ name: String) -> Bool {
        (1...64).contains(name.count) && name.unicodeScalars.allSatisfy { $0.isASCII && $0.properties.isAlphabetic }
    }

    /// The name rule common to ARM resources: 1–80 ASCII letters, digits,
    /// `-`, `_` and `.`, starting with a letter or digit. Each provider has
    /// a narrower rule of its own (`DataFactoryName`).
    static func isResourceName(_ name: String) -> Bool {
        (1...80).contains(name.count) && name.first.map { $0.isASCII && ($0.isLetter || $0.isNumber) } == true
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }
    }
}

/// Checks for the identifiers vendors hand out, applied before any of them
/// becomes part of a request.
public enum Identifiers {
    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hexadecimal: Azure
    /// subscriptions, tenants and Data Factory run ids.
    public static func isGUID(_ text: String) -> Bool {
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12] && groups.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }

    /// A Databricks job, run or task run id: a positive decimal integer that fits in 64 bits.
    public static func isDatabricksID(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 19 && text.allSatisfy { $0.isASCII && $0.isNumber } && Int64(text).map { $0 > 0 } == true
    }

    /// A Data Factory name: 3–63 ASCII letters, digits and single hyphens,
    /// starting and ending with a letter or digit.
    public static func isDataFactoryName(_ text: String) -> Bool {
        (3...63).contains(text.count) && !text.hasPrefix("-") && !text.hasSuffix("-") && !text.contains("--")
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }

    /// A Jira issue key: a project key (a letter, then letters, digits or
    /// underscores) and a number, as `OPS-123`.
    public static func isJiraIssueKey(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let project = parts.first, let number = parts.last,
              (1...255).contains(project.count), project.first?.isLetter == true,
              project.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }),
              (1...18).contains(number.count), number.allSatisfy({ $0.isASCII && $0.isNumber })
        else { return false }
        return true
    }
}
