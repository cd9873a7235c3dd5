import Foundation

/// A word of an error text, lower-cased, with where it stands in the text.
struct Word: Equatable {
    let text: String
    let range: Range<String.Index>
}

/// A run of letters, digits and underscores as it stands in the text
/// (`UserErrorSourceBlobNotExists`, `QUOTA_EXCEEDED`, `java`), the raw
/// material of identifiers.
struct Token: Equatable {
    let text: String
    let range: Range<String.Index>
}

/// Cuts an error text into words and tokens in one pass, linear in the
/// text's length. Identifiers are split into the words they are made of
/// (`FileNotFoundException` → file not found exception, `CAST_INVALID_INPUT`
/// → cast invalid input), so that the same vocabulary reads prose, codes and
/// class names. Stack frames (`at org.…(File.scala:42)`, `File "x.py", line 3`)
/// are skipped: they name code locations, not causes.
enum WordScanner {
    static func scan(_ text: String) -> (words: [Word], tokens: [Token]) {
        var words: [Word] = []
        var tokens: [Token] = []
        var lineStart = text.startIndex
        while lineStart < text.endIndex {
            let lineEnd = text[lineStart...].firstIndex(of: "\n") ?? text.endIndex
            if !isStackFrame(text[lineStart..<lineEnd]) {
                scanLine(text, lineStart..<lineEnd, words: &words, tokens: &tokens)
            }
            lineStart = lineEnd < text.endIndex ? text.index(after: lineEnd) : lineEnd
        }
        return (words, tokens)
    }

    static func isStackFrame(_ line: Substring) -> Bool {
        let trimmed = line.drop { $0 == " " || $0 == "\t" || $0 == "|" }
        if trimmed.hasPrefix("at "), trimmed.contains("(") || trimmed.contains("$") { return true }
        if trimmed.hasPrefix("File \""), trimmed.contains("line ") { return true }
        return trimmed.hasPrefix("... ") && trimmed.hasSuffix(" more")
    }

    private static func isTokenCharacter(_ character: Character) -> Bool {
        character == "_" || character.isLetter || character.isNumber
    }

    private static func scanLine(_ text: String, _ line: Range<String.Index>, words: inout [Word], tokens: inout [Token]) {
        var index = line.lowerBound
        var paths = PathFinder()
        while index < line.upperBound {
            if let end = paths.end(of: text, at: index, line: line) {
                words.append(Word(text: pathWord, range: index..<end))
                index = end
                continue
            }
            if let inner = quotedName(text, at: index, line: line) {
                var discarded: [Word] = []
                scanLine(text, inner, words: &discarded, tokens: &tokens)
                var innerPaths = PathFinder()
                let isPath = innerPaths.end(of: text, at: inner.lowerBound, line: inner) == inner.upperBound
                words.append(Word(text: isPath ? pathWord : nameWord, range: inner))
                index = text.index(after: inner.upperBound)
                continue
            }
            guard isTokenCharacter(text[index]) else {
                index = text.index(after: index)
                continue
            }
            var end = index
            while end < line.upperBound {
                if isTokenCharacter(text[end]) {
                    end = text.index(after: end)
                } else if text[end] == "'", text.index(after: end) < line.upperBound,
                          text[text.index(after: end)].isLetter, end > index, text[text.index(before: end)].isLetter,
                          isContractionEnding(text, after: end, limit: line.upperBound) {
                    end = text.index(after: end)
                } else {
                    break
                }
            }
            let token = String(text[index..<end])
            if token == "Source", end < line.upperBound, text[end] == "=" {
                index = text[end..<line.upperBound].firstIndex { $0 == "," || $0 == "'" } ?? line.upperBound
                continue
            }
            tokens.append(Token(text: token.replacingOccurrences(of: "'", with: ""), range: index..<end))
            if token.contains("'") {
                expandContraction(token.lowercased(), index..<end, into: &words)
            } else {
                splitWords(text, index..<end, into: &words)
            }
            index = end
        }
    }

    /// The word a storage path or file path stands as: its folders and file
    /// names are names, not prose, so `/mnt/timeout/orders.csv` says nothing
    /// of a timeout, and "dbfs:/mnt/raw/x doesn't exist" reads as "path does
    /// not exist".
    static let pathWord = "path"

    /// The word a quoted name stands as (`'sales_2025'`, `` `old.id` ``,
    /// `'NewVMgateway'`): a table, column, runtime or user, not prose, so
    /// "integration runtime 'x' does not exist" reads the same whatever x is
    /// called. Its tokens are kept: a quoted `'NotFound'` still names a code.
    static let nameWord = "‹name›"

    /// Schemes of the file systems data jobs read and write.
    private static let storageSchemes: Set<String> = [
        "abfs", "abfss", "adl", "dbfs", "file", "gs", "hdfs", "oss", "s3", "s3a", "s3n", "viewfs", "wasb", "wasbs",
    ]

    /// Finds where a path that starts at an index ends, if one does: a
    /// storage URI (`abfss://…`, `dbfs:/…`) or an absolute path of two or
    /// more segments that starts a word (`/mnt/raw/orders.csv`, not `and/or`,
    /// and not the host of an `https://` address). A path runs to the next
    /// space, quote, bracket or separator. A start inside a run already found
    /// not to be a path is not scanned again, which keeps a line of `=/=/=/…`
    /// linear.
    struct PathFinder {
        private var slashPathsFailBefore: String.Index?
        private var schemePathsFailBefore: String.Index?

