import Foundation
import Hummingbird
import RCAAnalysis
import RCACore
import RCASources
import RCAStore

extension TicketPage: ResponseEncodable {}
extension TicketListItem: ResponseEncodable {}
extension DashboardSummary: ResponseEncodable {}
extension AuditRecord: ResponseEncodable {}
extension TicketLink: ResponseEncodable {}

/// The ticket API: lists, one ticket with its history and relations, the
/// summary, the audit trail, status changes (one ticket or many),
/// assignments, notes and corrections of analyses.
struct TicketRoutes: Sendable {
    let database: Database
    let changes: StatusChanges
    let corrections: AnalysisCorrections
    let collaboration: Collaboration
    let summaries: SummaryCache
    /// The configured Databricks workspace, the only host links to Databricks pages use.
    let databricksWorkspace: VendorEndpoint?

    /// One ticket with everything the ticket modal shows.
    struct TicketDetail: ResponseEncodable {
        let ticket: PrototypeTicketView
        let error_message: String?
        let affected_entity: String?
        let recommendations: [String]
        let evidence: [String]
        let auto_heal_possible: Bool?
        let analysis_engine: String?
        let analysis_model: String?
        let decided_by: String?
        let analysis_error: String?
        let fingerprint: String?
        let recurrence_of: String?
        let details: [String: String]
        let finops_owner: String?
        let finops_cost_center: String?
        let slack_channel: String?
        let slack_ts: String?
        /// Where each notification channel put the ticket (a Jira issue's page, a blob URL…).
        let deliveries: [DeliveryView]
        let audit: [AuditEntryView]
        /// Responders' notes, oldest first (also in `audit`).
        let notes: [AuditEntryView]
        let recurrences: [TicketListItem]
        let links: [TicketLink]
        /// Pages on the platforms the failure came from.
        let context_links: [ContextLink]
    }

    struct Assignee: Encodable {
        let email: String
        let name: String?
    }

    /// The accounts a ticket can be assigned to: enabled responders and admins.
    struct AssigneeList: ResponseEncodable {
        let assignees: [Assignee]
    }

    /// The ticket as lists show it, plus the prototype's row fields its
    /// modal read from `ticket` (`recommendations` as an array and the
    /// references), so that the prototype's dashboard scripts keep working.
    struct PrototypeTicketView: Encodable {
        let item: TicketListItem
        let recommendations: [String]
        let affectedEntity: String?
        let finopsOwner: String?
        let finopsCostCenter: String?
        let slackChannel: String?
        let slackTs: String?
        let processingMode: String?

        enum CodingKeys: String, CodingKey {
            case recommendations
            case affectedEntity = "affected_entity"
            case finopsOwner = "finops_owner"
            case finopsCostCenter = "finops_cost_center"
            case slackChannel = "slack_channel"
            case slackTs = "slack_ts"
            case processingMode = "processing_mode"
        }

        func encode(to encoder: any Encoder) throws {
            try item.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(recommendations, forKey: .recommendations)
            try container.encode(affectedEntity, forKey: .affectedEntity)
            try container.encode(finopsOwner, forKey: .finopsOwner)
            try container.encode(finopsCostCenter, forKey: .finopsCostCenter)
            try container.encode(slackChannel, forKey: .slackChannel)
            try container.encode(slackTs, forKey: .slackTs)
            try container.encode(processingMode, forKey: .processingMode)
        }
    }

    /// The summary with the prototype's names for its counts beside ours, so
    /// that the prototype's dashboards and scripts keep working. Its
    /// `acknowledged_tickets` counted closed tickets: our `resolved`.
    struct PrototypeSummaryView: ResponseEncodable {
        let summary: DashboardSummary

        enum CodingKeys: String, CodingKey {
            case totalTickets = "total_tickets"
            case openTickets = "open_tickets"
            case acknowledgedTickets = "acknowledged_tickets"
        }

        func encode(to encoder: any Encoder) throws {
            try summary.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(summary.total, forKey: .totalTickets)
            try container.encode(summary.open, forKey: .openTickets)
            try container.encode(summary.resolved, forKey: .acknowledgedTickets)
        }
    }

    struct DeliveryView: ResponseEncodable {
        let channel: String
        let remote_id: String?
        let url: String?
        let last_error: String?
    }

