import Foundation

/// How much model use a day allows; zero means no limit.
public struct ModelBudgetLimits: Sendable, Equatable {
    public var callsPerDay: Int
    public var tokensPerDay: Int

    public init(callsPerDay: Int, tokensPerDay: Int) {
        self.callsPerDay = callsPerDay
        self.tokensPerDay = tokensPerDay
    }

    /// The UTC day a budget counts against.
    public static func day(of date: Date = Date()) -> String {
        String(Timestamp.string(from: date).prefix(10))
    }
}

/// Whether a model call may be made.
public enum BudgetDecision: Sendable, Equatable {
    case granted
    case exhausted(String)
}

/// Keeps model spending within a daily budget. The server keeps the count
/// in its database so that every replica shares it; the command line keeps
/// it in memory.
public protocol ModelBudget: Sendable {
    /// Counts one call against today's budget, or refuses if it is spent.
    func reserveCall() async throws -> BudgetDecision
    /// Adds the tokens a call used.
    func record(tokens: Int) async throws
}

/// A daily budget held in memory, for one process.
public actor InMemoryModelBudget: ModelBudget {
    private let limits: ModelBudgetLimits
    private var day = ""
    private var calls = 0
    private var tokens = 0

    public init(limits: ModelBudgetLimits) {
        self.limits = limits
    }

    public func reserveCall() -> BudgetDecision {
        rollOver()
        if let reason = limits.exhaustion(calls: calls, tokens: tokens) { return .exhausted(reason) }
        calls += 1
        return .granted
    }

    public func record(tokens used: Int) {
        rollOver()
        tokens += used
    }

    private func rollOver() {
        let today = ModelBudgetLimits.day()
        if today != day {
            day = today
            calls = 0
            tokens = 0
        }
    }
}

extension ModelBudgetLimits {
    /// Why a day with this much use already spent its budget, or nil if it has not.
    public func exhaustion(calls: Int, tokens: Int) -> String? {
        if callsPerDay > 0 && calls >= callsPerDay { return "the daily model budget of \(callsPerDay) calls is spent" }
        if tokensPerDay > 0 && tokens >= tokensPerDay { return "the daily model budget of \(tokensPerDay) tokens is spent" }
        return nil
    }
}
