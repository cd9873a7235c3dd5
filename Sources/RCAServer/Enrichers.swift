import AsyncHTTPClient
import RCACore
import RCASources

/// The enrichment clients the configuration turns on.
public func makeEnrichers(_ configuration: ServerConfiguration, httpClient: HTTPClient = VendorHTTP.sharedClient) -> [any AlertEnricher] {
    var enrichers: [any AlertEnricher] = []
    let timeout = Duration.seconds(configuration.enrichmentTimeoutSeconds)
    if let databricks = configuration.databricks {
        enrichers.append(DatabricksJobsClient(workspace: databricks.workspace, token: databricks.token, httpClient: httpClient, timeout: timeout))
    }
    if let dataFactory = configuration.dataFactory {
        enrichers.append(
            DataFactoryClient(
                credentials: dataFactory.credentials, defaultFactory: dataFactory.defaultFactory,
                allowedFactories: dataFactory.allowedFactories, httpClient: httpClient, timeout: timeout
            )
        )
    }
    return enrichers
}
