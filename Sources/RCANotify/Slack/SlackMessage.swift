import Foundation
import RCASources

/// The Block Kit message of a ticket: the prototype's layout (header with
/// pipeline, severity and priority; ticket, ITSM key, run and error type;
/// root cause and confidence; recommendations) plus its current state and
/// the buttons "Open in dashboard", "Acknowledge", "In progress" and "Resolve".
public enum SlackMessage {
    public static let acknowledgeActionID = "rca_acknowledge"
    public static let inProgressActionID = "rca_in_progress"
    public static let resolveActionID = "rca_resolve"

    /// Slack reads `&`, `<` and `>` in text as markup; alert text must stay text.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func limit(_ text: String, _ count: Int) -> String {
        text.count <= count ? text : String(text.prefix(count - 1)) + "…"
    }

    /// The message's fallback text, shown in notifications; Slack reads it as mrkdwn too.
    static func text(_ ticket: TicketSnapshot) -> String {
        limit(escape("\(ticket.headline): \(ticket.rootCause ?? ticket.errorMessage ?? "no analysis yet") (\(ticket.id))"), 3000)
    }

    static func state(_ ticket: TicketSnapshot) -> String {
        var parts: [String]
        switch ticket.status {
        case "acknowledged":
            parts = [":eyes: Acknowledged" + (ticket.ackUser.map { " by \(escape($0))" } ?? "") + (ticket.ackTs.map { " at \(shortTime($0))" } ?? "")]
        case "in_progress": parts = [":hammer_and_wrench: In progress" + (ticket.assignee.map { ", owned by \(escape($0))" } ?? "")]
        case "resolved":
            parts = [":white_check_mark: Resolved" + (ticket.resolvedUser.map { " by \(escape($0))" } ?? "") + (ticket.resolvedTs.map { " at \(shortTime($0))" } ?? "")]
        default: parts = [":rotating_light: Open"]
        }
        if let sla = ticket.slaStatus { parts.append("SLA \(sla)\(sla == "Breached" ? " :warning:" : "")") }
        if ticket.recurrences > 0 { parts.append("recurred \(ticket.recurrences) time\(ticket.recurrences == 1 ? "" : "s")") }
        if ticket.sourceStatus == "resolved" { parts.append("resolved at the source") }
        if let team = ticket.finopsTeam { parts.append("team \(escape(team))") }
        return parts.joined(separator: " · ")
    }

    /// `2026-12-07T02:30:15.123Z` as `2026-12-07 02:30 UTC`.
    static func shortTime(_ timestamp: String) -> String {
        timestamp.count >= 16 ? String(timestamp.prefix(16)).replacingOccurrences(of: "T", with: " ") + " UTC" : timestamp
    }

    /// The header line: the severity while the ticket is open, its state once someone took it or closed it,
    /// so that a glance at the channel tells what still needs a person.
    static func header(_ ticket: TicketSnapshot) -> String {
        switch ticket.status {
        case "acknowledged": return "👀 Acknowledged · \(ticket.headline)"
        case "in_progress": return "🛠️ In progress · \(ticket.headline)"
        case "resolved": return "✅ Resolved · \(ticket.headline)"
        default:
            let emoji = switch ticket.severity {
            case "Critical": "🔴"
            case "High": "🟠"
            case "Medium": "🟡"
            default: "🔵"
            }
            return "\(emoji) \(ticket.headline)"
        }
    }

    static func blocks(_ ticket: TicketSnapshot) -> JSONValue {
        var blocks: [JSONValue] = [
            .object(["type": "header", "text": .object(["type": "plain_text", "text": .string(limit(header(ticket), 150)), "emoji": true])]),
            .object([
                "type": "section",
                "fields": .array([
                    field("Ticket", ticket.id), field("ITSM", ticket.itsmTicketID ?? "–"),
                    field("Run ID", ticket.runID ?? "–"), field("Error type", ticket.errorType ?? "–"),
                ]),
            ]),
            .object([
                "type": "section",
                "text": .object(["type": "mrkdwn", "text": .string(limit(
                    "*Root cause* (confidence \(ticket.confidence ?? "–"))\n\(escape(ticket.rootCause ?? "Analysis pending."))", 3000
                ))]),
            ]),
        ]
        if !ticket.recommendations.isEmpty {
            let steps = ticket.recommendations.map { "• \(escape($0))" }.joined(separator: "\n")
            blocks.append(.object(["type": "section", "text": .object(["type": "mrkdwn", "text": .string(limit("*Recommendations*\n\(steps)", 3000))])]))
        }
        blocks.append(.object(["type": "context", "elements": .array([.object(["type": "mrkdwn", "text": .string(limit(state(ticket), 3000))])])]))
        var buttons: [JSONValue] = [
            .object(["type": "button", "action_id": "rca_open", "text": plain("Open in dashboard"), "url": .string(ticket.dashboardURL)]),
        ]
        if ticket.status == "open" {
            buttons.append(.object(["type": "button", "action_id": .string(acknowledgeActionID), "style": "primary", "text": plain("Acknowledge"), "value": .string(ticket.id)]))
        }
        if ticket.status == "open" || ticket.status == "acknowledged" {
            buttons.append(.object(["type": "button", "action_id": .string(inProgressActionID), "text": plain("In progress"), "value": .string(ticket.id)]))
        }
        if ticket.status != "resolved" {
            buttons.append(.object(["type": "button", "action_id": .string(resolveActionID), "text": plain("Resolve"), "value": .string(ticket.id)]))
        }
        blocks.append(.object(["type": "actions", "block_id": .string("rca_actions"), "elements": .array(buttons)]))
        return .array(blocks)
    }

    /// A note as a reply in the ticket's thread.
    static func noteReply(_ note: AuditLine) -> String {
        limit(":memo: *\(escape(note.user ?? "someone"))*: \(escape(note.details ?? ""))", 3000)
    }

    private static func field(_ name: String, _ value: String) -> JSONValue {
        .object(["type": "mrkdwn", "text": .string(limit("*\(name)*\n\(escape(value))", 2000))])
    }

    private static func plain(_ text: String) -> JSONValue {
        .object(["type": "plain_text", "text": .string(text)])
    }
}
