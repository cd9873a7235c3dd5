import Foundation
import RCACore
import SQLKit

/// The daily model budget counted in the database, so that every replica
/// draws on the same allowance. Reserving a call is one atomic upsert that
/// only counts the call while the day's totals are under the limits.
public struct DatabaseModelBudget: ModelBudget {
    let database: Database
    let limits: ModelBudgetLimits

    public init(database: Database, limits: ModelBudgetLimits) {
        self.database = database
        self.limits = limits
    }

    public func reserveCall() async throws -> BudgetDecision {
        let day = ModelBudgetLimits.day()
        let callLimit = limits.callsPerDay > 0 ? limits.callsPerDay : Int.max
        let tokenLimit = limits.tokensPerDay > 0 ? limits.tokensPerDay : Int.max
        guard callLimit > 0 else { return .exhausted(limits.exhaustion(calls: 0, tokens: 0) ?? "") }
        let reserved = try await database.transaction { sql in
            try await sql.raw(
                """
                INSERT INTO model_usage (day, calls, tokens) VALUES (\(bind: day), 1, 0)
                ON CONFLICT (day) DO UPDATE SET calls = model_usage.calls + 1
                WHERE model_usage.calls < \(bind: callLimit) AND model_usage.tokens < \(bind: tokenLimit)
                RETURNING calls
                """
            ).first()
        }
        if reserved != nil { return .granted }
        let usage = try await today()
        return .exhausted(limits.exhaustion(calls: usage.calls, tokens: usage.tokens) ?? "the daily model budget is spent")
    }

    public func record(tokens: Int) async throws {
        guard tokens > 0 else { return }
        let day = ModelBudgetLimits.day()
        try await database.transaction { sql in
            try await sql.raw(
                """
                INSERT INTO model_usage (day, calls, tokens) VALUES (\(bind: day), 0, \(bind: tokens))
                ON CONFLICT (day) DO UPDATE SET tokens = model_usage.tokens + \(bind: tokens)
                """
            ).run()
        }
    }

    /// Today's calls and tokens so far.
    public func today() async throws -> (calls: Int, tokens: Int) {
        let day = ModelBudgetLimits.day()
        return try await database.read { sql in
            guard let row = try await sql.raw("SELECT calls, tokens FROM model_usage WHERE day = \(bind: day)").first() else { return (0, 0) }
            return (try row.decode(column: "calls", as: Int.self), try row.decode(column: "tokens", as: Int.self))
        }
    }
}
