import Foundation
import RCASources

/// A ticket's Jira issue body in Atlassian Document Format: the root cause,
/// recommendations as a bullet list, the error text in a panel, and the
/// ticket details (with the FinOps tags) as a JSON code block.
enum JiraDocument {
    static func summary(_ ticket: TicketSnapshot) -> String {
        let text = "[\(ticket.priority ?? "P?")] \(ticket.pipeline ?? "Pipeline") failed: \(ticket.errorType ?? "unknown error") (\(ticket.id))"
        return SlackMessage.limit(text.replacingOccurrences(of: "\n", with: " "), 250)
    }

    static func description(_ ticket: TicketSnapshot) -> JSONValue {
        var content: [JSONValue] = [
            heading("Root cause"),
            paragraph("\(ticket.rootCause ?? "Analysis pending.") (confidence \(ticket.confidence ?? "–"))"),
        ]
        if !ticket.recommendations.isEmpty {
            content.append(heading("Recommendations"))
            content.append(.object([
                "type": "bulletList",
                "content": .array(ticket.recommendations.map { .object(["type": "listItem", "content": .array([paragraph($0)])]) }),
            ]))
        }
        if let error = ticket.errorMessage, !error.isEmpty {
            content.append(heading("Error"))
            content.append(.object(["type": "panel", "attrs": .object(["panelType": "error"]), "content": .array([paragraph(SlackMessage.limit(error, 4000))])]))
        }
        content.append(heading("Ticket details"))
        content.append(.object([
            "type": "codeBlock",
            "attrs": .object(["language": "json"]),
            "content": .array([.object(["type": "text", "text": .string(details(ticket))])]),
        ]))
        content.append(paragraph("Dashboard: \(ticket.dashboardURL)"))
        return .object(["type": "doc", "version": 1, "content": .array(content)])
    }

    static func details(_ ticket: TicketSnapshot) -> String {
        let values: [String: String?] = [
            "AIOps_Ticket_ID": ticket.id, "Pipeline_Name": ticket.pipeline, "Run_ID": ticket.runID, "Source": ticket.source,
            "Severity": ticket.severity, "Priority": ticket.priority, "Error_Type": ticket.errorType, "Category": ticket.category,
            "FinOps_Team": ticket.finopsTeam, "FinOps_Owner": ticket.finopsOwner, "FinOps_Cost_Center": ticket.finopsCostCenter,
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let present = values.compactMapValues { $0 }
        return (try? String(decoding: encoder.encode(present), as: UTF8.self)) ?? "{}"
    }

    private static func heading(_ text: String) -> JSONValue {
        .object(["type": "heading", "attrs": .object(["level": 3]), "content": .array([.object(["type": "text", "text": .string(text)])])])
    }

    private static func paragraph(_ text: String) -> JSONValue {
        .object(["type": "paragraph", "content": .array([.object(["type": "text", "text": .string(text.isEmpty ? "–" : text)])])])
    }
}