    struct AuditEntryView: ResponseEncodable {
        let timestamp: String
        let action: String
        let user: String?
        let details: String?
    }

    struct AuditPage: ResponseEncodable {
        let entries: [AuditRecord]
        let next_before: Int64?
        let actions: [String]
    }

    struct StatusRequest: Decodable {
        let status: String
        let note: String?
    }

    struct StatusAnswer: ResponseEncodable {
        let ticket_id: String
        let from: String
        let status: String
        let sla_status: String?
        let ack_seconds: Int?
        let resolve_seconds: Int?
        let assignee: String?
    }

    struct BulkStatusRequest: Decodable {
        let ticket_ids: [String]
        let status: String
        let note: String?
    }

    struct BulkRefusal: Encodable {
        let ticket_id: String
        let error: String
    }

    struct BulkStatusAnswer: ResponseEncodable {
        let status: String
        let applied: [StatusAnswer]
        let refused: [BulkRefusal]
    }

    struct AssignRequest: Decodable {
        /// An account's e-mail address, or null for nobody.
        let assignee: String?
    }

    struct AssignAnswer: ResponseEncodable {
        let ticket_id: String
        let assignee: String?
        let previous: String?
    }

    struct NoteRequest: Decodable {
        let text: String
    }

    struct NoteAnswer: ResponseEncodable {
        let ticket_id: String
        let id: Int64
        let user: String
        let text: String
        let at: String
    }

    struct CorrectionBody: Decodable {
        let category: String
        let root_cause: String
        let error_type: String?
        let recommendations: [String]?
        let evidence: [String]?
    }

    struct CorrectionAnswer: ResponseEncodable {
        let ticket_id: String
        let fingerprint: String
        let category: String
        let error_type: String
        let root_cause: String
        let recommendations: [String]
        let evidence: [String]
        let corrected_by: String
        let corrected_at: String
    }

    func register(on api: RouterGroup<AppRequestContext>) {
        for tab in TicketTab.allCases {
            api.get(RouterPath("\(tab.rawValue)-tickets")) { request, context in
                _ = try context.require(.viewer)
                return try await page(tab, request: request)
            }
        }
        api.get("tickets/:id") { _, context in
            _ = try context.require(.viewer)
            return try await detail(try context.parameters.require("id"))
        }
        api.post("tickets/:id/status") { request, context in
            try await changeStatus(request, context: context)
        }
        api.post("tickets/:id/correction") { request, context in
            try await correct(request, context: context)
        }
        api.post("tickets/:id/assign") { request, context in
            try await assign(request, context: context)
        }
        api.post("tickets/:id/notes") { request, context in
            try await addNote(request, context: context)
        }
        api.post("tickets/bulk-status") { request, context in
            try await changeStatuses(request, context: context)
        }
        api.get("assignees") { _, context in
            _ = try context.require(.viewer)
            return AssigneeList(assignees: try await UserStore(database: database).all().filter { !$0.disabled && $0.role >= .responder }
                .map { Assignee(email: $0.email, name: $0.fullName) })
        }
        api.get("summary") { request, context in
            _ = try context.require(.viewer)
            let days = try Self.integer(request, "days", default: 14, range: 1...90)
            return PrototypeSummaryView(summary: try await summaries.summary(days: days))
        }
        api.get("audit-trail") { request, context in
            _ = try context.require(.viewer)
            let queries = DashboardQueries(database: database)
            let limit = try Self.integer(request, "limit", default: 100, range: 1...500)
            let before = try request.uri.queryParameters.get("before").map { text in
                guard let value = Int64(text) else { throw APIError(.badRequest, "before must be the next_before of a previous page") }
                return value
            }
            let entries = try await queries.audit(
                action: request.uri.queryParameters.get("action").flatMap { $0.isEmpty ? nil : $0 },
                ticketID: request.uri.queryParameters.get("ticket_id").flatMap { $0.isEmpty ? nil : $0 },
                user: request.uri.queryParameters.get("user").flatMap { $0.isEmpty ? nil : $0 },
                since: try Self.instant(request, "since"),
                until: try Self.instant(request, "until"),
                before: before,
                limit: limit
            )
            return AuditPage(entries: entries, next_before: entries.count == limit ? entries.last?.id : nil, actions: try await queries.auditActions())
        }
    }

