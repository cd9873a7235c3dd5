import Foundation
import RCACore
import SQLKit

/// A ticket as stored, with the columns ingestion and the workers use.
public struct TicketRecord: Sendable, Equatable, Decodable {
    public let id: String
    public let timestamp: String
    public let pipeline: String?
    public let runID: String?
    public let source: String
    public let dedupKey: String
    public let status: String
    public let severity: String?
    /// The severity the sender gave; set when the ticket is analysed (until then `severity` holds it).
    public let reportedSeverity: String?
    public let severityReason: String?
    public let errorMessage: String?
    public let occurrenceCount: Int
    public let firstSeen: String
    public let lastSeen: String
    public let sourceStatus: String
    public let analysisState: String
    public let analysisError: String?
    public let processingMode: String?
    public let details: String?
    public let enrichment: String?
    public let rawPayloadID: Int64?
    public let rcaResult: String?
    public let recommendations: String?
    public let confidence: String?
    public let priority: String?
    public let errorType: String?
    public let affectedEntity: String?
    public let slaSeconds: Int?
    public let slaStatus: String?
    public let category: String?
    public let evidence: String?
    public let analysisEngine: String?
    /// What decided the analysis: the rules engine's rule or catalog entry, a correction, a cached ticket.
    public let decidedBy: String?
    public let analysisModel: String?
    public let analysisTokens: Int?
    public let slaDeadline: String?
    public let finopsTeam: String?
    public let finopsOwner: String?
    public let finopsCostCenter: String?
    public let clusterID: String?
    /// The open ticket this failure was folded into as a recurrence.
    public let recurrenceOf: String?
    /// The Jira issue key.
    public let itsmTicketID: String?
    public let slackTs: String?
    public let blobLogURL: String?

    enum CodingKeys: String, CodingKey {
        case id, timestamp, pipeline, source, status, severity, details, enrichment, recommendations, confidence, priority, category, evidence
        case rcaResult = "rca_result"
        case reportedSeverity = "reported_severity"
        case severityReason = "severity_reason"
        case errorType = "error_type"
        case affectedEntity = "affected_entity"
        case slaSeconds = "sla_seconds"
        case slaStatus = "sla_status"
        case analysisEngine = "analysis_engine"
        case decidedBy = "decided_by"
        case analysisModel = "analysis_model"
        case analysisTokens = "analysis_tokens"
        case slaDeadline = "sla_deadline"
        case finopsTeam = "finops_team"
        case finopsOwner = "finops_owner"
        case finopsCostCenter = "finops_cost_center"
        case clusterID = "cluster_id"
        case recurrenceOf = "recurrence_of"
        case itsmTicketID = "itsm_ticket_id"
        case slackTs = "slack_ts"
        case blobLogURL = "blob_log_url"
        case runID = "run_id"
        case dedupKey = "dedup_key"
        case errorMessage = "error_message"
        case occurrenceCount = "occurrence_count"
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
        case sourceStatus = "source_status"
        case analysisState = "analysis_state"
        case analysisError = "analysis_error"
        case processingMode = "processing_mode"
        case rawPayloadID = "raw_payload_id"
    }

    /// What the worker should fetch to find the real error, as ingestion stored it.
    public var enrichmentRequest: EnrichmentRequest? {
        guard let enrichment else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(EnrichmentRequest.self, from: Data(enrichment.utf8))
    }

    /// The source's facts kept with the ticket.
    public var detailValues: [String: String] {
        guard let details, let values = try? JSONDecoder().decode([String: String].self, from: Data(details.utf8)) else { return [:] }
        return values
    }
}

/// One line of a ticket's audit trail.
public struct AuditEntry: Sendable, Equatable, Decodable {
    public let timestamp: String
    public let ticketID: String
    public let action: String
    public let userName: String?
    public let details: String?

    enum CodingKeys: String, CodingKey {
        case timestamp, action, details
        case ticketID = "ticket_id"
        case userName = "user_name"
    }
}

/// Reads and updates tickets outside ingestion.
public struct TicketStore: Sendable {
    private let database: Database

    public init(database: Database) {
        self.database = database
    }

    public func find(id: String) async throws -> TicketRecord? {
        try await database.read { sql in
            try await sql.reusable("SELECT * FROM tickets WHERE id = \(bind: id)").first(decoding: TicketRecord.self)
        }
    }

    public func find(dedupKey: String) async throws -> TicketRecord? {
        try await database.read { sql in
            try await sql.raw("SELECT * FROM tickets WHERE dedup_key = \(bind: dedupKey)").first(decoding: TicketRecord.self)
        }
    }

