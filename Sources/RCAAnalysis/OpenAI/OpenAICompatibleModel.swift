import AsyncHTTPClient
import Foundation
import RCACore
import RCASources

/// Any server that speaks OpenAI's `chat/completions` with structured
/// outputs: OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp.
public struct OpenAICompatibleModel: LanguageModel {
    public static let defaultBaseURL = "https://api.openai.com/v1"

    public let engine = AnalysisEngine.openai
    public let modelName: String
    private let apiKey: String?
    private let apiKeyHeader: String
    private let baseURL: String
    private let http: ModelHTTP

    /// `apiKeyHeader` is `Authorization` (sent as a bearer token) for most
    /// servers, `api-key` for Azure OpenAI; local servers may need no key.
    public init(
        model: String,
        apiKey: String?,
        apiKeyHeader: String = "Authorization",
        baseURL: String = defaultBaseURL,
        httpClient: HTTPClient,
        timeout: Duration
    ) {
        self.modelName = model
        self.apiKey = apiKey
        self.apiKeyHeader = apiKeyHeader
        self.baseURL = VendorHTTP.base(baseURL)
        self.http = ModelHTTP(client: httpClient, timeout: timeout, apiKey: apiKey)
    }

    public func complete(_ request: ModelRequest) async throws(ModelCallError) -> ModelReply {
        var messages: [JSONValue] = [.object(["role": "system", "content": .string(request.instructions)])]
        messages += request.messages.map { .object(["role": .string($0.role.rawValue), "content": .string($0.text)]) }
        let body: JSONValue = .object([
            "model": .string(modelName),
            "messages": .array(messages),
            "temperature": .number(0.1),
            "response_format": .object([
                "type": "json_schema",
                "json_schema": .object([
                    "name": "root_cause_analysis",
                    "schema": request.schema.openAI,
                    "strict": true,
                ]),
            ]),
        ])
        var headers: [(String, String)] = []
        if let apiKey {
            headers.append(apiKeyHeader.lowercased() == "authorization" ? ("Authorization", "Bearer \(apiKey)") : (apiKeyHeader, apiKey))
        }
        let answer = try await http.post("\(baseURL)/chat/completions", headers: headers, body: body)
        let choice = answer["choices"][0]
        guard choice != .null else { throw .invalidResponse("no choice in the answer") }
        if let refusal = choice["message"]["refusal"].string, !refusal.isEmpty { throw .refused(String(refusal.prefix(300))) }
        switch choice["finish_reason"].string {
        case "length": throw .truncated
        case "content_filter": throw .refused("finish reason content_filter")
        default: break
        }
        guard let text = choice["message"]["content"].string, !text.isEmpty else {
            throw .invalidResponse("the message has no content")
        }
        let tokens = answer["usage"]["total_tokens"].double.map { Int($0) } ?? 0
        return ModelReply(text: text, tokens: tokens)
    }
}
