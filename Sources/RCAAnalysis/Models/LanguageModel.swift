import Foundation
import RCACore

/// One turn of a conversation with a model.
public struct ModelMessage: Sendable, Equatable {
    /// Who speaks: the operator's instructions, the question, or the model's earlier answer.
    public enum Role: String, Sendable {
        case user
        case assistant
    }

    public var role: Role
    public var text: String

    public init(_ role: Role, _ text: String) {
        self.role = role
        self.text = text
    }
}

/// What is sent to a model: standing instructions, the conversation so far,
/// and the JSON schema the answer must follow.
public struct ModelRequest: Sendable, Equatable {
    public var instructions: String
    public var messages: [ModelMessage]
    public var schema: AnalysisSchema

    public init(instructions: String, messages: [ModelMessage], schema: AnalysisSchema = AnalysisSchema()) {
        self.instructions = instructions
        self.messages = messages
        self.schema = schema
    }
}

/// A model's answer: the JSON text it produced and what it cost.
public struct ModelReply: Sendable, Equatable {
    public var text: String
    public var tokens: Int

    public init(text: String, tokens: Int) {
        self.text = text
        self.tokens = tokens
    }
}

/// Why a model call produced no usable answer. API keys never appear here.
public enum ModelCallError: Error, Equatable, CustomStringConvertible {
    /// 429: the provider asks us to slow down, maybe saying for how long.
    case rateLimited(retryAfter: Duration?, detail: String)
    /// 500, 502, 503, 504: the provider is overloaded or failing.
    case unavailable(status: Int, retryAfter: Duration?, detail: String)
    case timeout
    case transport(String)
    /// 401, 403: the key is wrong or lacks access.
    case unauthorized(String)
    /// Any other 4xx: the request itself was refused.
    case rejected(status: Int, detail: String)
    /// The model declined to answer (safety filter or an explicit refusal).
    case refused(String)
    /// The answer was cut off by the output token limit.
    case truncated
    /// The envelope around the answer is not what the API documents.
    case invalidResponse(String)

    /// Whether the same call may succeed if made again after a wait.
    public var isRetryable: Bool {
        switch self {
        case .rateLimited, .unavailable, .timeout, .transport: true
        case .unauthorized, .rejected, .refused, .truncated, .invalidResponse: false
        }
    }

    /// The wait the provider asked for, if any.
    public var retryAfter: Duration? {
        switch self {
        case .rateLimited(let delay, _), .unavailable(_, let delay, _): delay
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .rateLimited(_, let detail): "rate limited (429\(detail.isEmpty ? "" : ": \(detail)"))"
        case .unavailable(let status, _, let detail): "the model service answered \(status)\(detail.isEmpty ? "" : ": \(detail)")"
        case .timeout: "the model did not answer in time"
        case .transport(let detail): "cannot reach the model service (\(detail))"
        case .unauthorized(let detail): "the model service refused the API key (\(detail))"
        case .rejected(let status, let detail): "the model service rejected the request (\(status): \(detail))"
        case .refused(let detail): "the model refused to answer (\(detail))"
        case .truncated: "the model's answer was cut off at its token limit"
        case .invalidResponse(let detail): "unexpected answer from the model service (\(detail))"
        }
    }
}

/// A hosted or local language model that answers a request with JSON text.
/// Gemini and OpenAI-compatible servers implement it; `ModelAnalyzer` adds
/// retries, validation, repair and fallback on top.
public protocol LanguageModel: Sendable {
    var engine: AnalysisEngine { get }
    /// The model's name as the provider knows it, recorded on each analysis.
    var modelName: String { get }
    func complete(_ request: ModelRequest) async throws(ModelCallError) -> ModelReply
}
