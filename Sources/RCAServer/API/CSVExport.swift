import Foundation
import Hummingbird
import RCACore
import RCAStore

/// CSV text as RFC 4180 writes it (CRLF line ends, fields with a comma,
/// quote or line break quoted, quotes doubled), with every cell that a
/// spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return) prefixed with `'` so that it stays text.
public enum CSV {
    public static func row(_ cells: [String?]) -> String {
        cells.map { cell(neutralized($0 ?? "")) }.joined(separator: ",") + "\r\n"
    }

    static func neutralized(_ value: String) -> String {
        guard let first = value.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return value }
        return "'" + value
    }

    static func cell(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// `GET /api/export/{open,in-progress,closed,all}-tickets`: the list as a
/// CSV file, with the same search, filters and order as the list.
struct ExportRoutes: Sendable {
    let database: Database
    static let maximumRows = 100_000

    static let header = [
        "Ticket ID", "Pipeline", "Source", "Status", "Severity", "Priority", "SLA Status", "SLA Seconds", "First Seen", "Last Seen",
        "Occurrences", "Error Type", "Category", "Root Cause", "Confidence", "Team", "Acknowledged By", "Acknowledged At",
        "Seconds To Acknowledge", "ITSM Ticket", "Occurred At", "Assignee", "Resolved By", "Resolved At", "Seconds To Resolve",
        "Resolution Note",
    ]

    func register(on api: RouterGroup<AppRequestContext>) {
        for tab in TicketTab.allCases {
            api.get(RouterPath("export/\(tab.rawValue)-tickets")) { request, context in
                _ = try context.require(.viewer)
                var list = try TicketRoutes.listRequest(tab, request: request, limit: TicketPageRequest.maximumLimit)
                list.cursor = nil
                return try await export(list)
            }
        }
    }

    static func row(_ ticket: TicketListItem) -> String {
        CSV.row([
            ticket.id, ticket.pipeline, ticket.source, ticket.status, ticket.severity, ticket.priority, ticket.slaStatus,
            ticket.slaSeconds.map(String.init), ticket.firstSeen, ticket.lastSeen, String(ticket.occurrenceCount), ticket.errorType,
            ticket.category, ticket.rootCause, ticket.confidence, ticket.finopsTeam, ticket.ackUser, ticket.ackTs,
            ticket.ackSeconds.map(String.init), ticket.itsmTicketID, ticket.timestamp, ticket.assignee, ticket.resolvedUser, ticket.resolvedTs,
            ticket.resolveSeconds.map(String.init), ticket.resolutionNote,
        ])
    }

    /// Streams the list page by page (the list's own keyset pages, in its
    /// order), so that memory stays at one page whatever the size of the export.
    private func export(_ list: TicketPageRequest) async throws -> Response {
        let queries = TicketQueries(database: database)
        let tab = list.tab
        let first: TicketPage
        do {
            first = try await queries.page(list)
        } catch let error as TicketQueryError {
            throw APIError(.badRequest, error.description)
        }
        let day = String(Timestamp.now().prefix(10))
        let body = ResponseBody { writer in
            var page = first
            var written = 0
            try await writer.write(ByteBuffer(string: CSV.row(Self.header)))
            while true {
                let rows = page.tickets.prefix(Self.maximumRows - written)
                try await writer.write(ByteBuffer(string: rows.map(Self.row).joined()))
                written += rows.count
                guard let cursor = page.nextCursor, written < Self.maximumRows else { break }
                var next = list
                next.cursor = cursor
                page = try await queries.page(next)
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8",
                .contentDisposition: "attachment; filename=\"\(tab.rawValue)-tickets-\(day).csv\"",
            ],
            body: body
        )
    }
}
