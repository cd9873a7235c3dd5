import Foundation

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
    /// A Spark error class (`TABLE_OR_VIEW_NOT_FOUND`), without brackets.
    var sparkErrorClass: String?
    /// A vendor error code written as `ErrorCode=…` or `"errorCode": "…"`.
    var errorCode: String?
}

/// Pulls `Facts` out of an error text with a few targeted expressions.
enum FactExtractor {
    private static func regex(_ pattern: String) -> NSRegularExpression {
        try! NSRegularExpression(pattern: pattern, options: [.caseInsensitive])
    }

    private static let pathPatterns = [
        regex(#"\b(?:abfss?|wasbs?|dbfs|s3a?|gs|adl)://[^\s'",;)\]]+"#),
        regex(#"BlobPrefix:\s*([^\s,']+)"#),
        regex(#"Path does not exist:\s*([^\s'",;]+)"#),
        regex(#"No such file or directory:\s*'([^']+)'"#),
        regex(#"FileNotFoundError:[^'\n]*'([^']+)'"#),
        regex(#"FileNotFoundException:\s*([^\s(]+)"#),
        regex(#"(?:^|[\s'"(])((?:/dbfs|/mnt|/Volumes|/Workspace)/[^\s'",;)]+)"#),
        regex(#"path[:=]\s*'?([\w./-]+/[\w./-]+)"#),
    ]
    private static let tablePatterns = [
        regex(#"((?:`[^`\s]+`\.)+`[^`\s]+`)"#),
        regex(#"(?:table or view|table)\s+(?:not found:\s*)?[`'"]([\w.`-]+?)[`'"]\s*(?:cannot be found|not found|does not exist)?"#),
        regex(#"Table or view not found:\s*([\w.`]+)"#),
        regex(#"in the table\s+'([^']+)'"#),
        regex(#"duplicate key in object\s+'([^']+)'"#),
        regex(#"Delta table\s+[`'"]?((?:\w+\.)+\w+|(?<=[`'"])[\w-]+)"#),
    ]
    private static let columnPatterns = [
        regex(#"Column\s+'([^']+)'\s+does not exist"#),
        regex(#"Invalid column name\s+'([^']+)'"#),
        regex(#"cannot resolve\s+'[`]?([^'`]+)[`]?'"#),
        regex(#"column(?: or function parameter)? with name\s+[`']([^`']+)[`']"#),
    ]
    private static let hostPatterns = [
        regex(#"(?:host|server|endpoint)[\s:='"]+([a-z0-9][a-z0-9.-]*\.[a-z]{2,})(?::\d+)?"#),
        regex(#"\b([a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:windows\.net|azuredatabricks\.net|azure\.com|amazonaws\.com|database\.windows\.net))\b"#),
        regex(#"could not connect to server[^\n]*?\"([^\"]+)\""#),
    ]
    private static let exceptionPattern = regex(#"\b((?:[a-z_][\w]*\.)*([A-Z][A-Za-z0-9]*(?:Exception|Error|Failure)))\b"#)
    private static let sparkClassPattern = try! NSRegularExpression(pattern: #"\[([A-Z][A-Z0-9_]{3,}(?:\.[A-Z0-9_]+)*)\]"#)
    private static let errorCodePattern = regex(#"(?:ErrorCode|errorCode|error_code)["']?\s*[=:]\s*["']?([A-Za-z0-9_]+)"#)
    private static let clusterPattern = regex(#"\b(\d{4}-\d{6}-[a-z0-9]{8})\b"#)

    static func facts(in text: String, details: [String: String] = [:]) -> Facts {
        var facts = Facts()
        facts.path = firstCapture(pathPatterns, in: text).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: ".,")) }
        facts.table = firstCapture(tablePatterns, in: text)?.replacingOccurrences(of: "`", with: "")
        facts.column = firstCapture(columnPatterns, in: text)
        facts.host = firstCapture(hostPatterns, in: text)
        facts.cluster = details["cluster_id"] ?? firstCapture([clusterPattern], in: text)
        if let match = exceptionPattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
           let range = Range(match.range(at: 2), in: text) {
            facts.exception = String(text[range])
        }
        facts.sparkErrorClass = firstCapture([sparkClassPattern], in: text).map { String($0.split(separator: ".").first ?? Substring($0)) }
        facts.errorCode = firstCapture([errorCodePattern], in: text)
        return facts
    }

    private static func firstCapture(_ patterns: [NSRegularExpression], in text: String) -> String? {
        let range = NSRange(text.startIndex..., in: text)
        for pattern in patterns {
            guard let match = pattern.firstMatch(in: text, range: range) else { continue }
            let group = match.numberOfRanges > 1 && match.range(at: 1).location != NSNotFound ? 1 : 0
            if let captured = Range(match.range(at: group), in: text) {
                let value = String(text[captured]).trimmingCharacters(in: .whitespaces)
                if !value.isEmpty { return value }
            }
        }
        return nil
    }
}
