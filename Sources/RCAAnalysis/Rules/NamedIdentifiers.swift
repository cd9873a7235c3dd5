import Foundation
import RCACore

/// An identifier an error text names: a Spark or Delta error class, a
/// vendor's code, or an exception class; with what it means and how
/// specific it is.
struct NamedIdentifier: Equatable {
    enum Kind: Equatable {
        /// A Spark or Delta error class, or a constant a catalog lists (`DRIVER_UNREACHABLE`).
        case errorClass
        /// A code the text labels as one (`ErrorCode=…`, `Error code: …`, `ORA-…`).
        case code
        /// A code name standing in prose (`TooManyRequests`, `ResourceDoesNotExist`).
        case name
        case exception
        /// An HTTP status (`(503)`, `status code 429`).
        case httpStatus
    }

    /// As written in the text (`UNRESOLVED_COLUMN.WITH_SUGGESTION`, `ORA-12541`).
    let name: String
    let kind: Kind
    let position: String.Index
    /// What it means, from the catalog or from its own words; nil when it only carries another error.
    let category: FailureCategory?
    /// Why it means that (`code ORA-12541`, `the words of SqlBatchWriteTimeout`).
    let reason: String?
    let fromCatalog: Bool

    /// How specific it is, for choosing the error type: an error class (4)
    /// unless the catalog lists it as one that only wraps the real error,
    /// a code that means something (3), an exception class that does (2),
    /// one that only carries another error (1).
    var rank: Int {
        switch kind {
        case .errorClass where fromCatalog && category == nil: 1
        case .errorClass: 4
        case _ where category == nil: 1
        case .code: 3
        case .name, .exception: 2
        case .httpStatus: 1
        }
    }
}

/// Finds the identifiers of an error text, in the order they appear. Uses
/// the tokens of `WordScanner` and a few `LinearPattern`s, and sweeps the
/// tokens once past the spans the patterns claimed, so the work is linear in
/// the text.
struct IdentifierFinder {
    let catalog: Catalog
    let lexicon: Lexicon

