import Foundation

/// A case-insensitive regular expression whose matching time grows at most
/// linearly with the text. The engine behind `NSRegularExpression`
/// backtracks: `.*`, `\S+` or `(\w+\.)*` try every length from every start,
/// which made a 20 KB text of `a.a.a.…` take 13 s. A `LinearPattern`
/// refuses, when it is made, everything that lets a match attempt grow with
/// the text: unbounded quantifiers (`*`, `+`, `{n,}`), a repeated group that
/// itself repeats something by a variable count, back-references, and
/// bounded quantifiers whose combinations per start exceed `maximumCombinations`.
/// Each attempt then does bounded work, so a whole search is linear. Every
/// pattern the analysis runs (knowledge base, fact extractor, fingerprint,
/// redactor, run references, operators' own rules) is one of these.
public struct LinearPattern: @unchecked Sendable {
    // NSRegularExpression is immutable and documented as safe to share between threads.
    public let expression: NSRegularExpression
    public let source: String

    /// The longest bounded repetition a pattern may use.
    public static let maximumRepeat = 16_384
    /// The most ways one match attempt may split the text among its
    /// variable-length parts (the product of their ranges).
    public static let maximumCombinations = 20_000

    public init(_ pattern: String, caseInsensitive: Bool = true) throws(PatternError) {
        try Self.check(pattern)
        do {
            expression = try NSRegularExpression(pattern: pattern, options: caseInsensitive ? [.caseInsensitive] : [])
        } catch {
            throw PatternError(pattern: pattern, reason: "it is not a valid regular expression")
        }
        source = pattern
    }

    /// A pattern written in this program's code: one that is refused is a
    /// programming error, caught by the tests that load every built-in pattern.
    public static func constant(_ pattern: String, caseInsensitive: Bool = true) -> LinearPattern {
        do {
            return try LinearPattern(pattern, caseInsensitive: caseInsensitive)
        } catch {
            preconditionFailure(error.description)
        }
    }

    public func firstMatch(in text: String) -> NSTextCheckingResult? {
        expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text))
    }

    public func matches(in text: String) -> [NSTextCheckingResult] {
        expression.matches(in: text, range: NSRange(text.startIndex..., in: text))
    }

    public func replacingMatches(in text: String, with template: String) -> String {
        expression.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: template)
    }

    /// Refuses a pattern whose matching time could grow faster than its text.
    public static func check(_ pattern: String) throws(PatternError) {
        var scanner = PatternScanner(pattern: Array(pattern))
        try scanner.scan()
    }
}

/// Why a pattern was refused, naming the pattern and what to change.
public struct PatternError: Error, Equatable, CustomStringConvertible {
    public let pattern: String
    public let reason: String

    public var description: String { "pattern \(pattern) is refused: \(reason)" }
}

/// Reads a pattern's syntax just far enough to see its quantifiers and groups.
private struct PatternScanner {
    let pattern: [Character]
    var position = 0
    /// Per open group: whether it holds a variable-count quantifier, the
    /// combinations of its costliest finished alternative and of the
    /// alternative being read (the product of the ranges of its variable
    /// parts). Alternatives are tried one after another, so a group costs at
    /// most its number of alternatives times its costliest one: a constant
    /// of the pattern, which does not change how the cost grows with the text.
    var groups: [Group] = [Group()]

    struct Group {
        var variable = false
        var finishedAlternatives = 0
        var combinations = 1

        var total: Int { max(finishedAlternatives, combinations) }
    }

    init(pattern: [Character]) {
        self.pattern = pattern
    }

    mutating func scan() throws(PatternError) {
        while position < pattern.count {
            let character = pattern[position]
            position += 1
            switch character {
            case "\\":
                try escape()
                try quantifier(ofGroup: nil)
            case "[":
                try characterClass()
                try quantifier(ofGroup: nil)
            case "(":
                try openGroup()
            case "|":
                groups[groups.count - 1].finishedAlternatives = groups[groups.count - 1].total
                groups[groups.count - 1].combinations = 1
            case ")":
                guard groups.count > 1 else { throw refusal("it closes a group it never opened") }
                let closed = groups.removeLast()
                try quantifier(ofGroup: closed)
            case "*", "+", "?", "{":
                if character == "{", !startsQuantifier(at: position - 1) {
                    try quantifier(ofGroup: nil)
                } else {
                    throw refusal("a quantifier follows nothing it could repeat")
                }
            default:
                try quantifier(ofGroup: nil)
            }
        }
        guard groups.count == 1 else { throw refusal("a group is never closed") }
        guard groups[0].total <= LinearPattern.maximumCombinations else { throw tooManyCombinations() }
    }

    private mutating func escape() throws(PatternError) {
        guard position < pattern.count else { throw refusal("it ends with a lone backslash") }
        let escaped = pattern[position]
        position += 1
        if escaped.isNumber, escaped != "0" { throw refusal("back-references (\\\(escaped)) can take exponential time") }
        if escaped == "k" { throw refusal("back-references (\\k) can take exponential time") }
        if escaped == "Q" { throw refusal("quoted runs (\\Q…\\E) are not supported; escape each character instead") }
        if escaped == "p" || escaped == "P" || escaped == "N" || escaped == "x" || escaped == "u" {
            if position < pattern.count, pattern[position] == "{" {
                while position < pattern.count, pattern[position] != "}" { position += 1 }
                position += 1
            }
        }
    }

