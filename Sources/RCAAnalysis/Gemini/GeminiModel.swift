import AsyncHTTPClient
import Foundation
import RCACore
import RCASources

/// Google's Gemini API (`models/{model}:generateContent`) with a JSON
/// response schema, so that the answer is the analysis object and nothing else.
public struct GeminiModel: LanguageModel {
    public static let defaultBaseURL = "https://generativelanguage.googleapis.com/v1beta"
    public static let defaultModel = "gemini-2.5-flash"

    /// A model name as `MODEL_ID` gives it: bare (`gemini-2.5-flash`) or in
    /// the resource form the prototype used (`models/gemini-2.5-flash`),
    /// which would otherwise make `…/models/models/…:generateContent`.
    public static func modelName(_ text: String) -> String {
        text.hasPrefix("models/") ? String(text.dropFirst("models/".count)) : text
    }

    public let engine = AnalysisEngine.gemini
    public let modelName: String
    private let apiKey: String
    private let baseURL: String
    private let http: ModelHTTP

    public init(apiKey: String, model: String = defaultModel, baseURL: String = defaultBaseURL, httpClient: HTTPClient, timeout: Duration) {
        self.apiKey = apiKey
        self.modelName = model
        self.baseURL = VendorHTTP.base(baseURL)
        self.http = ModelHTTP(client: httpClient, timeout: timeout, apiKey: apiKey)
    }

    /// Finish reasons that mean the model declined to answer.
    private static let refusals: Set<String> = ["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "LANGUAGE", "IMAGE_SAFETY"]

    public func complete(_ request: ModelRequest) async throws(ModelCallError) -> ModelReply {
        let body: JSONValue = .object([
            "systemInstruction": .object(["parts": .array([.object(["text": .string(request.instructions)])])]),
            "contents": .array(request.messages.map { message in
                .object([
                    "role": message.role == .user ? "user" : "model",
                    "parts": .array([.object(["text": .string(message.text)])]),
                ])
            }),
            "generationConfig": .object([
                "responseMimeType": "application/json",
                "responseSchema": request.schema.gemini,
                "temperature": .number(0.1),
            ]),
        ])
        let escapedModel = modelName.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? modelName
        let answer = try await http.post(
            "\(baseURL)/models/\(escapedModel):generateContent",
            headers: [("x-goog-api-key", apiKey)],
            body: body
        )
        if let blocked = answer["promptFeedback"]["blockReason"].string {
            throw .refused("the prompt was blocked: \(blocked)")
        }
        let candidate = answer["candidates"][0]
        guard candidate != .null else { throw .invalidResponse("no candidate in the answer") }
        let finish = candidate["finishReason"].string ?? "STOP"
        if finish == "MAX_TOKENS" { throw .truncated }
        if Self.refusals.contains(finish) { throw .refused("finish reason \(finish)") }
        let text = (candidate["content"]["parts"].array ?? []).compactMap { $0["text"].string }.joined()
        guard !text.isEmpty else { throw .invalidResponse("the candidate has no text (finish reason \(finish))") }
        let tokens = answer["usageMetadata"]["totalTokenCount"].double.map { Int($0) } ?? 0
        return ModelReply(text: text, tokens: tokens)
    }
}
