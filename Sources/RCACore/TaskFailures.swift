import Foundation

/// How one error text carries the failures of several tasks of a run
/// (`[Task: load] ZeroDivisionError… | [Task: publish] Library installation
/// failed…`): the enricher writes it, and the analysis reads the part that
/// holds the cause it decided on, so that an error type names that task's
/// failure and not another's.
public enum TaskFailures {
    static let marker = "[Task: "

    /// The heading of one task's failure.
    public static func heading(task key: String) -> String {
        "\(marker)\(key)]"
    }

    /// The range of the task failure that holds `position`; the whole text when it reports fewer than two tasks.
    public static func part(of text: String, around position: String.Index) -> Range<String.Index> {
        var starts: [String.Index] = []
        var searchFrom = text.startIndex
        while let found = text.range(of: marker, range: searchFrom..<text.endIndex) {
            starts.append(found.lowerBound)
            searchFrom = found.upperBound
        }
        guard starts.count >= 2 else { return text.startIndex..<text.endIndex }
        let start = starts.last { $0 <= position } ?? text.startIndex
        let end = starts.first { $0 > position } ?? text.endIndex
        return start..<end
    }
}