    private mutating func characterClass() throws(PatternError) {
        var depth = 1
        if position < pattern.count, pattern[position] == "^" { position += 1 }
        if position < pattern.count, pattern[position] == "]" { position += 1 }
        while position < pattern.count {
            let character = pattern[position]
            position += 1
            switch character {
            case "\\": position += 1
            case "[": depth += 1
            case "]":
                depth -= 1
                if depth == 0 { return }
            default: break
            }
        }
        throw refusal("a character class is never closed")
    }

    /// Reads a group's opening after `(`: a plain, non-capturing, named,
    /// look-around or atomic group is pushed; a flag setting such as `(?i)`
    /// is no group at all.
    private mutating func openGroup() throws(PatternError) {
        guard position < pattern.count, pattern[position] == "?" else {
            groups.append(Group())
            return
        }
        position += 1
        guard position < pattern.count else { throw refusal("a group is never closed") }
        switch pattern[position] {
        case ":", "=", "!", ">":
            position += 1
        case "<":
            position += 1
            if position < pattern.count, pattern[position] == "=" || pattern[position] == "!" {
                position += 1
            } else {
                while position < pattern.count, pattern[position] != ">" { position += 1 }
                position += 1
            }
        case "P", "(":
            throw refusal("back-references and conditionals are not supported")
        default:
            while position < pattern.count, pattern[position].isLetter || pattern[position] == "-" { position += 1 }
            guard position < pattern.count else { throw refusal("a group is never closed") }
            if pattern[position] == ")" {
                position += 1
                return
            }
            guard pattern[position] == ":" else { throw refusal("a group opens with an unknown construct") }
            position += 1
        }
        groups.append(Group())
    }

    private func startsQuantifier(at index: Int) -> Bool {
        boundedRange(at: index) != nil
    }

    /// The `{n}`, `{n,}` or `{n,m}` at `index`: its bounds (nil maximum when
    /// unbounded) and its length.
    private func boundedRange(at index: Int) -> (minimum: Int, maximum: Int?, length: Int)? {
        guard index < pattern.count, pattern[index] == "{" else { return nil }
        var end = index + 1
        while end < pattern.count, pattern[end] != "}" { end += 1 }
        guard end < pattern.count else { return nil }
        let body = String(pattern[(index + 1)..<end])
        let parts = body.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let minimum = Int(parts[0]) else { return nil }
        switch parts.count {
        case 1: return (minimum, minimum, end - index + 1)
        case 2 where parts[1].isEmpty: return (minimum, nil, end - index + 1)
        case 2:
            guard let maximum = Int(parts[1]) else { return nil }
            return (minimum, maximum, end - index + 1)
        default: return nil
        }
    }

    /// Reads the quantifier after an atom, if any, and records what it costs.
    /// `group` is the group just closed, when the atom is one. A possessive
    /// quantifier (`{0,200}+`) never gives back what it took, so it adds no
    /// combinations.
    private mutating func quantifier(ofGroup group: Group?) throws(PatternError) {
        var minimum = 1
        var maximum = 1
        var possessive = false
        if position < pattern.count {
            switch pattern[position] {
            case "*", "+":
                throw refusal("\(pattern[position]) repeats without bound; give it a bound such as {0,200}")
            case "?":
                minimum = 0
                position += 1
            case "{":
                if let range = boundedRange(at: position) {
                    guard let upper = range.maximum else {
                        throw refusal("{\(range.minimum),} repeats without bound; give it an upper bound")
                    }
                    guard upper >= range.minimum else { throw refusal("a repetition's bounds are reversed") }
                    guard upper <= LinearPattern.maximumRepeat else {
                        throw refusal("a repetition of up to \(upper) exceeds the limit of \(LinearPattern.maximumRepeat)")
                    }
                    minimum = range.minimum
                    maximum = upper
                    position += range.length
                }
            default: break
            }
            if position < pattern.count, minimum != 1 || maximum != 1, pattern[position] == "?" || pattern[position] == "+" {
                possessive = pattern[position] == "+"
                position += 1
            }
        }
        if let group, group.variable, maximum > 1 {
            throw refusal("a repeated group holds a variable repetition, which multiplies the ways to match; repeat the group a fixed number of times or make the inside fixed")
        }
        let inner = group?.total ?? 1
        let (ways, overflow) = inner.multipliedReportingOverflow(by: possessive ? 1 : maximum - minimum + 1)
        let (combined, overflowAgain) = groups[groups.count - 1].combinations.multipliedReportingOverflow(by: ways)
        guard !overflow, !overflowAgain, combined <= LinearPattern.maximumCombinations else { throw tooManyCombinations() }
        groups[groups.count - 1].combinations = combined
        if (minimum != maximum && !possessive) || group?.variable == true { groups[groups.count - 1].variable = true }
    }

    private func tooManyCombinations() -> PatternError {
        refusal("its variable-length parts combine in more than \(LinearPattern.maximumCombinations) ways per start; narrow their bounds or make one possessive ({0,200}+) where it cannot give anything back")
    }

    private func refusal(_ reason: String) -> PatternError {
        PatternError(pattern: String(pattern), reason: reason)
    }
}
