import Foundation
import RCACore
import RCAStore
import SQLKit

/// Relates a freshly analyzed ticket to the tickets before it: the same
/// failure of the same pipeline (a recurrence while the earlier ticket is
/// open, or a recurrence after it was closed), the Databricks run a Data
/// Factory error names, and failures on the same cluster at about the same
/// time. Runs inside the transaction that stores the analysis.
struct TicketCorrelation {
    /// The ticket being analyzed, with what the analysis established.
    struct Subject {
        let id: String
        let source: String
        let pipeline: String?
        let runID: String?
        let fingerprint: String
        let errorText: String
        let clusterID: String?
        let firstSeen: String
        let lastSeen: String
        /// When the failure happened, as the source reported it.
        let occurredAt: String
    }

    /// An audit line to write on some ticket.
    struct Note: Sendable {
        let ticketID: String
        let action: String
        let details: String
    }

    /// What was found: the open ticket this one is a recurrence of, and audit lines.
    struct Outcome: Sendable {
        var recurrenceOf: String?
        var notes: [Note] = []
    }

    /// How far apart in time two failures on one cluster may be to be related.
    static let clusterWindow: TimeInterval = 2 * 3600
    /// How far back a Data Factory error naming a run is looked for.
    static let runMentionWindow: TimeInterval = 24 * 3600

    let linkRecurrences: Bool

    func correlate(_ subject: Subject, on sql: any SQLDatabase) async throws -> Outcome {
        var outcome = Outcome()
        if let pipeline = subject.pipeline {
            try await recurrence(of: subject, pipeline: pipeline, on: sql, into: &outcome)
        }
        try await namedRuns(subject, on: sql, into: &outcome)
        try await sameCluster(subject, on: sql, into: &outcome)
        return outcome
    }

    private func recurrence(of subject: Subject, pipeline: String, on sql: any SQLDatabase, into outcome: inout Outcome) async throws {
        guard let earlier = try await sql.reusable(
            """
            SELECT id, status, occurrence_count FROM tickets
            WHERE fingerprint = \(bind: subject.fingerprint) AND pipeline = \(bind: pipeline) AND id <> \(bind: subject.id)
              AND analysis_state = 'done' AND recurrence_of IS NULL AND first_seen <= \(bind: subject.firstSeen)
            ORDER BY first_seen DESC, id DESC
            LIMIT 1
            """
        ).first() else { return }
        let earlierID = try earlier.decode(column: "id", as: String.self)
        let status = try earlier.decode(column: "status", as: String.self)
        if status == TicketStatus.resolved.rawValue {
            try await TicketLinks.link(subject.id, to: earlierID, as: .recurredAfterFix, on: sql)
            outcome.notes.append(Note(ticketID: subject.id, action: "Recurred After Fix", details: "the same failure was closed on ticket \(earlierID) and came back"))
            outcome.notes.append(Note(ticketID: earlierID, action: "Recurred After Fix", details: "the failure came back after this ticket was closed: ticket \(subject.id)"))
            return
        }
        guard linkRecurrences else { return }
        let count = try await sql.reusable(
            """
            UPDATE tickets
            SET occurrence_count = occurrence_count + 1,
                last_seen = CASE WHEN last_seen < \(bind: subject.lastSeen) THEN \(bind: subject.lastSeen) ELSE last_seen END,
                updated_at = \(bind: Timestamp.now())
            WHERE id = \(bind: earlierID)
            RETURNING occurrence_count
            """
        ).first()?.decode(column: "occurrence_count", as: Int.self) ?? 0
        try await TicketLinks.link(subject.id, to: earlierID, as: .recurrenceOf, on: sql)
        outcome.recurrenceOf = earlierID
        let run = subject.runID.map { " (run \($0))" } ?? ""
        outcome.notes.append(Note(ticketID: subject.id, action: "Recurrence Linked", details: "the same failure is open on ticket \(earlierID); no new notification"))
        outcome.notes.append(Note(ticketID: earlierID, action: "Recurred", details: "failed again\(run), ticket \(subject.id); \(count) occurrences"))
    }

    private func namedRuns(_ subject: Subject, on sql: any SQLDatabase, into outcome: inout Outcome) async throws {
        for runID in RunReference.databricksRunIDs(in: subject.errorText) where runID != subject.runID {
            let rows = try await sql.raw(
                "SELECT id FROM tickets WHERE run_id = \(bind: runID) AND source = 'databricks' AND id <> \(bind: subject.id)"
            ).all()
            for row in rows {
                let runTicket = try row.decode(column: "id", as: String.self)
                try await TicketLinks.link(subject.id, to: runTicket, as: .namesRun, on: sql)
                outcome.notes.append(Note(ticketID: subject.id, action: "Related Ticket", details: "the error names Databricks run \(runID), ticket \(runTicket)"))
            }
        }
        guard subject.source == AlertSource.databricks.rawValue, let runID = subject.runID, runID.allSatisfy(\.isNumber) else { return }
        let since = Timestamp.string(from: (Timestamp.date(from: subject.firstSeen) ?? Date()).addingTimeInterval(-Self.runMentionWindow))
        let rows = try await sql.raw(
            """
            SELECT id, error_message FROM tickets
            WHERE source IN ('adf', 'azure-monitor', 'generic') AND first_seen >= \(bind: since) AND id <> \(bind: subject.id)
              AND error_message LIKE \(bind: "%\(runID)%")
            """
        ).all()
        for row in rows {
            let text = try row.decode(column: "error_message", as: String?.self) ?? ""
            guard RunReference.databricksRunIDs(in: text).contains(runID) else { continue }
            let caller = try row.decode(column: "id", as: String.self)
            try await TicketLinks.link(caller, to: subject.id, as: .namesRun, on: sql)
            outcome.notes.append(Note(ticketID: subject.id, action: "Related Ticket", details: "ticket \(caller) failed because of this run"))
        }
    }

    private func sameCluster(_ subject: Subject, on sql: any SQLDatabase, into outcome: inout Outcome) async throws {
        guard let clusterID = subject.clusterID, let occurred = Timestamp.date(from: subject.occurredAt) else { return }
        let rows = try await sql.raw(
            """
            SELECT id FROM tickets
            WHERE cluster_id = \(bind: clusterID) AND id <> \(bind: subject.id)
              AND timestamp BETWEEN \(bind: Timestamp.string(from: occurred.addingTimeInterval(-Self.clusterWindow)))
                                AND \(bind: Timestamp.string(from: occurred.addingTimeInterval(Self.clusterWindow)))
            ORDER BY timestamp
            LIMIT 50
            """
        ).all()
        for row in rows {
            let other = try row.decode(column: "id", as: String.self)
            try await TicketLinks.link(subject.id, to: other, as: .sameCluster, on: sql)
            outcome.notes.append(Note(ticketID: subject.id, action: "Related Ticket", details: "ticket \(other) failed on the same cluster \(clusterID)"))
        }
    }
}
