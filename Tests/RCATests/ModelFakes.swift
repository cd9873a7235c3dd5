import AsyncHTTPClient
import Foundation
import Hummingbird
import HTTPTypes
import Testing
import RCAAnalysis
import RCACore
import RCATesting

/// A local server speaking Gemini's or OpenAI's wire format, with answers
/// built from the vendors' published envelopes.
struct ModelFake {
    enum Provider: String, CaseIterable, CustomTestStringConvertible {
        case gemini
        case openai

        var testDescription: String { rawValue }

        var path: String {
            switch self {
            case .gemini: "/v1beta/models/gemini-2.5-flash:generateContent"
            case .openai: "/v1/chat/completions"
            }
        }
    }

    static let apiKey = "model-api-key-never-leaves-0123456789"

    let provider: Provider
    let server: LocalHTTPServer
    let answers: ScriptedAnswers

    static func start(_ provider: Provider) async throws -> ModelFake {
        let answers = ScriptedAnswers()
        let server = try await LocalHTTPServer.start(answers.router(paths: [provider.path]))
        return ModelFake(provider: provider, server: server, answers: answers)
    }

    var baseURL: String { server.baseURL + (provider == .gemini ? "/v1beta" : "/v1") }

    func model(timeout: Duration = .seconds(5)) -> any LanguageModel {
        switch provider {
        case .gemini: GeminiModel(apiKey: Self.apiKey, baseURL: baseURL, httpClient: .shared, timeout: timeout)
        case .openai: OpenAICompatibleModel(model: "gpt-4o-mini", apiKey: Self.apiKey, baseURL: baseURL, httpClient: .shared, timeout: timeout)
        }
    }

    /// The environment that points the server at this fake.
    var environment: [String: String] {
        switch provider {
        case .gemini: ["GEMINI_API_KEY": Self.apiKey, "GEMINI_BASE_URL": baseURL]
        case .openai: ["OPENAI_API_KEY": Self.apiKey, "OPENAI_BASE_URL": baseURL, "OPENAI_MODEL": "gpt-4o-mini"]
        }
    }

    func enqueue(_ answer: ScriptedAnswers.Answer) { answers.enqueue(provider.path, answer) }
    func always(_ answer: ScriptedAnswers.Answer) { answers.always(provider.path, answer) }
    var calls: Int { answers.count(provider.path) }
    var requests: [ScriptedAnswers.Received] { answers.received.filter { $0.path == provider.path } }

    /// A successful answer whose text is `text`, in the provider's envelope.
    func reply(_ text: String, finish: String? = nil, tokens: Int = 300) throws -> ScriptedAnswers.Answer {
        switch provider {
        case .gemini:
            var envelope = try Self.object("gemini/generateContent.response.gemini-pro.generative-ai-docs.json")
            var candidates = envelope["candidates"] as! [[String: Any]]
            candidates[0]["content"] = ["role": "model", "parts": [["text": text]]]
            candidates[0]["finishReason"] = finish ?? "STOP"
            envelope["candidates"] = candidates
            envelope["usageMetadata"] = ["promptTokenCount": tokens - 100, "candidatesTokenCount": 100, "totalTokenCount": tokens]
            return .init(body: try Self.text(envelope))
        case .openai:
            var envelope = try Self.object("openai/chat-completions.response.openapi-default-example.json")
            var choices = envelope["choices"] as! [[String: Any]]
            var message = choices[0]["message"] as! [String: Any]
            message["content"] = text
            choices[0]["message"] = message
            choices[0]["finish_reason"] = finish ?? "stop"
            envelope["choices"] = choices
            var usage = envelope["usage"] as! [String: Any]
            usage["total_tokens"] = tokens
            envelope["usage"] = usage
            return .init(body: try Self.text(envelope))
        }
    }

