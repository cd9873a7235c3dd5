import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RCAServer
import RCASources
import RCAStore
import RCATesting
import Testing

/// A small deterministic generator, so a failing case can be reproduced from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Turns valid payloads into hostile ones.
enum Mutator {
    static let replacements: [JSONValue] = [
        .null, .integer(-1), .number(1e308), .string(""), .string(String(repeating: "x", count: 3000)),
        .string("<img src=x onerror=alert(1)>"), .string("'; DROP TABLE tickets; --"), .string("\u{0}\u{FFFF}é🙂"),
        .bool(true), .array([]), .object([:]), .array([.array([.array([.null])])]),
    ]

    static func mutateLeaves(_ value: JSONValue, rng: inout SplitMix64) -> JSONValue {
        switch value {
        case .object(let object):
            return .object(object.mapValues { mutateLeaves($0, rng: &rng) })
        case .array(let array):
            return .array(array.map { mutateLeaves($0, rng: &rng) })
        default:
            return Int.random(in: 0..<4, using: &rng) == 0 ? replacements.randomElement(using: &rng)! : value
        }
    }

    static func variants(of body: Data, count: Int, rng: inout SplitMix64) throws -> [Data] {
        let json = try JSONValue.parse(body)
        var result: [Data] = []
        for _ in 0..<count {
            switch Int.random(in: 0..<5, using: &rng) {
            case 0:
                result.append(body.prefix(Int.random(in: 0..<max(body.count, 1), using: &rng)))
            case 1, 2:
                result.append(try JSONEncoder().encode(mutateLeaves(json, rng: &rng)))
            case 3:
                result.append(Data((0..<Int.random(in: 1..<400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }))
            default:
                let wrapper = Int.random(in: 0..<3, using: &rng)
                let text = [#"{"data":"# + String(decoding: body, as: UTF8.self) + "}", "[" + String(decoding: body, as: UTF8.self) + "]", "\"" + "\\\"" + "\""][wrapper]
                result.append(Data(text.utf8))
            }
        }
        result.append(Data((String(repeating: #"{"a":"#, count: 200) + "1" + String(repeating: "}", count: 200)).utf8))
        result.append(Data(repeating: 0x7B, count: 70_000))
        return result
    }
}

@Suite("Webhook fuzzing")
struct WebhookFuzzTests {
    static let seeds: [(String, String)] = [
        ("/azure-monitor", "constructed/adf-log-v1-activity-rows.json"),
        ("/azure-monitor", "azure-monitor/service-health.json"),
        ("/azure-monitor", "constructed/adf-metric-pipeline-failed-runs.json"),
        ("/azure-monitor-alert", "constructed/databricks-clusters-log-alert.json"),
        ("/databricks-monitor", "databricks/webhook-jobs.on_failure.job-run.json"),
        ("/alertmanager", "constructed/alertmanager-two-firing.json"),
        ("/webhook/generic", "constructed/alertmanager-two-firing.json"),
    ]

    @Test("malformed, truncated, wrongly typed, deeply nested and oversized bodies never get a 500, and every one is stored", arguments: TestBackend.enabled)
    func neverFiveHundred(backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { database, _ in
            let app = buildApplication(try WebhookHarness.dependencies(database, environment: ["MAX_BODY_BYTES": "65536"]))
            var rng = SplitMix64(state: 20_261_129)
            var cases: [(endpoint: String, body: Data)] = []
            for (endpoint, fixture) in Self.seeds {
                cases += try Mutator.variants(of: try Fixture.data(fixture), count: 40, rng: &rng).map { (endpoint, $0) }
            }
            let sent = cases.count
            let requests = cases
            let statuses = try await app.test(.router) { client in
                var statuses: [Int: Int] = [:]
                for (endpoint, body) in requests {
                    let response = try await WebhookHarness.post(client, endpoint, body)
                    statuses[Int(response.status.code), default: 0] += 1
                    #expect([202, 400, 413, 422].contains(Int(response.status.code)), "\(endpoint) answered \(response.status) to \(String(decoding: body.prefix(200), as: UTF8.self))")
                    #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                }
                return statuses
            }
            #expect(try await RawPayloadStore(database: database).count() == sent)
            #expect(statuses[202, default: 0] > 0 && statuses[400, default: 0] > 0 && statuses[413, default: 0] > 0)
        }
    }
}
