import Foundation

/// Finds the Databricks runs an error text names, so that a Data Factory
/// failure caused by a notebook run can be linked with that run's ticket.
/// Data Factory writes the run page URL (`…#job/123/run/456`) or the run id
/// into the activity's error.
public enum RunReference {
    static let patterns: [LinearPattern] = [
        #"#job/\d{1,20}+/run/(\d{3,20}+)"#,
        #"/jobs/\d{1,20}+/runs/(\d{3,20}+)"#,
        #"/run/(\d{3,20}+)\b"#,
        #"\brun[_ ]?id["']?\s{0,10}+[:=]?\s{0,10}+["']?(\d{3,20}+)"#,
    ].map { LinearPattern.constant($0) }

    /// The distinct run ids in `text` (its `TextWindow`), in order of appearance.
    public static func databricksRunIDs(in text: String) -> [String] {
        let text = TextWindow.bounded(text)
        var found: [(Int, String)] = []
        for pattern in patterns {
            for match in pattern.matches(in: text) {
                guard let captured = Range(match.range(at: 1), in: text) else { continue }
                found.append((match.range(at: 1).location, String(text[captured])))
            }
        }
        var seen = Set<String>()
        return found.sorted { $0.0 < $1.0 }.map(\.1).filter { seen.insert($0).inserted }
    }
}
