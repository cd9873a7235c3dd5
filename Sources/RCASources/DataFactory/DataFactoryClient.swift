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
    /// The factory used when an alert does not name one.
    public struct DefaultFactory: Sendable {
        public var subscriptionID: String
        public var resourceGroup: String
        public var factoryName: String

        public init(subscriptionID: String, resourceGroup: String, factoryName: String) {
            self.subscriptionID = subscriptionID
            self.resourceGroup = resourceGroup
            self.factoryName = factoryName
        }

        var resourceID: String {
            "/subscriptions/\(subscriptionID)/resourceGroups/\(resourceGroup)/providers/Microsoft.DataFactory/factories/\(factoryName)"
        }
    }

    static let apiVersion = "2018-06-01"
    private let credentials: AzureCredentials
    private let defaultFactory: DefaultFactory?
    private let http: VendorHTTP
    private let tokens: AzureTokenProvider

    public init(credentials: AzureCredentials, defaultFactory: DefaultFactory?, httpClient: HTTPClient, timeout: Duration = .seconds(10)) {
        self.credentials = credentials
        self.defaultFactory = defaultFactory
        http = VendorHTTP(client: httpClient, timeout: timeout)
        tokens = AzureTokenProvider(credentials: credentials, http: http)
    }

    public func enrich(_ request: EnrichmentRequest) async throws(EnrichmentError) -> Enrichment? {
        guard case .dataFactoryPipeline(let name, let factoryResourceID, let start, let end) = request else { return nil }
        guard let factory = factoryResourceID ?? defaultFactory?.resourceID else {
            throw .notFound("the alert names no data factory and ADF_FACTORY_NAME is not set")
        }
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
        let runs = try await post("\(factory)/queryPipelineRuns", body: runsQuery)
        guard let run = runs["value"].array?.first, let runID = run["runId"].string else {
            throw .notFound("no failed run of pipeline \(name) between \(Timestamp.string(from: start)) and \(Timestamp.string(from: end))")
        }
        let activitiesQuery = JSONValue.object(window.merging(["filters": .array([Self.filter("Status", "Failed")])]) { $1 })
        let activities = try await post("\(factory)/pipelineruns/\(runID)/queryActivityruns", body: activitiesQuery)
        let failed = (activities["value"].array ?? []).filter { $0["status"].string?.lowercased() == "failed" }
        let parts = failed.map { activity -> String in
            let error = activity["error"]
            let code = error["errorCode"].string.map { "\($0): " } ?? ""
            let message = error["message"].string ?? "failed without a message"
            return "[Activity: \(activity["activityName"].string ?? "?") (\(activity["activityType"].string ?? "?"))] \(code)\(message)"
        }
        var details: [String: String] = ["factory": Text.resourceName(fromID: factory) ?? factory, "pipeline_run_id": runID]
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

    private func post(_ path: String, body: JSONValue) async throws(EnrichmentError) -> JSONValue {
        let token = try await tokens.token()
        let url = "\(VendorHTTP.base(credentials.managementURL))\(path)?api-version=\(Self.apiVersion)"
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