    private func page(_ tab: TicketTab, request: Request) async throws -> TicketPage {
        do {
            return try await TicketQueries(database: database).page(try Self.listRequest(tab, request: request))
        } catch let error as TicketQueryError {
            throw APIError(.badRequest, error.description)
        }
    }

    /// An ISO 8601 time from the query string, in the stored form (UTC, milliseconds), so that it compares as text.
    static func instant(_ request: Request, _ name: String) throws -> String? {
        guard let value = request.uri.queryParameters.get(name)?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        guard value.count <= 40, let date = Timestamp.date(from: value) else {
            throw APIError(.badRequest, "\(name) must be an ISO 8601 time such as 2026-12-07T08:00:00Z; got \"\(value.prefix(40))\"")
        }
        return Timestamp.string(from: date)
    }

    /// A list request from the query string (`sort`, `limit`, `cursor`, `q`,
    /// `run_id` and the filters), shared by the lists and the CSV export so
    /// that an export holds exactly what the list shows.
    static func listRequest(_ tab: TicketTab, request: Request, limit defaultLimit: Int = 50) throws -> TicketPageRequest {
        let query = request.uri.queryParameters
        func text(_ name: String, max: Int = 200) throws -> String? {
            guard let value = query.get(name)?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            guard value.count <= max else { throw APIError(.badRequest, "\(name) must be at most \(max) characters") }
            return value
        }
        func oneOf(_ name: String, _ allowed: [String]) throws -> String? {
            guard let value = try text(name) else { return nil }
            guard allowed.contains(value) else { throw APIError(.badRequest, "\(name) must be one of \(allowed.joined(separator: ", ")); got \"\(value)\"") }
            return value
        }
        let sortText = query.get("sort") ?? (tab == .closed ? TicketSort.newest.rawValue : TicketSort.priority.rawValue)
        guard let sort = TicketSort(rawValue: sortText) else {
            throw APIError(.badRequest, "sort must be one of \(TicketSort.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(sortText)\"")
        }
        let filters = TicketFilters(
            source: try text("source", max: 40),
            severity: try oneOf("severity", Severity.allCases.map(\.rawValue)),
            priority: try oneOf("priority", Priority.allCases.map(\.rawValue)),
            team: try text("team"),
            slaStatus: try oneOf("sla_status", ["Pending", "Met", "Breached"]),
            assignee: try text("assignee").map { $0 == "none" ? "" : $0.lowercased() },
            since: try instant(request, "since"),
            until: try instant(request, "until")
        )
        return TicketPageRequest(
            tab: tab, sort: sort, limit: try integer(request, "limit", default: defaultLimit, range: 1...TicketPageRequest.maximumLimit),
            cursor: query.get("cursor"), search: try text("q"), runID: try text("run_id"), filters: filters
        )
    }

    private func detail(_ id: String) async throws -> TicketDetail {
        let store = TicketStore(database: database)
        guard let record = try await store.find(id: id),
              let item = try await TicketQueries(database: database).item(id: id)
        else { throw APIError(.notFound, "no ticket \(id)") }
        let decoder = JSONDecoder()
        func strings(_ text: String?) -> [String] {
            text.flatMap { try? decoder.decode([String].self, from: Data($0.utf8)) } ?? []
        }
        let extra = try await TicketQueries(database: database).extras(id: id)
        let recommendations = strings(record.recommendations)
        let audit = try await store.audit(ticketID: id).map { AuditEntryView(timestamp: $0.timestamp, action: $0.action, user: $0.userName, details: $0.details) }
        return TicketDetail(
            ticket: PrototypeTicketView(
                item: item, recommendations: recommendations, affectedEntity: record.affectedEntity, finopsOwner: record.finopsOwner,
                finopsCostCenter: record.finopsCostCenter, slackChannel: extra.slackChannel, slackTs: extra.slackTs,
                processingMode: record.processingMode
            ),
            error_message: record.errorMessage,
            affected_entity: record.affectedEntity,
            recommendations: recommendations,
            evidence: strings(record.evidence),
            auto_heal_possible: extra.autoHealPossible,
            analysis_engine: record.analysisEngine,
            analysis_model: record.analysisModel,
            decided_by: record.decidedBy,
            analysis_error: record.analysisError,
            fingerprint: extra.fingerprint,
            recurrence_of: record.recurrenceOf,
            details: record.detailValues,
            finops_owner: record.finopsOwner,
            finops_cost_center: record.finopsCostCenter,
            slack_channel: extra.slackChannel,
            slack_ts: extra.slackTs,
            deliveries: try await DeliveryStore(database: database).records(ticketID: id).map { record in
                DeliveryView(
                    channel: record.channel, remote_id: record.remoteID,
                    url: record.location.flatMap { $0.hasPrefix("https://") || $0.hasPrefix("http://") ? $0 : nil },
                    last_error: record.lastError
                )
            },
            audit: audit,
            notes: audit.filter { $0.action == TicketNote.auditAction },
            recurrences: try await TicketQueries(database: database).recurrences(of: id),
            links: try await TicketLinks(database: database).links(of: id),
            context_links: ContextLinks.links(
                source: record.source, runID: record.runID, details: record.detailValues, databricksWorkspace: databricksWorkspace
            )
        )
    }

