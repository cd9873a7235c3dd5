import Foundation
import RCACore

/// The specific things an error text names, so that a root cause can say
/// "Source file raw/sales/2025/11/29.csv does not exist" rather than "a file
/// is missing".
struct Facts: Equatable {
    var path: String?
    var table: String?
    var column: String?
    var host: String?
    var cluster: String?
    /// An exception class (`FileNotFoundError`, `AnalysisException`…), without its package.
    var exception: String?
}

/// Pulls `Facts` out of an error text with a few targeted expressions, each
/// a `LinearPattern`, so that extraction time grows linearly with the text.
enum FactExtractor {
    private static func regex(_ pattern: String) -> LinearPattern {
        LinearPattern.constant(pattern)
    }

    static let pathPatterns = [
        regex(#"\b(?:abfss?|wasbs?|dbfs|s3a?|gs|adl)://[^\s'",;)\]]{1,1000}+"#),
        regex(#"BlobPrefix:\s{0,10}+([^\s,']{1,1000}+)"#),
        regex(#"Path does not exist:\s{0,10}+([^\s'",;]{1,1000}+)"#),
        regex(#"No such file or directory:\s{0,10}+'([^']{1,1000}+)'"#),
        regex(#"FileNotFoundError:[^'\n]{0,1000}+'([^']{1,1000}+)'"#),
        regex(#"FileNotFoundException:\s{0,10}+([^\s(]{1,1000}+)"#),
        regex(#"(?:^|[\s'"(])((?:/dbfs|/mnt|/Volumes|/Workspace)/[^\s'",;)]{1,1000}+)"#),
        regex(#"path[:=]\s{0,10}+'?(?=[\w.-]{1,1000}+/[\w.-])([\w./-]{3,1000}+)"#),
    ]
    static let tablePatterns = [
        regex(#"(`[^`\s]{1,256}+`(?:\.`[^`\s]{1,256}+`){1,4})"#),
        regex(#"(?:table or view|table)\s{1,10}+(?:not found:\s{0,10}+)?[`'"]([\w.`-]{1,256}?)[`'"]\s{0,10}+(?:cannot be found|not found|does not exist)?"#),
        regex(#"Table or view not found:\s{0,10}+([\w.`]{1,256}+)"#),
        regex(#"in the table\s{1,10}+'([^']{1,256}+)'"#),
        regex(#"duplicate key in object\s{1,10}+'([^']{1,256}+)'"#),
        regex(#"Delta table\s{1,10}+[`'"]?(\w{1,128}+(?:\.\w{1,128}+){1,4}|(?<=[`'"])[\w-]{1,256}+)"#),
    ]
    static let columnPatterns = [
        regex(#"Column\s{1,10}+'([^']{1,256}+)'\s{1,10}+does not exist"#),
        regex(#"Invalid column name\s{1,10}+'([^']{1,256}+)'"#),
        regex(#"cannot resolve\s{1,10}+'`?([^'`]{1,256}+)`?'"#),
        regex(#"column(?: or function parameter)? with name\s{1,10}+[`']([^`']{1,256}+)[`']"#),
    ]
    static let hostPatterns = [
        regex(#"(?:host|server|endpoint)[\s:='"]{1,10}+([a-z0-9][a-z0-9.-]{0,252}\.[a-z]{2,24}+)(?::\d{1,5}+)?"#),
        regex(#"\b([a-z0-9][a-z0-9.-]{0,200}\.(?:windows\.net|azuredatabricks\.net|azure\.com|amazonaws\.com))\b"#),
        regex(#"could not connect to server[^\n"]{0,1000}+"([^"]{1,256}+)""#),
    ]
    static let exceptionPattern = regex(#"\b([a-z][a-z0-9]{0,100}(?:exception|error|failure))\b"#)
    static let clusterPattern = regex(#"\b(\d{4}-\d{6}-[a-z0-9]{8})\b"#)

    /// Every pattern the extractor runs, for the tests that bound their cost.
    static var allPatterns: [LinearPattern] {
        pathPatterns + tablePatterns + columnPatterns + hostPatterns + [exceptionPattern, clusterPattern]
    }

    static func facts(in text: String, details: [String: String] = [:]) -> Facts {
        var facts = Facts()
        facts.path = firstCapture(pathPatterns, in: text).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ".,")) }
        facts.table = firstCapture(tablePatterns, in: text)?.replacingOccurrences(of: "`", with: "")
        facts.column = firstCapture(columnPatterns, in: text)
        facts.host = firstCapture(hostPatterns, in: text)
        facts.cluster = details["cluster_id"] ?? firstCapture([clusterPattern], in: text)
        if let match = exceptionPattern.firstMatch(in: text), let range = Range(match.range(at: 1), in: text) {
            facts.exception = String(text[range])
        }
        return facts
    }

    private static func firstCapture(_ patterns: [LinearPattern], in text: String) -> String? {
        for pattern in patterns {
            guard let match = pattern.firstMatch(in: text) else { continue }
            let group = match.numberOfRanges > 1 && match.range(at: 1).location != NSNotFound ? 1 : 0
            if let captured = Range(match.range(at: group), in: text) {
                let value = String(text[captured]).trimmingCharacters(in: .whitespaces)
                if !value.isEmpty { return value }
            }
        }
        return nil
    }
}
