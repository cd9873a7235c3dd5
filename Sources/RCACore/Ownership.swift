import Foundation

/// Who pays for and answers for a failing resource: the FinOps tags of a ticket.
public struct Ownership: Sendable, Equatable, Codable {
    public var team: String
    public var owner: String?
    public var costCenter: String?

    public init(team: String, owner: String? = nil, costCenter: String? = nil) {
        self.team = team
        self.owner = owner
        self.costCenter = costCenter
    }

    enum CodingKeys: String, CodingKey {
        case team, owner
        case costCenter = "cost_center"
    }
}

/// Maps resources to their owning teams. What the sender says explicitly
/// comes first: a rule that matches on tags (Azure resource tags,
/// Databricks custom tags, Alertmanager labels), then the alert's own
/// `team`, `owner` and `cost_center` tags or labels; only then rules on the
/// resource's name (a `*`/`?` pattern, case-insensitive), tried in order.
/// When nothing matches, the name-prefix rule applies:
/// the team is the name's first segment (`sales_daily_load` → `sales`), or
/// for a CamelCase name without separators, every word but the last
/// (`DataIngestionPipeline` → `DataIngestion`), as the prototype's users expect.
public struct OwnershipMap: Sendable, Equatable, Decodable {
    /// One mapping rule of the ownership file.
    public struct Rule: Sendable, Equatable, Decodable {
        public var name: String?
        public var tags: [String: String]?
        public var team: String
        public var owner: String?
        public var costCenter: String?

        enum CodingKeys: String, CodingKey {
            case name, tags, team, owner
            case costCenter = "cost_center"
        }
    }

    public var rules: [Rule]
    /// With the prefix rule, the owner is `{team}@{ownerEmailDomain}` when set.
    public var ownerEmailDomain: String?

    enum CodingKeys: String, CodingKey {
        case rules
        case ownerEmailDomain = "owner_email_domain"
    }

    public init(rules: [Rule] = [], ownerEmailDomain: String? = nil) {
        self.rules = rules
        self.ownerEmailDomain = ownerEmailDomain
    }

    /// Reads an ownership file (JSON), checking that every rule can match something.
    public static func load(_ data: Data) throws(OwnershipMapError) -> OwnershipMap {
        let map: OwnershipMap
        do {
            map = try JSONDecoder().decode(OwnershipMap.self, from: data)
        } catch {
            throw .invalid(String(describing: error))
        }
        for (index, rule) in map.rules.enumerated() where rule.name == nil && (rule.tags ?? [:]).isEmpty {
            throw .invalid("rule \(index + 1) (team \(rule.team)) has neither a name pattern nor tags")
        }
        return map
    }

    /// Tag and label names that name the owning team, the owner and the cost center outright.
    static let teamTags = ["team", "finops_team", "owning_team"]
    static let ownerTags = ["owner", "finops_owner"]
    static let costCenterTags = ["cost_center", "costcenter", "cost-center", "finops_cost_center"]

    /// The owner of `resource`, given its tags (keys compared case-insensitively).
    public func owner(of resource: String, tags: [String: String]) -> Ownership? {
        let loweredTags = Dictionary(tags.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        func matches(_ rule: Rule) -> Bool {
            if let pattern = rule.name, !Self.glob(pattern, matches: resource) { return false }
            if let wanted = rule.tags, !wanted.allSatisfy({ loweredTags[$0.key.lowercased()]?.caseInsensitiveCompare($0.value) == .orderedSame }) {
                return false
            }
            return true
        }
        if let rule = rules.first(where: { !($0.tags ?? [:]).isEmpty && matches($0) }) {
            return Ownership(team: rule.team, owner: rule.owner, costCenter: rule.costCenter)
        }
        func tagged(_ names: [String]) -> String? {
            names.lazy.compactMap { loweredTags[$0]?.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty && $0.count <= 120 }
        }
        let owner = tagged(Self.ownerTags)
        let costCenter = tagged(Self.costCenterTags)
        if let team = tagged(Self.teamTags) {
            return Ownership(team: team, owner: owner, costCenter: costCenter)
        }
        var found: Ownership
        if let rule = rules.first(where: matches) {
            found = Ownership(team: rule.team, owner: rule.owner, costCenter: rule.costCenter)
        } else if let team = Self.prefix(of: resource) {
            found = Ownership(team: team, owner: ownerEmailDomain.map { "\(team.lowercased())@\($0)" })
        } else {
            return nil
        }
        found.owner = owner ?? found.owner
        found.costCenter = costCenter ?? found.costCenter
        return found
    }

    /// The first segment of a name split at `_`, `-`, `.`, `/` or a space,
    /// when the name has more than one; for a name of one segment, its
    /// CamelCase words but the last, when it has more than one.
    static func prefix(of name: String) -> String? {
        let separators: Set<Character> = ["_", "-", ".", "/", " "]
        let segments = name.split(whereSeparator: separators.contains)
        let candidate: Substring
        if segments.count > 1, let first = segments.first {
            candidate = first
        } else {
            let words = camelCaseWords(name)
            guard words.count > 1 else { return nil }
            candidate = name[words[0].lowerBound..<words[words.count - 2].upperBound]
        }
        guard candidate.count >= 2, candidate.first?.isLetter == true, candidate.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
        else { return nil }
        return String(candidate)
    }

    /// The words of a CamelCase name: a word starts at an upper-case letter
    /// that follows a lower-case letter or digit, or that ends a run of
    /// capitals before a lower-case one (`ADFCopyJob` → ADF, Copy, Job).
    static func camelCaseWords(_ name: String) -> [Range<String.Index>] {
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { return [] }
        var words: [Range<String.Index>] = []
        var start = name.startIndex
        var index = name.index(after: name.startIndex)
        while index < name.endIndex {
            let previous = name[name.index(before: index)]
            let current = name[index]
            let next = name.index(after: index) < name.endIndex ? name[name.index(after: index)] : nil
            let startsWord = current.isUppercase && (previous.isLowercase || previous.isNumber || (previous.isUppercase && next?.isLowercase == true))
            if startsWord {
                words.append(start..<index)
                start = index
            }
            index = name.index(after: index)
        }
        if start < name.endIndex { words.append(start..<name.endIndex) }
        return words
    }

    /// Shell-style matching: `*` any run of characters, `?` one character.
    static func glob(_ pattern: String, matches text: String) -> Bool {
        let pattern = Array(pattern.lowercased())
        let text = Array(text.lowercased())
        var p = 0, t = 0, star = -1, resume = 0
        while t < text.count {
            if p < pattern.count && (pattern[p] == "?" || pattern[p] == text[t]) {
                p += 1
                t += 1
            } else if p < pattern.count && pattern[p] == "*" {
                star = p
                resume = t
                p += 1
            } else if star >= 0 {
                p = star + 1
                resume += 1
                t = resume
            } else {
                return false
            }
        }
        while p < pattern.count && pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}

/// The ownership file cannot be used.
public enum OwnershipMapError: Error, Equatable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let detail): "the ownership file is not valid: \(detail)"
        }
    }
}