    private func changeStatus(_ request: Request, context: AppRequestContext) async throws -> StatusAnswer {
        let user = try context.require(.responder)
        let id = try context.parameters.require("id")
        let input = try await APIInput.decode(StatusRequest.self, from: request, context: context)
        let target = try Self.status(input.status, note: input.note)
        do {
            return try await apply(id, to: target, note: input.note, context: context, user: user.email)
        } catch let error as StatusChangeError {
            switch error {
            case .notFound: throw APIError(.notFound, error.description)
            case .reopenNeedsAdmin: throw APIError(.forbidden, error.description)
            case .notAllowed, .isRecurrence, .conflict: throw APIError(.conflict, error.description)
            }
        }
    }

    /// Reopening a resolved ticket needs an admin: a resolution is a record
    /// others rely on. Releasing a ticket one holds is a responder's own call.
    private func apply(_ id: String, to target: TicketStatus, note: String?, context: AppRequestContext, user: String) async throws -> StatusAnswer {
        let change = try await changes.apply(ticketID: id, to: target, by: user, note: note, origin: nil, mayReopen: context.user?.role == .admin)
        return StatusAnswer(
            ticket_id: id, from: change.from.rawValue, status: change.to.rawValue, sla_status: change.slaStatus, ack_seconds: change.ackSeconds,
            resolve_seconds: change.resolveSeconds, assignee: change.assignee
        )
    }

    static func status(_ text: String, note: String?) throws -> TicketStatus {
        guard let target = TicketStatus(rawValue: text) else {
            throw APIError(.badRequest, "status must be one of \(TicketStatus.allCases.map(\.rawValue).joined(separator: ", ")); got \"\(text)\"")
        }
        guard (note?.count ?? 0) <= 1000 else { throw APIError(.badRequest, "note must be at most 1000 characters") }
        return target
    }

    /// Acknowledges or resolves many tickets at once (an alert storm); each
    /// ticket is changed on its own, and the answer says which were refused and why.
    private func changeStatuses(_ request: Request, context: AppRequestContext) async throws -> BulkStatusAnswer {
        let user = try context.require(.responder)
        let input = try await APIInput.decode(BulkStatusRequest.self, from: request, context: context)
        let target = try Self.status(input.status, note: input.note)
        var seen = Set<String>()
        let ids = input.ticket_ids.filter { seen.insert($0).inserted }
        guard (1...200).contains(ids.count) else { throw APIError(.badRequest, "ticket_ids must hold 1 to 200 ticket ids") }
        var applied: [StatusAnswer] = []
        var refused: [BulkRefusal] = []
        for id in ids {
            do {
                applied.append(try await apply(id, to: target, note: input.note, context: context, user: user.email))
            } catch let error as StatusChangeError {
                refused.append(BulkRefusal(ticket_id: id, error: error.description))
            }
        }
        return BulkStatusAnswer(status: target.rawValue, applied: applied, refused: refused)
    }

    private func assign(_ request: Request, context: AppRequestContext) async throws -> AssignAnswer {
        let user = try context.require(.responder)
        let id = try context.parameters.require("id")
        let input = try await APIInput.decode(AssignRequest.self, from: request, context: context)
        let assignee = input.assignee.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.flatMap { $0.isEmpty ? nil : $0 }
        guard (assignee?.count ?? 0) <= 254 else { throw APIError(.badRequest, "assignee must be an account's e-mail address") }
        do {
            let previous = try await collaboration.assign(ticketID: id, to: assignee, by: user.email)
            return AssignAnswer(ticket_id: id, assignee: assignee, previous: previous)
        } catch let error as CollaborationError {
            throw Self.apiError(error)
        }
    }

