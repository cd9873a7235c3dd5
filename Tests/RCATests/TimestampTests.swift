import Foundation
import RCACore
import RCAStore
import Testing

@Suite("Timestamps")
struct TimestampTests {
    @Test("instants are written as fixed-width UTC ISO 8601 with milliseconds, matching Foundation's calendar")
    func format() throws {
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 1_764_426_622.5)) == "2025-11-29T14:30:22.500Z")
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00.000Z")
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59.000Z")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var rng = SplitMix64(state: 7)
        for _ in 0..<2000 {
            let date = Date(timeIntervalSince1970: Double(Int64.random(in: -2_000_000_000...4_000_000_000, using: &rng)))
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            let expected = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.000Z", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!, parts.second!)
            #expect(Timestamp.string(from: date) == expected)
        }
    }

    @Test("written instants read back, as do the common ISO 8601 variants")
    func roundTrip() {
        let date = Date(timeIntervalSince1970: 1_764_426_622.123)
        #expect(abs((Timestamp.date(from: Timestamp.string(from: date))?.timeIntervalSince1970 ?? 0) - 1_764_426_622.123) < 0.0005)
        #expect(Timestamp.date(from: "2026-11-29T06:00:00Z") != nil)
        #expect(Timestamp.date(from: "2026-11-29T06:00:00+01:00") != nil)
        #expect(Timestamp.date(from: "not a time") == nil)
    }
}

@Suite("Ticket ids")
struct TicketIDTests {
    @Test("every millisecond of a second written, read and written again is the same text (a Double's error does not move it)")
    func exactRoundTrip() throws {
        for second in [1_764_426_622, 1_796_654_619, 4_102_444_799] {
            for millis in 0..<1000 {
                let text = Timestamp.string(from: Date(timeIntervalSince1970: Double(second) + Double(millis) / 1000))
                #expect(text.hasSuffix(String(format: ".%03dZ", millis)), "\(text)")
                #expect(Timestamp.string(from: try #require(Timestamp.date(from: text))) == text)
            }
        }
        #expect(Timestamp.string(from: try #require(Timestamp.date(from: "2026-12-07T14:03:39.048Z"))) == "2026-12-07T14:03:39.048Z")
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 1_764_426_622.1239)) == "2025-11-29T14:30:22.123Z", "still truncated, not rounded")
    }

    @Test("a ticket id is the source's prefix, the UTC second it happened and eight hex digits", arguments: [
        (AlertSource.adf, "ADF"), (.databricks, "DBX"), (.azureMonitor, "AZM"), (.alertmanager, "ALM"), (.generic, "GEN"),
    ])
    func shape(source: AlertSource, prefix: String) throws {
        let id = TicketID.make(source: source, at: Date(timeIntervalSince1970: 1_795_962_622.75))
        let parts = id.split(separator: "-")
        #expect(parts.count == 3, "\(id)")
        #expect(parts[0] == prefix)
        #expect(parts[1] == "20261129T143022")
        #expect(parts[2].count == 8 && parts[2].allSatisfy(\.isHexDigit), "\(id)")
    }
}

@Suite("JSON columns written without an encoder")
struct StoredJSONTests {
    static let awkward: [String: String] = [
        "message": "He said \"no\"\\ then left.\nNext line\ttab \u{1}\u{1F}",
        "path": "abfss://raw@lake.dfs.core.windows.net/sales/2026",
        "ünïcode": "données — 失败 ✓",
        "": "empty key",
        "b": "",
        "a": "first",
    ]

    @Test("a string object reads back as the same dictionary and matches the encoder's sorted output")
    func object() throws {
        let written = IngestionStore.jsonObject(Self.awkward)
        let read = try JSONDecoder().decode([String: String].self, from: Data(written.utf8))
        #expect(read == Self.awkward)
        #expect(written == (try IngestionStore.json(Self.awkward)))
        #expect(IngestionStore.jsonObject([:]) == "{}")
    }

    @Test("a string array reads back as the same array and matches the encoder's output")
    func array() throws {
        let values = Self.awkward.values.sorted()
        let written = IngestionStore.jsonArray(values)
        #expect(try JSONDecoder().decode([String].self, from: Data(written.utf8)) == values)
        #expect(written == (try IngestionStore.json(values)))
        #expect(IngestionStore.jsonArray([]) == "[]")
    }
}
