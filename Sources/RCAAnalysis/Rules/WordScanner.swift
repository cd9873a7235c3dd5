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
        while index < line.upperBound {
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
