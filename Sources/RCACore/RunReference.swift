import Foundation

/// Finds the Databricks runs an error text names, so that a Data Factory
/// failure caused by a notebook run can be linked with that run's ticket.
/// Data Factory writes the run page URL (`…#job/123/run/456`) or the run id
/// into the activity's error.
public enum RunReference {
    private static let patterns: [NSRegularExpression] = [
        #"#job/\d+/run/(\d{3,})"#,
        #"/jobs/\d+/runs/(\d{3,})"#,
        #"/run/(\d{3,})\b"#,
        #"\brun[_ ]?id["']?\s*[:=]?\s*["']?(\d{3,})"#,
    ].map { try! NSRegularExpression(pattern: $0, options: [.caseInsensitive]) }

    /// The distinct run ids in `text`, in order of appearance.
    public static func databricksRunIDs(in text: String) -> [String] {
        let range = NSRange(text.startIndex..., in: text)
        var found: [(Int, String)] = []
        for pattern in patterns {
            for match in pattern.matches(in: text, range: range) {
                guard let captured = Range(match.range(at: 1), in: text) else { continue }
                found.append((match.range(at: 1).location, String(text[captured])))
            }
        }
        var seen = Set<String>()
        return found.sorted { $0.0 < $1.0 }.map(\.1).filter { seen.insert($0).inserted }
    }
}
