import Foundation

/// Removes secrets and e-mail addresses from text before it leaves the
/// process for a model provider. Error texts carry connection strings, SAS
/// URLs, tokens pasted into job parameters and people's addresses; none of
/// that is needed to explain a failure.
public enum Redactor {
    public static let marker = "[REDACTED]"
    public static let emailMarker = "[EMAIL]"

    struct Replacement: Sendable {
        let pattern: LinearPattern
        let template: String
    }

    private static func rule(_ pattern: String, _ template: String) -> Replacement {
        Replacement(pattern: LinearPattern.constant(pattern), template: template)
    }

    /// Names under which configuration and connection strings carry secrets.
    private static let secretNames =
        "password|passwd|pwd|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token|api[_-]?key|apikey|access[_-]?key|account[_-]?key|shared[_-]?access[_-]?key|sig|signature|credential|authorization"

    static let replacements: [Replacement] = [
        rule(#"\b(Bearer|Basic)\s{1,10}+[A-Za-z0-9._~+/=-]{8,4096}+"#, "$1 \(marker)"),
        rule(#"\beyJ[A-Za-z0-9_-]{5,4096}+\.[A-Za-z0-9_-]{5,4096}+\.[A-Za-z0-9_-]{0,4096}+"#, marker),
        rule(#"\b(dapi[0-9a-f]{32}(-\d{1,6})?|sk-[A-Za-z0-9_-]{20,1000}|AIza[0-9A-Za-z_-]{35}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,1000}+|xox[abprs]-[A-Za-z0-9-]{10,1000})\b"#, marker),
        rule(#"(://)[^/\s:@]{1,1000}+:[^/\s@]{1,1000}+@"#, "$1\(marker)@"),
        rule(#"\b(\#(secretNames))(\s{0,10}+=\s{0,10}+|["']\s{0,10}+:\s{0,10}+["']?)([^\s;,&"'}\]]{1,4096}+)"#, "$1$2\(marker)"),
        rule(#"\b(\#(secretNames))(:\s{0,10}+)(?=[^\s;,&"'}\]]{0,4096}\d)([^\s;,&"'}\]]{12,4096}+)"#, "$1$2\(marker)"),
        rule(#"[A-Za-z0-9._%+-]{1,64}+@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}"#, emailMarker),
    ]

    /// The text with every secret and address replaced by a marker. The
    /// time taken grows linearly with the text (`LinearPattern`).
    public static func redact(_ text: String) -> String {
        var result = redactingPrivateKeys(text)
        for replacement in replacements {
            result = replacement.pattern.replacingMatches(in: result, with: replacement.template)
        }
        return result
    }

    /// PEM private key blocks (`-----BEGIN … PRIVATE KEY-----` to the
    /// matching `-----END … PRIVATE KEY-----`), found by a scanner rather
    /// than a pattern: a block spans kilobytes, and each search resumes
    /// where the last one stopped, so the text is read once.
    static func redactingPrivateKeys(_ text: String) -> String {
        var result = ""
        var rest = text[...]
        while let begin = rest.range(of: "-----BEGIN ") {
            let header = rest[begin.upperBound...].prefix(48)
            guard let headerEnd = header.range(of: "-----") else {
                result += rest[..<begin.upperBound]
                rest = rest[begin.upperBound...]
                continue
            }
            guard header[..<headerEnd.lowerBound].hasSuffix("PRIVATE KEY") else {
                result += rest[..<headerEnd.upperBound]
                rest = rest[headerEnd.upperBound...]
                continue
            }
            guard let footer = rest[headerEnd.upperBound...].range(of: "PRIVATE KEY-----"),
                  rest[headerEnd.upperBound..<footer.lowerBound].contains("-----END ") else {
                break
            }
            result += rest[..<begin.lowerBound]
            result += marker
            rest = rest[footer.upperBound...]
        }
        return result + rest
    }
}