        mutating func end(of text: String, at index: String.Index, line: Range<String.Index>) -> String.Index? {
            let character = text[index]
            let body: String.Index
            let isScheme: Bool
            if character == "/" {
                if index > line.lowerBound {
                    let before = text[text.index(before: index)]
                    guard before == " " || before == "\t" || "'\"`([{=,".contains(before) else { return nil }
                }
                body = index
                isScheme = false
            } else if character.isLetter {
                var schemeEnd = index
                while schemeEnd < line.upperBound, text[schemeEnd].isLetter || text[schemeEnd].isNumber,
                      text.distance(from: index, to: schemeEnd) < 8 {
                    schemeEnd = text.index(after: schemeEnd)
                }
                guard storageSchemes.contains(text[index..<schemeEnd].lowercased()),
                      text[schemeEnd..<line.upperBound].hasPrefix(":/") else { return nil }
                body = text.index(after: schemeEnd)
                isScheme = true
            } else {
                return nil
            }
            if let failed = isScheme ? schemePathsFailBefore : slashPathsFailBefore, index < failed { return nil }
            var end = body
            var segments = 0
            var previousWasSlash = false
            while end < line.upperBound {
                let next = text[end]
                if next == " " || next == "\t" || "'\"`,;()[]{}<>|".contains(next) { break }
                if previousWasSlash, isTokenCharacter(next) { segments += 1 }
                previousWasSlash = next == "/"
                end = text.index(after: end)
            }
            if segments >= (isScheme ? 1 : 2) { return end }
            if isScheme { schemePathsFailBefore = end } else { slashPathsFailBefore = end }
            return nil
        }
    }

    /// The inside of a name in single quotes or backticks that starts at
    /// `index`: no spaces, at most 128 characters, opened at a word start and
    /// closed before a word end, so that `can't` and `'Type=…, Message=…'`
    /// are not names.
    private static func quotedName(_ text: String, at index: String.Index, line: Range<String.Index>) -> Range<String.Index>? {
        let quote = text[index]
        guard quote == "'" || quote == "`" else { return nil }
        if index > line.lowerBound, isTokenCharacter(text[text.index(before: index)]) { return nil }
        let start = text.index(after: index)
        var end = start
        while end < line.upperBound, text[end] != quote {
            if text[end] == " " || text[end] == "\t" || text.distance(from: start, to: end) >= 128 { return nil }
            end = text.index(after: end)
        }
        guard end < line.upperBound, end > start else { return nil }
        let after = text.index(after: end)
        if after < line.upperBound, isTokenCharacter(text[after]) { return nil }
        return start..<end
    }

    /// `doesn't`, `can't`, `isn't`: an apostrophe followed by `t`, `s`, `re`, `ve`, `ll`, `d` and a word end.
    private static func isContractionEnding(_ text: String, after apostrophe: String.Index, limit: String.Index) -> Bool {
        var end = text.index(after: apostrophe)
        var letters = 0
        while end < limit, text[end].isLetter, letters < 3 {
            end = text.index(after: end)
            letters += 1
        }
        guard end == limit || !text[end].isLetter else { return false }
        let suffix = text[text.index(after: apostrophe)..<end].lowercased()
        return ["t", "s", "re", "ve", "ll", "d"].contains(suffix)
    }

    /// `doesn't` → does not, `can't` → cannot, `won't` → will not, `it's` → it s:
    /// the vocabulary is written with the words spelled out.
    private static func expandContraction(_ token: String, _ range: Range<String.Index>, into words: inout [Word]) {
        let parts = token.split(separator: "'", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[1] == "t", parts[0].hasSuffix("n") else {
            words.append(contentsOf: parts.map { Word(text: $0, range: range) })
            return
        }
        switch parts[0] {
        case "can": words.append(Word(text: "cannot", range: range))
        case "won": words += [Word(text: "will", range: range), Word(text: "not", range: range)]
        default: words += [Word(text: String(parts[0].dropLast()), range: range), Word(text: "not", range: range)]
        }
    }

    /// Splits one token at underscores and case changes:
    /// `SQLServerException` → sql server exception, `Py4JJavaError` → py4 j java error.
    private static func splitWords(_ text: String, _ token: Range<String.Index>, into words: inout [Word]) {
        var start: String.Index?
        var previous: Character?
        var index = token.lowerBound
        func close(at end: String.Index) {
            if let begin = start, begin < end {
                words.append(Word(text: text[begin..<end].lowercased().replacingOccurrences(of: "'", with: ""), range: begin..<end))
            }
            start = nil
        }
        while index < token.upperBound {
            let character = text[index]
            let next = text.index(after: index) < token.upperBound ? text[text.index(after: index)] : nil
            if character == "_" {
                close(at: index)
            } else {
                if let before = previous, start != nil, character.isUppercase {
                    let lowerToUpper = before.isLowercase || before.isNumber
                    let acronymEnd = before.isUppercase && (next?.isLowercase ?? false)
                    if lowerToUpper || acronymEnd { close(at: index) }
                }
                if start == nil { start = index }
            }
            previous = character == "_" ? nil : character
            index = text.index(after: index)
        }
        close(at: token.upperBound)
    }
}
