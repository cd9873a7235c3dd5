import Foundation
import RCACore

/// What a notifier needs to know about a ticket: its current state, rendered
/// afresh on every delivery, so that a retried or late delivery never shows
/// an old state.
public struct TicketSnapshot: Sendable, Equatable {
    public var id: String
    public var source: String
    public var pipeline: String?
    public var runID: String?
    public var status: String
    public var severity: String?
    public var priority: String?
    public var slaStatus: String?
    public var slaSeconds: Int?
    public var errorType: String?
    public var category: String?
    public var rootCause: String?
    public var confidence: String?
    public var recommendations: [String]
    public var errorMessage: String?
    public var occurrenceCount: Int
    public var recurrences: Int
    public var sourceStatus: String
    public var firstSeen: String
    public var ackUser: String?
    /// When the ticket was acknowledged, for messages that show who took it and when.
    public var ackTs: String?
    /// Who owns the ticket now.
    public var assignee: String?
    public var resolvedUser: String?
    public var resolvedTs: String?
    /// The note a `.noted` delivery posts; nil for other reasons.
    public var note: AuditLine?
    /// The ticket's audit trail, filled in only for channels that archive it (`needsRawPayload`).
    public var auditTrail: [AuditLine] = []
    public var finopsTeam: String?
    public var finopsOwner: String?
    public var finopsCostCenter: String?
    public var itsmTicketID: String?
    /// The ticket's page on the dashboard.
    public var dashboardURL: String

    public init(
        id: String, source: String, pipeline: String?, runID: String?, status: String, severity: String?, priority: String?,
        slaStatus: String?, slaSeconds: Int?, errorType: String?, category: String?, rootCause: String?, confidence: String?,
        recommendations: [String], errorMessage: String?, occurrenceCount: Int, recurrences: Int, sourceStatus: String, firstSeen: String,
        ackUser: String?, finopsTeam: String?, finopsOwner: String?, finopsCostCenter: String?, itsmTicketID: String?, dashboardURL: String,
        ackTs: String? = nil, assignee: String? = nil, resolvedUser: String? = nil, resolvedTs: String? = nil
    ) {
        self.id = id
        self.source = source
        self.pipeline = pipeline
        self.runID = runID
        self.status = status
        self.severity = severity
        self.priority = priority
        self.slaStatus = slaStatus
        self.slaSeconds = slaSeconds
        self.errorType = errorType
        self.category = category
        self.rootCause = rootCause
        self.confidence = confidence
        self.recommendations = recommendations
        self.errorMessage = errorMessage
        self.occurrenceCount = occurrenceCount
        self.recurrences = recurrences
        self.sourceStatus = sourceStatus
        self.firstSeen = firstSeen
        self.ackUser = ackUser
        self.ackTs = ackTs
        self.assignee = assignee
        self.resolvedUser = resolvedUser
        self.resolvedTs = resolvedTs
        self.finopsTeam = finopsTeam
        self.finopsOwner = finopsOwner
        self.finopsCostCenter = finopsCostCenter
        self.itsmTicketID = itsmTicketID
        self.dashboardURL = dashboardURL
    }

    /// The snapshot as it may leave the process: every text that came from
    /// an alert, an analysis or a cost tag passed through the redactor the
    /// model calls use (connection strings, tokens, keys, e-mail addresses),
    /// and the error text cut to its `TextWindow`. Notifiers get only this.
    public func redacted() -> TicketSnapshot {
        var copy = self
        copy.pipeline = pipeline.map(Redactor.redact)
        copy.errorType = errorType.map(Redactor.redact)
        copy.rootCause = rootCause.map(Redactor.redact)
        copy.recommendations = recommendations.map(Redactor.redact)
        copy.errorMessage = errorMessage.map { Redactor.redact(TextWindow.bounded($0, head: 8 * 1024, tail: 4 * 1024)) }
        copy.finopsTeam = finopsTeam.map(Redactor.redact)
        copy.finopsOwner = finopsOwner.map(Redactor.redact)
        copy.finopsCostCenter = finopsCostCenter.map(Redactor.redact)
        copy.note = note.map { AuditLine(timestamp: $0.timestamp, action: $0.action, user: $0.user, details: $0.details.map(Redactor.redact)) }
        return copy
    }