    public func count() async throws -> Int {
        try await database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS count FROM tickets").first()?.decode(column: "count", as: Int.self) ?? 0
        }
    }

    /// A ticket's audit trail, oldest first.
    public func audit(ticketID: String) async throws -> [AuditEntry] {
        try await database.read { sql in
            try await sql.raw(
                "SELECT timestamp, ticket_id, action, user_name, details FROM audit_trail WHERE ticket_id = \(bind: ticketID) ORDER BY id"
            ).all(decoding: AuditEntry.self)
        }
    }

    /// Writes an audit entry on its own.
    public func appendAudit(ticketID: String, action: String, details: String?, user: String? = nil) async throws {
        try await database.transaction { sql in
            try await Self.appendAudit(ticketID: ticketID, action: action, details: details, user: user, on: sql)
        }
    }

    /// Writes audit entries, possibly of several tickets, inside the caller's
    /// transaction in one statement, in the order given, each copying its
    /// ticket's pipeline and run id. Every ticket must exist: the statement
    /// fails (on the audit trail's foreign key) rather than skip an entry.
    public static func appendAudits(_ entries: [(ticketID: String, action: String, details: String?)], on sql: any SQLDatabase) async throws {
        guard entries.count > 1 else {
            if let entry = entries.first { try await appendAudit(ticketID: entry.ticketID, action: entry.action, details: entry.details, on: sql) }
            return
        }
        let rows: [SQLQueryString] = entries.map { entry in
            "(\(bind: entry.ticketID), \(bind: entry.action), \(bind: entry.details))"
        }
        // Rows come out of VALUES in the order written; a join with tickets
        // (or an EXISTS, which PostgreSQL turns into one) may reorder them,
        // and sorting them back costs a temporary B-tree.
        let select: SQLQueryString = """
            INSERT INTO audit_trail (timestamp, ticket_id, pipeline, run_id, action, user_name, details)
            SELECT \(bind: Timestamp.now()), v.column1, (SELECT pipeline FROM tickets WHERE id = v.column1),
                   (SELECT run_id FROM tickets WHERE id = v.column1), v.column2, NULL, v.column3
            FROM (VALUES
            """
        try await sql.multiRow(select + rows.joined(separator: ", ") + ") AS v", rowCount: rows.count).run()
    }

    /// Writes an audit entry inside the caller's transaction, copying the ticket's pipeline and run id.
    public static func appendAudit(ticketID: String, action: String, details: String?, user: String? = nil, on sql: any SQLDatabase) async throws {
        try await sql.reusable(auditStatement(ticketID: ticketID, action: action, details: details, user: user)).run()
    }

    /// The insert of `appendAudit`, for a store method that runs it inside a statement of its own.
    static func auditStatement(ticketID: String, action: String, details: String?, user: String? = nil) -> SQLQueryString {
        """
        INSERT INTO audit_trail (timestamp, ticket_id, pipeline, run_id, action, user_name, details)
        SELECT \(bind: Timestamp.now()), id, pipeline, run_id, \(bind: action), \(bind: user), \(bind: details)
        FROM tickets WHERE id = \(bind: ticketID)
        """
    }
}

/// A stored webhook body, for inspection and replay.
public struct RawPayloadRecord: Sendable, Equatable, Decodable {
    public let id: Int64
    public let receivedAt: String
    public let endpoint: String
    public let contentType: String?
    public let remoteAddress: String?
    public let body: Data
    public let bodySize: Int
    public let parseStatus: String
    public let parseError: String?
    public let ticketIDs: String?

    enum CodingKeys: String, CodingKey {
        case id, endpoint, body
        case receivedAt = "received_at"
        case contentType = "content_type"
        case remoteAddress = "remote_address"
        case bodySize = "body_size"
        case parseStatus = "parse_status"
        case parseError = "parse_error"
        case ticketIDs = "ticket_ids"
    }
}

/// Reads stored webhook bodies.
public struct RawPayloadStore: Sendable {
    private let database: Database

    public init(database: Database) {
        self.database = database
    }

    public func find(id: Int64) async throws -> RawPayloadRecord? {
        try await database.read { sql in
            try await sql.raw("SELECT * FROM raw_payloads WHERE id = \(bind: id)").first(decoding: RawPayloadRecord.self)
        }
    }

    /// Payloads by status (`failed`, `pending`…), oldest first.
    public func list(status: String, limit: Int = 1000) async throws -> [RawPayloadRecord] {
        try await database.read { sql in
            try await sql.raw("SELECT * FROM raw_payloads WHERE parse_status = \(bind: status) ORDER BY id LIMIT \(bind: limit)")
                .all(decoding: RawPayloadRecord.self)
        }
    }

    public func count() async throws -> Int {
        try await database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS count FROM raw_payloads").first()?.decode(column: "count", as: Int.self) ?? 0
        }
    }
}