    static let bracketedClass = LinearPattern.constant(#"\[([A-Z][A-Z0-9_]{2,100}+(?:\.[A-Z0-9_]{1,100}+){0,4})\]"#, caseInsensitive: false)
    static let labelledCode = LinearPattern.constant(
        #"(?:(?:\b|_)error[ _]?code|\berror type|"(?:code|reason)"|<code>|\bmsg|\b(?:sql)?error[ _]?number|\bnumber=)["']?\s{0,5}+(?:[=:]\s{0,5}+)?["']?([A-Z0-9][A-Za-z0-9_]{0,100}+)"#
    )
    static let oracleCode = LinearPattern.constant(#"\bORA-\d{5}\b"#, caseInsensitive: false)
    /// Data Factory mapping data flow codes: `DF-Executor-OutOfMemoryError`, `DF-SQLDW-ErrorRowsFound`, `DF-DRAFT_001`.
    static let dataFlowCode = LinearPattern.constant(#"\bDF-[A-Za-z]{1,40}+(?:[-_][A-Za-z0-9]{1,80}+){1,3}"#, caseInsensitive: false)
    /// A database's error number and SQLSTATE: Snowflake's `002003 (42S02): SQL compilation error`, MySQL's `ERROR 1045 (28000): Access denied`.
    static let numberWithSQLSTATE = LinearPattern.constant(#"\b(\d{4,6})\s{1,3}+\(([0-9A-Z]{5})\):"#, caseInsensitive: false)
    static let sqlstate = LinearPattern.constant(#"\bSQLSTATE\s{0,3}+[:=]?\s{0,3}+([0-9A-Z]{5})\b"#, caseInsensitive: false)
    static let httpStatus = LinearPattern.constant(
        #"(?:\bstatus[ _-]?code|\bhttp[ _-]?status(?:[ _-]?code)?|\bhttp(?:/\d(?:\.\d)?| error)?|\berror|\bstatus)[\s:='"(-]{0,6}+([45]\d\d)\b|\(([45]\d\d)\)\s{0,3}+[A-Z]"#
    )
    static let exceptionSuffixes = ["Exception", "Error", "Failure"]

    static var allPatterns: [LinearPattern] { [bracketedClass, labelledCode, oracleCode, dataFlowCode, numberWithSQLSTATE, sqlstate, httpStatus] }

    func identifiers(in text: String, tokens: [Token]) -> [NamedIdentifier] {
        var found: [String.Index: NamedIdentifier] = [:]
        var classRanges: [Range<String.Index>] = []
        for match in Self.bracketedClass.matches(in: text) {
            guard let range = Range(match.range(at: 1), in: text) else { continue }
            let name = String(text[range])
            let main = String(name.split(separator: ".").first ?? Substring(name))
            guard main.contains("_") || catalog.sparkErrorClasses[main] != nil else { continue }
            classRanges.append(range)
            found[range.lowerBound] = errorClass(name, at: range.lowerBound)
        }
        for match in Self.oracleCode.matches(in: text) {
            guard let range = Range(match.range, in: text) else { continue }
            let name = String(text[range])
            if case .means(let category, let reason) = catalog.code(name) {
                found[range.lowerBound] = NamedIdentifier(name: name, kind: .code, position: range.lowerBound, category: category, reason: reason, fromCatalog: true)
            } else {
                found[range.lowerBound] = NamedIdentifier(name: name, kind: .code, position: range.lowerBound, category: nil, reason: nil, fromCatalog: false)
            }
        }
        var codeRanges: [Range<String.Index>] = []
        for match in Self.dataFlowCode.matches(in: text) {
            guard let range = Range(match.range, in: text) else { continue }
            codeRanges.append(range)
            found[range.lowerBound] = code(String(text[range]), at: range.lowerBound, labelled: true)
        }
        for match in Self.numberWithSQLSTATE.matches(in: text) {
            guard let range = Range(match.range(at: 1), in: text) else { continue }
            codeRanges.append(range)
            found[range.lowerBound] = code(String(text[range]), at: range.lowerBound, labelled: true)
        }
        for match in Self.labelledCode.matches(in: text) {
            guard let range = Range(match.range(at: 1), in: text), found[range.lowerBound] == nil,
                  !catalog.genericIdentifiers.contains(String(text[range])) else { continue }
            if let identifier = code(String(text[range]), at: range.lowerBound, labelled: true) {
                found[range.lowerBound] = identifier
            }
        }
        for match in Self.httpStatus.matches(in: text) {
            let group = match.range(at: 1).location != NSNotFound ? 1 : 2
            guard let range = Range(match.range(at: group), in: text), found[range.lowerBound] == nil else { continue }
            let status = String(text[range])
            let category = catalog.codes["HTTP \(status)"] ?? nil
            found[range.lowerBound] = NamedIdentifier(name: status, kind: .httpStatus, position: range.lowerBound, category: category,
                                                      reason: category.map { _ in "HTTP status \(status)" }, fromCatalog: category != nil)
        }
        let claimed = (classRanges + codeRanges).sorted { $0.lowerBound < $1.lowerBound }
        var next = 0
        for token in tokens where found[token.range.lowerBound] == nil {
            while next < claimed.count, claimed[next].upperBound <= token.range.lowerBound { next += 1 }
            if next < claimed.count, claimed[next].lowerBound < token.range.upperBound { continue }
            if let identifier = tokenIdentifier(token) {
                found[token.range.lowerBound] = identifier
            }
        }
        return found.values.sorted { $0.position < $1.position }
    }

    /// SQLSTATEs the text states outright (`SQLSTATE: 42P01`, after an error
    /// number: `002003 (42S02):`), with their categories.
    func statedSQLSTATEs(in text: String) -> [(state: String, range: Range<String.Index>, category: FailureCategory)] {
        let stated = Self.sqlstate.matches(in: text).map { $0.range(at: 1) } + Self.numberWithSQLSTATE.matches(in: text).map { $0.range(at: 2) }
        return stated.compactMap { found in
            guard let range = Range(found, in: text) else { return nil }
            let state = String(text[range])
            return catalog.category(ofSQLSTATE: state).map { (state, range, $0) }
        }
    }

    /// The identifier for what the catalog says of it; an unlisted one is read
    /// by its own words (`main`, the error class without subclass), and kept
    /// without a meaning only when `keepUnlisted`.
    private func identifier(
        _ name: String, _ kind: NamedIdentifier.Kind, at position: String.Index, _ entry: Catalog.Entry,
        main: String? = nil, keepUnlisted: Bool = true
    ) -> NamedIdentifier? {
        switch entry {
        case .means(let category, let reason):
            return NamedIdentifier(name: name, kind: kind, position: position, category: category, reason: reason, fromCatalog: true)
        case .wrapper:
            return NamedIdentifier(name: name, kind: kind, position: position, category: nil, reason: nil, fromCatalog: true)
        case .unlisted:
            let words = main ?? name
            let category = lexicon.category(ofIdentifierWords: WordScanner.scan(words).words)
            if category == nil, !keepUnlisted { return nil }
            return NamedIdentifier(name: name, kind: kind, position: position, category: category,
                                   reason: category.map { _ in "the words of \(words)" }, fromCatalog: false)
        }
    }

    /// An error class: what the catalog's codes say of it first (a class
    /// whose SQLSTATE misleads, or one that only wraps the real error), else
    /// its SQLSTATE, else its own words.
    private func errorClass(_ name: String, at position: String.Index) -> NamedIdentifier? {
        let main = String(name.split(separator: ".").first ?? Substring(name))
        let listed = catalog.code(main)
        if listed != .unlisted { return identifier(name, .errorClass, at: position, listed) }
        return identifier(name, .errorClass, at: position, catalog.sparkClass(name), main: main)
    }

    private func code(_ name: String, at position: String.Index, labelled: Bool) -> NamedIdentifier? {
        identifier(name, .code, at: position, catalog.code(name), keepUnlisted: labelled)
    }

    private func tokenIdentifier(_ token: Token) -> NamedIdentifier? {
        let name = token.text
        let position = token.range.lowerBound
        guard let first = name.first, first.isLetter, !catalog.genericIdentifiers.contains(name) else { return nil }
        if isConstantStyle(name) {
            if case .means = catalog.sparkClass(name) { return errorClass(name, at: position) }
            return code(name, at: position, labelled: false)
        }
        if name.hasPrefix("AADSTS"), name.dropFirst(6).allSatisfy(\.isNumber), name.count > 6 {
            return code(name, at: position, labelled: true)
        }
        if first.isUppercase, name.filter(\.isUppercase).count >= 2, let named = codeName(name, at: position) {
            return named
        }
        if first.isLowercase, name.contains(where: \.isUppercase), case let entry = catalog.code(name), entry != .unlisted {
            return identifier(name, .name, at: position, entry)
        }
        guard first.isUppercase, let suffix = Self.exceptionSuffixes.first(where: { name.hasSuffix($0) }), name.count > suffix.count + 1 else {
            return nil
        }
        return identifier(name, .exception, at: position, catalog.exception(name))
    }

    /// A code written as a name in prose or as a class (`TooManyRequests`,
    /// `ResourceDoesNotExist` for `RESOURCE_DOES_NOT_EXIST`), when the catalog lists it.
    private func codeName(_ name: String, at position: String.Index) -> NamedIdentifier? {
        let constant = WordScanner.scan(name).words.map { $0.text.uppercased() }.joined(separator: "_")
        for candidate in [name, constant] {
            let entry = catalog.code(candidate)
            if entry != .unlisted { return identifier(name, .name, at: position, entry) }
        }
        return nil
    }

    /// `QUOTA_EXCEEDED`, `DRIVER_UNREACHABLE`: upper case, digits and at least one underscore.
    private func isConstantStyle(_ name: String) -> Bool {
        name.count >= 5 && name.contains("_") && name.allSatisfy { $0 == "_" || $0.isNumber || ($0.isLetter && $0.isUppercase) }
    }
}
