import AsyncHTTPClient
import Foundation
import RCAAnalysis
import RCACore
import RCASources
import RCAStore

/// The analysis engine the configuration names: the rules engine alone, or a
/// model engine with the rules engine as its candidate and fallback, drawing
/// on the daily budget kept in `database`.
public func makeAnalyzer(_ settings: AnalysisSettings, database: Database, httpClient: HTTPClient = VendorHTTP.sharedClient) throws -> any RootCauseAnalyzer {
    let rules = try RulesEngine(siteRules: settings.siteRules)
    guard let choice = settings.model else { return rules }
    let timeout = Duration.seconds(settings.timeoutSeconds)
    let model: any LanguageModel = switch choice {
    case .gemini(let apiKey, let name, let baseURL):
        GeminiModel(apiKey: apiKey, model: name, baseURL: baseURL, httpClient: httpClient, timeout: timeout)
    case .openAI(let baseURL, let apiKey, let header, let name):
        OpenAICompatibleModel(model: name, apiKey: apiKey, apiKeyHeader: header, baseURL: baseURL, httpClient: httpClient, timeout: timeout)
    }
    return ModelAnalyzer(
        model: model,
        rules: rules,
        budget: DatabaseModelBudget(database: database, limits: settings.budget),
        retry: .init(attempts: settings.attempts, maxWait: .seconds(settings.maxRetryWaitSeconds))
    )
}
