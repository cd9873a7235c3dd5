/// Where an alert came from; stored on every ticket so that lists, metrics and
/// analysis can treat each platform's failures according to their origin.
public enum AlertSource: String, Sendable, Codable, CaseIterable {
    case adf
    case databricks
    case azureMonitor = "azure-monitor"
    case alertmanager
    case generic
}

/// Where a ticket stands in the responders' workflow, as on-call tools name
/// it: open (nobody has it yet; the SLA clock runs), acknowledged (someone
/// owns it), in progress (being worked) and resolved. The prototype had no
/// resolved state: its "acknowledged" closed the ticket, and is `resolved`
/// here (migration 12 moved such tickets).
public enum TicketStatus: String, Sendable, Codable, CaseIterable {
    case open
    case acknowledged
    case inProgress = "in_progress"
    case resolved

    /// Whether the SLA-to-acknowledge clock still runs: only while nobody has the ticket.
    public var slaClockRuns: Bool { self == .open }

    /// Whether the failure is still someone's to deal with.
    public var isActive: Bool { self != .resolved }
}

/// Whether the alerting platform still reports the failure; independent of
/// what responders did with the ticket.
public enum SourceStatus: String, Sendable, Codable, CaseIterable {
    case firing
    case resolved
}

/// How far root-cause analysis of a ticket has got.
public enum AnalysisState: String, Sendable, Codable, CaseIterable {
    case pending
    case done
    case failed
}

/// What a dashboard user may do. Roles are ordered: each one includes the
/// permissions of those below it.
public enum UserRole: String, Sendable, Codable, CaseIterable, Comparable {
    case viewer
    case responder
    case admin

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .responder: 1
        case .admin: 2
        }
    }

    public static func < (lhs: UserRole, rhs: UserRole) -> Bool {
        lhs.rank < rhs.rank
    }
}
