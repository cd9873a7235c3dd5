import Foundation

/// The one textual form of an instant that the store keeps and the API shows:
/// UTC, ISO 8601, millisecond precision and fixed width, so that text order is
/// time order on every database backend.
public enum Timestamp {
    public static func string(from date: Date) -> String {
        let millisSinceEpoch = (date.timeIntervalSince1970 * 1000).rounded(.down)
        let wholeSeconds = Int64(millisSinceEpoch / 1000)
        let millis = Int(Int64(millisSinceEpoch) - wholeSeconds * 1000)
        let components = utcCalendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second],
            from: Date(timeIntervalSince1970: TimeInterval(wholeSeconds))
        )
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            components.year ?? 0, components.month ?? 0, components.day ?? 0,
            components.hour ?? 0, components.minute ?? 0, components.second ?? 0, millis
        )
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
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    private static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}

extension Timestamp {
    /// The current instant in the store's textual form.
    public static func now() -> String { string(from: Date()) }
}