    /// A one-line title: pipeline, severity and priority.
    public var headline: String {
        "\(pipeline ?? "Unnamed pipeline") failed · \(severity ?? "?") \(priority ?? "")".trimmingCharacters(in: .whitespaces)
    }
}

/// Why a notification is sent.
public enum NotificationReason: String, Sendable, Codable, CaseIterable {
    /// The ticket's analysis is done: announce it.
    case opened
    /// Someone took the ticket (it stays open).
    case acknowledged
    case inProgress = "in_progress"
    case resolved
    /// Back to open: reopened after a resolution, or released by its owner.
    case reopened
    /// The ticket's owner changed.
    case assigned
    /// A responder wrote a note; channels with a thread post it there.
    case noted
    case slaBreached = "sla_breached"
    case recurred
    case resolvedAtSource = "resolved_at_source"
    /// A Jira issue was opened for the ticket: channels that show its key update.
    case itsmLinked = "itsm_linked"
    /// A responder corrected the analysis: channels that show it update.
    case corrected
}

/// One line of a ticket's audit trail as an archive keeps it.
public struct AuditLine: Sendable, Equatable {
    public let timestamp: String
    public let action: String
    public let user: String?
    public let details: String?

    public init(timestamp: String, action: String, user: String?, details: String?) {
        self.timestamp = timestamp
        self.action = action
        self.user = user
        self.details = details
    }
}

/// A remote object a notifier made for a ticket: a Slack message, a Jira
/// issue, a PagerDuty incident, a blob. Recorded before the delivery job
/// completes, so that later deliveries update it instead of making another.
public struct RemoteReference: Sendable, Equatable, Codable {
    /// Slack message ts, Jira key, PagerDuty dedup key, blob URL…
    public var id: String
    /// Where it lives when the id alone does not say (Slack channel).
    public var location: String?

    public init(id: String, location: String? = nil) {
        self.id = id
        self.location = location
    }
}

/// Why a delivery failed, and whether trying again may help. Messages never
/// contain tokens, webhook URLs or SAS signatures.
public struct DeliveryError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// 408, 429, 5xx, timeouts and lost connections: try again, not before `after` if given.
        case retryable(after: Duration?)
        /// Other 4xx and invalid configuration: trying again cannot help.
        case permanent
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    public var isRetryable: Bool {
        if case .retryable = kind { return true }
        return false
    }
}

/// One notification channel (Slack, Jira, Teams, PagerDuty, an outgoing
/// webhook, the payload archive). The delivery pipeline gives it the
/// ticket's current state and the reference it made before, if any; it
/// creates or updates its remote object and returns the reference.
public protocol Notifier: Sendable {
    /// The channel's name in jobs, audit lines and metrics (`slack`, `jira`…).
    var channel: String { get }
    /// A human name for audit lines ("Slack", "Jira").
    var displayName: String { get }
    /// Whether this reason is worth a delivery on this channel.
    func handles(_ reason: NotificationReason) -> Bool
    /// Whether a new ticket's delivery needs the webhook body as received and
    /// the audit trail (the archive does); the others are spared reading
    /// them, the body being up to `MAX_BODY_BYTES`.
    var needsRawPayload: Bool { get }
    /// Looks for a remote object an earlier attempt made but did not get to
    /// record (a crash between the call and the commit); nil if none or if
    /// the channel cannot tell.
    func lookUp(_ ticket: TicketSnapshot) async throws(DeliveryError) -> RemoteReference?
    /// Creates the remote object (when `existing` is nil) or brings it up to
    /// date; returns its reference.
    func deliver(_ ticket: TicketSnapshot, reason: NotificationReason, existing: RemoteReference?, payload: Data?) async throws(DeliveryError) -> RemoteReference
}

extension Notifier {
    public func lookUp(_ ticket: TicketSnapshot) async throws(DeliveryError) -> RemoteReference? { nil }

    public var needsRawPayload: Bool { false }
}