    private func addNote(_ request: Request, context: AppRequestContext) async throws -> NoteAnswer {
        let user = try context.require(.responder)
        let id = try context.parameters.require("id")
        let input = try await APIInput.decode(NoteRequest.self, from: request, context: context)
        let text = input.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...2000).contains(text.count) else { throw APIError(.badRequest, "text must be 1 to 2000 characters") }
        do {
            let note = try await collaboration.addNote(ticketID: id, text: text, by: user.email)
            return NoteAnswer(ticket_id: id, id: note.auditID, user: note.user, text: note.text, at: note.at)
        } catch let error as CollaborationError {
            throw Self.apiError(error)
        }
    }

    static func apiError(_ error: CollaborationError) -> APIError {
        switch error {
        case .notFound: APIError(.notFound, error.description)
        case .isRecurrence: APIError(.conflict, error.description)
        case .notAResponder: APIError(.badRequest, error.description)
        }
    }

    private func correct(_ request: Request, context: AppRequestContext) async throws -> CorrectionAnswer {
        let user = try context.require(.responder)
        let id = try context.parameters.require("id")
        let input = try await APIInput.decode(CorrectionBody.self, from: request, context: context)
        let correction: AnalysisCorrection
        do {
            correction = try await corrections.apply(try Self.correctionRequest(input, ticketID: id), by: user.email)
        } catch let error as CorrectionError {
            switch error {
            case .notFound: throw APIError(.notFound, error.description)
            case .notAnalyzed: throw APIError(.conflict, error.description)
            case .evidenceNotInText: throw APIError(.badRequest, error.description)
            }
        }
        return CorrectionAnswer(
            ticket_id: correction.ticketID, fingerprint: correction.fingerprint, category: correction.category.rawValue,
            error_type: correction.errorType, root_cause: correction.rootCause, recommendations: correction.recommendations,
            evidence: correction.evidence, corrected_by: correction.correctedBy, corrected_at: correction.correctedAt
        )
    }

    /// The body checked field by field, each refusal saying what to send instead.
    static func correctionRequest(_ input: CorrectionBody, ticketID: String) throws -> CorrectionRequest {
        let categories = FailureCategory.allCases.filter { $0 != .unknown }
        guard let category = FailureCategory(rawValue: input.category), category != .unknown else {
            throw APIError(.badRequest, "category must be one of \(categories.map(\.rawValue).joined(separator: ", ")); got \"\(input.category)\"")
        }
        let rootCause = input.root_cause.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...2000).contains(rootCause.count) else { throw APIError(.badRequest, "root_cause must be 1 to 2000 characters") }
        let errorType = input.error_type?.trimmingCharacters(in: .whitespaces)
        if let errorType, !Self.isErrorType(errorType) {
            throw APIError(.badRequest, "error_type must be 1 to 120 letters, digits, '_', '.', ':' or '-' (for example ORA-12541 or UNRESOLVED_COLUMN)")
        }
        let steps = (input.recommendations ?? []).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        guard steps.count <= 6, steps.allSatisfy({ $0.count <= 500 }) else {
            throw APIError(.badRequest, "recommendations must be at most 6 steps of at most 500 characters each")
        }
        let evidence = (input.evidence ?? []).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard evidence.count <= 3, evidence.allSatisfy({ (4...300).contains($0.count) }) else {
            throw APIError(.badRequest, "evidence must be at most 3 phrases of 4 to 300 characters, each quoted exactly from the error text")
        }
        return CorrectionRequest(
            ticketID: ticketID, category: category, errorType: errorType.flatMap { $0.isEmpty ? nil : $0 }, rootCause: rootCause,
            recommendations: steps.isEmpty ? category.firstSteps : steps, evidence: evidence
        )
    }

    static func isErrorType(_ text: String) -> Bool {
        text.isEmpty || (text.count <= 120 && text.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "_.:-".unicodeScalars.contains(scalar))
        })
    }

    static func integer(_ request: Request, _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = request.uri.queryParameters.get(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError(.badRequest, "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), got \"\(text)\"")
        }
        return number
    }
}
