import Foundation
import RCAAnalysis
import RCACore

/// Which engine explains failures, and how model engines are reached and limited.
public struct AnalysisSettings: Sendable {
    /// A language model to ask first; nil means the rules engine alone.
    public enum Model: Sendable, Equatable {
        case gemini(apiKey: String, model: String, baseURL: String)
        case openAI(baseURL: String, apiKey: String?, apiKeyHeader: String, model: String)
    }

    public var model: Model?
    public var timeoutSeconds: Int
    public var attempts: Int
    public var maxRetryWaitSeconds: Int
    public var budget: ModelBudgetLimits
    public var slaPolicy: SLAPolicy
    /// Whether a new failure matching an open ticket is folded into it as a recurrence.
    public var linkRecurrences: Bool
    /// Owning teams, from `OWNERSHIP_FILE` or the name-prefix rule alone.
    public var ownership: OwnershipMap
    /// The operator's own rules (`KNOWLEDGE_BASE_FILE`), tried before the built-in ones.
    public var siteRules: KnowledgeBase?
}

/// The engine `ANALYSIS_ENGINE` names.
enum EngineChoice: String, CaseIterable {
    case rules
    case gemini
    case openai
}

extension AnalysisSettings {
    init(_ reader: VariableReader) throws(ConfigurationError) {
        let explicit = try reader.optional("ANALYSIS_ENGINE").map { text throws(ConfigurationError) in
            guard let choice = EngineChoice(rawValue: text.lowercased()) else {
                throw ConfigurationError(variable: "ANALYSIS_ENGINE", problem: "expected one of rules, gemini, openai, got \"\(text)\"")
            }
            return choice
        }
        let choice = explicit ?? (reader.optional("GEMINI_API_KEY") != nil ? .gemini : reader.optional("OPENAI_MODEL") != nil ? .openai : .rules)
        switch choice {
        case .rules:
            model = nil
        case .gemini:
            guard let key = reader.optional("GEMINI_API_KEY") else {
                throw ConfigurationError(variable: "GEMINI_API_KEY", problem: "is required when ANALYSIS_ENGINE is gemini")
            }
            model = .gemini(
                apiKey: key,
                model: GeminiModel.modelName(reader.string("MODEL_ID", default: GeminiModel.defaultModel)),
                baseURL: try reader.url("GEMINI_BASE_URL", default: GeminiModel.defaultBaseURL)
            )
        case .openai:
            guard let name = reader.optional("OPENAI_MODEL") else {
                throw ConfigurationError(variable: "OPENAI_MODEL", problem: "is required when ANALYSIS_ENGINE is openai (for example gpt-4o-mini, or the model a local server loaded)")
            }
            let baseURL = try reader.url("OPENAI_BASE_URL", default: OpenAICompatibleModel.defaultBaseURL)
            let key = reader.optional("OPENAI_API_KEY")
            if key == nil, URL(string: baseURL)?.host == "api.openai.com" {
                throw ConfigurationError(variable: "OPENAI_API_KEY", problem: "is required for api.openai.com; set OPENAI_BASE_URL to use a local server without a key")
            }
            model = .openAI(baseURL: baseURL, apiKey: key, apiKeyHeader: reader.string("OPENAI_API_KEY_HEADER", default: "Authorization"), model: name)
        }
        timeoutSeconds = try reader.integer("MODEL_TIMEOUT_SECONDS", default: 30, range: 1...600)
        attempts = try reader.integer("MODEL_MAX_ATTEMPTS", default: 3, range: 1...10)
        maxRetryWaitSeconds = try reader.integer("MODEL_MAX_RETRY_WAIT_SECONDS", default: 30, range: 0...600)
        budget = ModelBudgetLimits(
            callsPerDay: try reader.integer("MODEL_DAILY_CALL_LIMIT", default: 2_000, range: 0...100_000_000),
            tokensPerDay: try reader.integer("MODEL_DAILY_TOKEN_LIMIT", default: 4_000_000, range: 0...Int(Int32.max))
        )
        var sla = SLAPolicy.defaults
        for priority in Priority.allCases {
            sla.seconds[priority] = try reader.integer(
                "SLA_\(priority.rawValue)_SECONDS",
                default: SLAPolicy.defaults.seconds(for: priority),
                range: 60...2_592_000
            )
        }
        slaPolicy = sla
        linkRecurrences = try reader.boolean("RECURRENCE_LINKING", default: true)
        ownership = try Self.ownership(file: reader.optional("OWNERSHIP_FILE"))
        siteRules = try Self.siteRules(file: reader.optional("KNOWLEDGE_BASE_FILE"))
    }
}

extension AnalysisSettings {
    static func ownership(file path: String?) throws(ConfigurationError) -> OwnershipMap {
        guard let path else { return OwnershipMap() }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(variable: "OWNERSHIP_FILE", problem: "cannot read \(path)")
        }
        do {
            return try OwnershipMap.load(data)
        } catch {
            throw ConfigurationError(variable: "OWNERSHIP_FILE", problem: error.description)
        }
    }
}

extension AnalysisSettings {
    /// Reads and checks the operator's rules: a file that is not the
    /// knowledge-base format, or a pattern that is not linear, stops the start.
    public static func siteRules(file path: String?) throws(ConfigurationError) -> KnowledgeBase? {
        guard let path else { return nil }
        do {
            let rules = try KnowledgeBase.site(file: path)
            for rule in rules.rules { _ = try rule.compiledPatterns() }
            return rules
        } catch {
            throw ConfigurationError(variable: "KNOWLEDGE_BASE_FILE", problem: error.description)
        }
    }
}

extension VariableReader {
    func boolean(_ name: String, default defaultValue: Bool) throws(ConfigurationError) -> Bool {
        guard let text = optional(name) else { return defaultValue }
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw ConfigurationError(variable: name, problem: "expected true or false, got \"\(text)\"")
        }
    }
}
