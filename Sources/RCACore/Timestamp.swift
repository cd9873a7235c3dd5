import Foundation

/// The one textual form of an instant that the store keeps and the API shows:
/// UTC, ISO 8601, millisecond precision and fixed width, so that text order is
/// time order on every database backend.
public enum Timestamp {
    public static func string(from date: Date) -> String {
        let totalMillis = wholeMillis(date)
        let (days, millisOfDay) = totalMillis.quotientAndRemainder(dividingBy: 86_400_000)
        let dayIndex = millisOfDay < 0 ? days - 1 : days
        let dayMillis = millisOfDay < 0 ? millisOfDay + 86_400_000 : millisOfDay
        let (year, month, day) = civilDate(daysSinceEpoch: dayIndex)
        let seconds = dayMillis / 1000
        var text = ""
        text.reserveCapacity(24)
        append(year, width: 4, to: &text)
        text.append("-")
        append(month, width: 2, to: &text)
        text.append("-")
        append(day, width: 2, to: &text)
        text.append("T")
        append(seconds / 3600, width: 2, to: &text)
        text.append(":")
        append(seconds / 60 % 60, width: 2, to: &text)
        text.append(":")
        append(seconds % 60, width: 2, to: &text)
        text.append(".")
        append(dayMillis % 1000, width: 3, to: &text)
        text.append("Z")
        return text
    }

    /// Year, month and day of a day counted from 1970-01-01, in the proleptic
    /// Gregorian calendar (Howard Hinnant's `civil_from_days`).
    private static func civilDate(daysSinceEpoch: Int64) -> (Int64, Int64, Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func append(_ value: Int64, width: Int, to text: inout String) {
        let digits = String(value)
        if digits.count < width { text.append(String(repeating: "0", count: width - digits.count)) }
        text.append(digits)
    }

    /// Parses the store's own form and the common ISO 8601 variants sent by
    /// alerting platforms (with or without fractional seconds, `Z` or an offset).
    public static func date(from text: String) -> Date? {
        let plain = Date.ISO8601FormatStyle(includingFractionalSeconds: false)
        let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        return (try? fractional.parse(text)) ?? (try? plain.parse(text))
    }

    /// Milliseconds since the Unix epoch: the form used where the store compares
    /// instants on every query (job scheduling and leases).
    public static func epochMillis(_ date: Date) -> Int64 {
        wholeMillis(date)
    }

    /// Milliseconds since the epoch, truncated. A `Date` is a Double of
    /// seconds: near today its milliseconds carry an error of up to 0.25 µs,
    /// so `…39.048Z` parsed may be 39.04799999 s. Half a microsecond of
    /// tolerance keeps such an instant on its millisecond, so that a time
    /// read from a payload or from the store is written back unchanged.
    private static func wholeMillis(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000 + 0.0005).rounded(.down))
    }
}

extension Timestamp {
    /// The current instant in the store's textual form.
    public static func now() -> String { string(from: Date()) }
}

extension Duration {
    /// The duration in whole milliseconds, for latencies stored and shown to people.
    public var wholeMilliseconds: Int {
        Int(components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
    }
}
