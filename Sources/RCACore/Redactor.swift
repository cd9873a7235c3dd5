import Foundation

/// Removes secrets and e-mail addresses from text before it leaves the
/// process for a model provider. Error texts carry connection strings, SAS
/// URLs, tokens pasted into job parameters and people's addresses; none of
/// that is needed to explain a failure.
public enum Redactor {
    public static let marker = "[REDACTED]"
    public static let emailMarker = "[EMAIL]"

    private struct Replacement: @unchecked Sendable {
        let pattern: NSRegularExpression
        let template: String
    }

    private static func rule(_ pattern: String, _ template: String) -> Replacement {
        // The patterns are constants of this file; a typo is a programming error caught by the tests.
        Replacement(pattern: try! NSRegularExpression(pattern: pattern, options: [.caseInsensitive]), template: template)
    }

    /// Names under which configuration and connection strings carry secrets.
    private static let secretNames =
        "password|passwd|pwd|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token|api[_-]?key|apikey|access[_-]?key|account[_-]?key|shared[_-]?access[_-]?key|sig|signature|credential|authorization"

    private static let replacements: [Replacement] = [
        rule(#"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"#, marker),
        rule(#"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}"#, "$1 \(marker)"),
        rule(#"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"#, marker),
        rule(#"\b(dapi[0-9a-f]{32}(-\d+)?|sk-[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{35}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|xox[abprs]-[A-Za-z0-9-]{10,})\b"#, marker),
        rule(#"(://)[^/\s:@]+:[^/\s@]+@"#, "$1\(marker)@"),
        rule(#"\b(\#(secretNames))(\s*=\s*|["']\s*:\s*["']?)([^\s;,&"'}\]]+)"#, "$1$2\(marker)"),
        rule(#"\b(\#(secretNames))(:\s*)(?=[^\s;,&"'}\]]*\d)([^\s;,&"'}\]]{12,})"#, "$1$2\(marker)"),
        rule(#"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"#, emailMarker),
    ]

    /// The text with every secret and address replaced by a marker.
    public static func redact(_ text: String) -> String {
        var result = text
        for replacement in replacements {
            let range = NSRange(result.startIndex..., in: result)
            result = replacement.pattern.stringByReplacingMatches(in: result, range: range, withTemplate: replacement.template)
        }
        return result
    }
}
