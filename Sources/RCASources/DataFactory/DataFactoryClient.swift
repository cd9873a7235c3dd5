import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RCACore

/// Finds the run behind an ADF metric alert, which names only the pipeline:
/// `queryPipelineRuns` for the pipeline's failed runs in the alert's window,
/// then `queryActivityruns` for the newest one's failed activities, whose
/// error codes and messages become the ticket's error text.
public struct DataFactoryClient: AlertEnricher {
    static let apiVersion = "2018-06-01"
    private let credentials: AzureCredentials
    private let defaultFactory: AzureResourceID?
    private let allowedFactories: Set<String>?
    private let http: VendorHTTP
    private let tokens: AzureTokenProvider

    /// - Parameters:
    ///   - defaultFactory: the factory used when an alert does not name one.
    ///   - allowedFactories: when set, the only factories the worker may
    ///     query (names or resource ids, compared without case); an alert
    ///     naming another is refused before any call.
    public init(
        credentials: AzureCredentials, defaultFactory: AzureResourceID?, allowedFactories: Set<String>? = nil,
        httpClient: HTTPClient, timeout: Duration = .seconds(10)
    ) {
        self.credentials = credentials
        self.defaultFactory = defaultFactory
        self.allowedFactories = allowedFactories.map { Set($0.map { $0.lowercased() }) }
        http = VendorHTTP(client: httpClient, timeout: timeout)
        tokens = AzureTokenProvider(credentials: credentials, http: http)
    }

    /// The alert's factory as a parsed resource id, or the reason it is refused.
    func factory(named resourceID: String?) throws(EnrichmentError) -> AzureResourceID {
        guard let resourceID else {
            guard let defaultFactory else { throw .notFound("the alert names no data factory and ADF_FACTORY_NAME is not set") }
            return defaultFactory
        }
        guard let factory = AzureResourceID(resourceID), factory.isKind("Microsoft.DataFactory", "factories"),
              Identifiers.isDataFactoryName(factory.name)
        else { throw .refused("the alert's resource id is not a Data Factory resource id") }
        if let allowedFactories, !allowedFactories.contains(factory.name.lowercased()),
           !allowedFactories.contains(factory.description.lowercased()) {
            throw .refused("factory \(factory.name) is not in ADF_ALLOWED_FACTORIES")
        }
        return factory
    }

    public func enrich(_ request: EnrichmentRequest) async throws(EnrichmentError) -> Enrichment? {
        guard case .dataFactoryPipeline(let name, let factoryResourceID, let start, let end) = request else { return nil }
        let factory = try factory(named: factoryResourceID)
        let window: [String: JSONValue] = [
            "lastUpdatedAfter": .string(Timestamp.string(from: start)),
            "lastUpdatedBefore": .string(Timestamp.string(from: end)),
        ]
        let runsQuery = JSONValue.object(window.merging([
            "filters": .array([
                Self.filter("PipelineName", name),
                Self.filter("Status", "Failed"),
            ]),
            "orderBy": .array([.object(["orderBy": .string("RunEnd"), "order": .string("DESC")])]),
        ]) { $1 })
        let runs = try await post(factory.segments + ["queryPipelineRuns"], body: runsQuery)
        guard let run = runs["value"].array?.first, let runID = run["runId"].string else {
            throw .notFound("no failed run of pipeline \(name) between \(Timestamp.string(from: start)) and \(Timestamp.string(from: end))")
        }
        guard Identifiers.isGUID(runID) else { throw .invalidResponse("Data Factory named a run id that is not a GUID") }
        let activitiesQuery = JSONValue.object(window.merging(["filters": .array([Self.filter("Status", "Failed")])]) { $1 })
        let activities = try await post(factory.segments + ["pipelineruns", runID, "queryActivityruns"], body: activitiesQuery)
        let failed = (activities["value"].array ?? []).filter { $0["status"].string?.lowercased() == "failed" }
        let parts = failed.map { activity -> String in
            let error = activity["error"]
            let code = error["errorCode"].string.map { "\($0): " } ?? ""
            let message = error["message"].string ?? "failed without a message"
            return "[Activity: \(activity["activityName"].string ?? "?") (\(activity["activityType"].string ?? "?"))] \(code)\(message)"
        }
        var details: [String: String] = ["factory": factory.name, "pipeline_run_id": runID]
        details["activity_name"] = failed.first?["activityName"].string
        details["activity_type"] = failed.first?["activityType"].string
        details["error_code"] = failed.first?["error"]["errorCode"].string
        details["failure_type"] = failed.first?["error"]["failureType"].string
        details["failed_activities"] = failed.isEmpty ? nil : failed.compactMap { $0["activityName"].string }.joined(separator: ", ")
        let text = parts.isEmpty ? (run["message"].string ?? "Pipeline run \(runID) failed without a message") : parts.joined(separator: " | ")
        return Enrichment(errorMessage: text, runID: runID, details: details)
    }

    private static func filter(_ operand: String, _ value: String) -> JSONValue {
        .object(["operand": .string(operand), "operator": .string("Equals"), "values": .array([.string(value)])])
    }

    private func post(_ segments: [String], body: JSONValue) async throws(EnrichmentError) -> JSONValue {
        let url: String
        do {
            url = try credentials.managementURL.url(segments, query: [("api-version", Self.apiVersion)])
        } catch {
            throw .refused(error.description)
        }
        let token = try await tokens.token()
        let encoded: Data
        do {
            encoded = try JSONEncoder().encode(body)
        } catch {
            throw .invalidResponse("cannot encode the query")
        }
        let data = try await http.send(.POST, url, headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")], body: encoded)
        do {
            return try JSONValue.parse(data)
        } catch {
            throw .invalidResponse("Data Factory answered \(error.description)")
        }
    }
}
