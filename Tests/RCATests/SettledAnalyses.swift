import Foundation
import RCACore
import RCAStore
import RCATesting

extension TicketStore {
    /// Waits until the analysis of each ticket is over (done or failed) and
    /// returns the tickets; throws when one is still pending after `seconds`.
    /// The one wait for analyses that every suite shares.
    @discardableResult
    func settled(_ ids: [String], within seconds: Int = 30) async throws -> [TicketRecord] {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var tickets: [TicketRecord] = []
        for id in ids {
            while true {
                if let ticket = try await find(id: id), ticket.analysisState != AnalysisState.pending.rawValue {
                    tickets.append(ticket)
                    break
                }
                guard ContinuousClock.now < deadline else { throw ProcessTimeout(description: "the analysis of \(id) was still pending after \(seconds) s") }
                try await Task.sleep(for: .milliseconds(25))
            }
        }
        return tickets
    }
}
