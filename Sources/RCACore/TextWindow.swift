/// Bounds the work done on an error text, whatever its size. A failure's
/// text can be a megabyte of log; the parts that explain it are at its start
/// (the error and its first frames) and its end (the innermost `Caused by:`),
/// so analysis, fact extraction, fingerprints and model prompts read only
/// the first `headBytes` and the last `tailBytes` of it, joined by a line
/// that says how much was left out. docs/analysis.md documents the sizes.
public enum TextWindow {
    /// Bytes of UTF-8 read from the start of a text.
    public static let headBytes = 32 * 1024
    /// Bytes of UTF-8 read from the end of a text.
    public static let tailBytes = 16 * 1024

    /// `text` itself when it fits, else its head and tail around a line
    /// naming the number of bytes omitted. Cuts fall between Unicode scalars.
    public static func bounded(_ text: String, head: Int = headBytes, tail: Int = tailBytes) -> String {
        let utf8 = text.utf8
        let count = utf8.count
        guard count > head + tail else { return text }
        let headEnd = boundary(in: text, atOrBefore: utf8.index(utf8.startIndex, offsetBy: head))
        let tailStart = boundary(in: text, atOrBefore: utf8.index(utf8.endIndex, offsetBy: -tail))
        let omitted = utf8.distance(from: headEnd, to: tailStart)
        return "\(text[..<headEnd])\n[… \(omitted) bytes omitted …]\n\(text[tailStart...])"
    }

    /// The nearest Unicode scalar boundary at or before `index`.
    private static func boundary(in text: String, atOrBefore index: String.Index) -> String.Index {
        var index = index
        while index > text.startIndex, index.samePosition(in: text.unicodeScalars) == nil {
            index = text.utf8.index(before: index)
        }
        return index
    }
}
