import Foundation

/// The signature of a failure: its error text with the parts that change
/// from run to run (ids, GUIDs, times, dates in paths, numbers, hosts)
/// normalized away, plus its source. Equal fingerprints mean "the same
/// failure again", which lets an analysis be reused and recurrences linked.
public enum Fingerprint {
    static let replacements: [(LinearPattern, String)] = [
        (#"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"#, "<guid>"),
        (#"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9}+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"#, "<time>"),
        (#"\d{1,2}/\d{1,2}/\d{4}(?: \d{1,2}:\d{2}(?::\d{2})?(?: [AP]M)?)?"#, "<time>"),
        (#"(?<=/)\d{4}/\d{1,2}(?:/\d{1,2})?(?=/|\b)"#, "<date>"),
        (#"\b[a-z0-9][a-z0-9.-]{0,252}\.(?:net|com|io|org|internal|local)\b"#, "<host>"),
        (#"\b\d{4}-\d{6}-[a-z0-9]{8}\b"#, "<cluster>"),
        (#"\b(?=[0-9a-f]{0,128}\d)[0-9a-f]{8,128}\b"#, "<hex>"),
        (#"\d{1,1000}+(?:\.\d{1,1000}+)?"#, "<n>"),
        (#"\s{1,1000}+"#, " "),
    ].map { (LinearPattern.constant($0.0), $0.1) }

    /// The error text (its `TextWindow`) with its volatile parts replaced by placeholders.
    public static func normalize(_ text: String) -> String {
        var normalized = TextWindow.bounded(text)
        for (pattern, replacement) in replacements {
            normalized = pattern.replacingMatches(in: normalized, with: replacement)
        }
        return normalized.trimmingCharacters(in: .whitespaces)
    }

    /// A 16-hex-digit fingerprint of a failure from `source` with `errorText`.
    public static func of(source: AlertSource, errorText: String) -> String {
        let hex = String(hash("\(source.rawValue)\u{1F}\(normalize(errorText))"), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// 64-bit FNV-1a of the text's UTF-8: stable across runs and processes,
    /// unlike `Hasher`, so it can be stored and compared later.
    public static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