    /// The provider's way of declining to answer.
    func refusal() throws -> ScriptedAnswers.Answer {
        switch provider {
        case .gemini:
            return try reply("", finish: "SAFETY")
        case .openai:
            var envelope = try Self.object("openai/chat-completions.response.openapi-default-example.json")
            var choices = envelope["choices"] as! [[String: Any]]
            choices[0]["message"] = ["role": "assistant", "content": NSNull(), "refusal": "I'm sorry, I cannot help with that request."]
            envelope["choices"] = choices
            return .init(body: try Self.text(envelope))
        }
    }

    /// A 503 in the provider's error format.
    func overloaded() throws -> ScriptedAnswers.Answer {
        switch provider {
        case .gemini:
            return .init(.serviceUnavailable, body: String(decoding: try Fixture.data("gemini/error-503-unavailable.json"), as: UTF8.self))
        case .openai:
            return .init(.serviceUnavailable, body: #"{"error":{"message":"The server is overloaded or not ready yet.","type":"server_error","param":null,"code":null}}"#)
        }
    }

    /// A 429 asking to wait `seconds`: Gemini in its `RetryInfo`, OpenAI in `Retry-After`.
    func rateLimited(seconds: Int) throws -> ScriptedAnswers.Answer {
        switch provider {
        case .gemini:
            let body = String(decoding: try Fixture.data("gemini/error-429-resource-exhausted.quota-details.json"), as: UTF8.self)
                .replacingOccurrences(of: #""retryDelay": "26s""#, with: #""retryDelay": "\#(seconds)s""#)
            return .init(.tooManyRequests, body: body)
        case .openai:
            return .init(
                .tooManyRequests,
                body: #"{"error":{"message":"Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1.","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
                headers: [HTTPField.Name("Retry-After")!: "\(seconds)"]
            )
        }
    }

    private static func object(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: try Fixture.data(path)) as! [String: Any]
    }

    private static func text(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }
}

/// A failure text with secrets in it, and answers about it.
enum SampleFailure {
    static let secrets = [
        "AbCdEf0123456789xyzSIG", "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==", "jane.doe@contoso.com",
        "eyJhbGciOiJIUzI1NiJ9", "dapi0123456789abcdef0123456789abcdef", "Sup3rS3cret!",
    ]

    static let text = """
        Operation on target Copy_Sales failed: ErrorCode=UserErrorSourceBlobNotExists,'Type=Microsoft.DataTransfer.Common.Shared.HybridDeliveryException,\
        Message=The required Blob is missing. ContainerName: https://salesdata.blob.core.windows.net/raw?sv=2022-11-02&sig=AbCdEf0123456789xyzSIG, \
        ContainerExist: True, BlobPrefix: sales/2025/11/29.csv, BlobCount: 0.,Source=Microsoft.DataTransfer.ClientLibrary,' \
        Linked service: DefaultEndpointsProtocol=https;AccountName=salesdata;AccountKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==;EndpointSuffix=core.windows.net; \
        Server=tcp:sql01.database.windows.net;User ID=etl;Password=Sup3rS3cret!; notified jane.doe@contoso.com; \
        Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc123def456; notebook token dapi0123456789abcdef0123456789abcdef
        """

    static let input = AnalysisInput(source: .adf, errorText: text, resource: "sales_daily_load")

    static func answer(
        category: String = "missing_input_data",
        evidence: [String] = ["The required Blob is missing", "BlobPrefix: sales/2025/11/29.csv"]
    ) -> String {
        let object: [String: Any] = [
            "root_cause": "The copy found no file sales/2025/11/29.csv in container raw: the upstream export did not write it.",
            "error_type": "UserErrorSourceBlobNotExists",
            "category": category,
            "affected_entity": "Copy_Sales",
            "severity": "High",
            "confidence": "Very High",
            "evidence": evidence,
            "recommendations": ["Check the upstream export of sales/2025/11/29.csv", "Add a Validation activity before the copy"],
            "auto_heal_possible": false,
        ]
        return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }
}
