import Foundation
@testable import RCANotify
import RCASources
import Testing

/// What each channel's format makes of hostile alert text.
@Suite("Notification text")
struct NotificationTextTests {
    static func snapshot(rootCause: String, errorMessage: String) -> TicketSnapshot {
        TicketSnapshot(
            id: "GEN-1", source: "generic", pipeline: "load [x](https://evil.example)", runID: nil, status: "open", severity: "High",
            priority: "P2", slaStatus: nil, slaSeconds: nil, errorType: "KeyError", category: "code_error", rootCause: rootCause,
            confidence: "High", recommendations: ["Rotate the key sk-abcdefghijklmnopqrstuvwxyz012345"], errorMessage: errorMessage,
            occurrenceCount: 1, recurrences: 0, sourceStatus: "firing", firstSeen: "2026-12-05T00:00:00.000Z", ackUser: nil,
            finopsTeam: nil, finopsOwner: nil, finopsCostCenter: nil, itsmTicketID: nil, dashboardURL: "https://rca.example.com/dashboard#ticket=GEN-1"
        )
    }

    @Test("the redacted snapshot holds no secret or address and cuts a huge error text")
    func redacted() {
        let ticket = Self.snapshot(rootCause: "AccountKey=abc123def456ghi789== was refused for ops@example.com", errorMessage: String(repeating: "x", count: 100_000))
            .redacted()
        #expect(ticket.rootCause == "AccountKey=[REDACTED] was refused for [EMAIL]")
        #expect(ticket.recommendations == ["Rotate the key [REDACTED]"])
        #expect((ticket.errorMessage?.utf8.count ?? 0) < 13_000)
    }

    @Test("a Teams card shows alert text but makes no link from it")
    func teamsLinks() throws {
        let card = TeamsNotifier.card(Self.snapshot(rootCause: "see [docs](https://evil.example)", errorMessage: "e"), reason: .opened)
        let text = String(decoding: try JSONEncoder().encode(card), as: UTF8.self)
        #expect(!text.contains("](https:"))
        #expect(text.contains("evil.example"))
    }

    @Test("Slack's fallback text and blocks escape markup")
    func slackEscapes() throws {
        let ticket = Self.snapshot(rootCause: "<!channel> <@U123> & <https://evil.example|x>", errorMessage: "e")
        #expect(SlackMessage.text(ticket).contains("&lt;!channel&gt; &lt;@U123&gt; &amp; &lt;https://evil.example|x&gt;"))
        let blocks = String(decoding: try JSONEncoder().encode(SlackMessage.blocks(ticket)), as: UTF8.self)
        #expect(!blocks.contains("<!channel>"))
    }
}
