import Foundation
import Logging
import PostgresKit
import Synchronization

/// A PostgreSQL password that is an access token with an end (Entra ID on
/// Azure Database for PostgreSQL): `fetch` returns a token and the time from
/// which a new one should be used.
public struct PostgresTokenPassword: Sendable {
    public let fetch: @Sendable () async throws -> (token: String, renewAt: Date)

    public init(fetch: @escaping @Sendable () async throws -> (token: String, renewAt: Date)) {
        self.fetch = fetch
    }
}

/// The PostgreSQL pool of a `Database`. With a token password, PostgreSQL
/// checks the token only when a connection opens, so the pool is replaced by
/// one with the new token before the old token ends: new work leases from
/// the new pool, and the old one is shut down after `grace`, when the work
/// that leased from it has finished.
final class PostgresPool: Sendable {
    private let current: Mutex<(client: PostgresClient, run: Task<Void, Never>)>
    private let retired = Mutex<[Task<Void, Never>]>([])
    private let renewal = Mutex<Task<Void, Never>?>(nil)
    static let grace = Duration.seconds(60)

    init(_ client: PostgresClient) {
        current = Mutex((client, Task { await client.run() }))
    }

    var client: PostgresClient { current.withLock { $0.client } }

    /// Starts replacing the pool whenever the token is due for renewal.
    func renew(with password: PostgresTokenPassword, firstRenewal: Date, logger: Logger, makeClient: @escaping @Sendable (String) -> PostgresClient) {
        let task = Task { [weak self] in
            var renewAt = firstRenewal
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(max(0, Int(renewAt.timeIntervalSinceNow * 1000))))
                guard !Task.isCancelled, let self else { return }
                do {
                    let (token, next) = try await password.fetch()
                    self.replace(with: makeClient(token))
                    renewAt = next
                    logger.info("PostgreSQL access token renewed", metadata: ["next_renewal": "\(next)"])
                } catch {
                    logger.warning("cannot renew the PostgreSQL access token; retrying in 30 s", metadata: ["error": "\(error)"])
                    renewAt = Date().addingTimeInterval(30)
                }
            }
        }
        renewal.withLock { $0 = task }
    }

    private func replace(with client: PostgresClient) {
        let run = Task { await client.run() }
        let old = current.withLock { state in
            defer { state = (client, run) }
            return state.run
        }
        let retirement = Task {
            try? await Task.sleep(for: Self.grace)
            old.cancel()
            await old.value
        }
        retired.withLock { $0.append(retirement) }
    }

    func shutdown() async {
        let renewal = renewal.withLock { $0 }
        renewal?.cancel()
        await renewal?.value
        let run = current.withLock { $0.run }
        run.cancel()
        await run.value
        for retirement in retired.withLock({ $0 }) {
            retirement.cancel()
            await retirement.value
        }
    }
}
