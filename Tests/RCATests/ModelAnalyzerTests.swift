import Foundation
import HTTPTypes
@testable import RCAAnalysis
import RCACore
import RCASources
import RCATesting
import Testing

@Suite("Model engines against local Gemini and OpenAI servers", .serialized)
struct ModelAnalyzerTests {
    typealias Provider = ModelFake.Provider

    static func analyzer(
        _ fake: ModelFake,
        budget: any ModelBudget = InMemoryModelBudget(limits: .init(callsPerDay: 0, tokensPerDay: 0)),
        attempts: Int = 3,
        maxWait: Duration = .seconds(5),
        timeout: Duration = .seconds(5)
    ) throws -> ModelAnalyzer {
        ModelAnalyzer(
            model: fake.model(timeout: timeout),
            rules: try RulesEngine(),
            budget: budget,
            retry: .init(attempts: attempts, baseDelay: .milliseconds(50), maxWait: maxWait)
        )
    }

    static func withFake<T>(_ provider: Provider, _ body: (ModelFake) async throws -> T) async throws -> T {
        let fake = try await ModelFake.start(provider)
        do {
            let result = try await body(fake)
            await fake.server.stop()
            return result
        } catch {
            await fake.server.stop()
            throw error
        }
    }

    @Test("a valid answer is decoded with its model, tokens and evidence; the request carries the schema and the key", arguments: Provider.allCases)
    func success(provider: Provider) async throws {
        try await Self.withFake(provider) { fake in
            fake.enqueue(try fake.reply(SampleFailure.answer(), tokens: 420))
            let analysis = try await Self.analyzer(fake).analyze(SampleFailure.input)
            #expect(analysis.engine.rawValue == provider.rawValue)
            #expect(analysis.fallbackReason == nil)
            #expect(analysis.category == .missingInputData)
            #expect(analysis.errorType == "UserErrorSourceBlobNotExists")
            #expect(analysis.tokensUsed == 420)
            #expect(analysis.model == (provider == .gemini ? "gemini-2.5-flash" : "gpt-4o-mini"))
            #expect(analysis.evidence == ["The required Blob is missing", "BlobPrefix: sales/2025/11/29.csv"])
            let request = try #require(fake.requests.first)
            let body = try JSONValue.parse(Data(request.body.utf8))
            switch provider {
            case .gemini:
                #expect(request.headers[HTTPField.Name("x-goog-api-key")!] == ModelFake.apiKey)
                #expect(body["generationConfig"]["responseMimeType"].string == "application/json")
                #expect(body["generationConfig"]["responseSchema"]["properties"]["category"]["enum"].array?.count == FailureCategory.allCases.count)
                #expect(body["systemInstruction"]["parts"][0]["text"].string?.contains("Azure Data Factory") == true)
            case .openai:
                #expect(request.authorization == "Bearer \(ModelFake.apiKey)")
                #expect(body["response_format"]["type"].string == "json_schema")
                #expect(body["response_format"]["json_schema"]["strict"].bool == true)
                #expect(body["response_format"]["json_schema"]["schema"]["additionalProperties"].bool == false)
                #expect(body["messages"][0]["role"].string == "system")
            }
            #expect(request.body.contains("UserErrorSourceBlobNotExists"))
        }
    }

    @Test("no secret or e-mail address of the input reaches the request body", arguments: Provider.allCases)
    func redaction(provider: Provider) async throws {
        try await Self.withFake(provider) { fake in
            fake.enqueue(try fake.reply(SampleFailure.answer()))
            _ = try await Self.analyzer(fake).analyze(SampleFailure.input)
            let body = try #require(fake.requests.first?.body)
            for secret in SampleFailure.secrets {
                #expect(!body.contains(secret), "\(secret) was sent to the model")
            }
            #expect(body.contains("[REDACTED]"))
            #expect(body.contains("[EMAIL]"))
        }
    }

    @Test("invalid JSON is repaired once: the second request shows the rejected answer and why", arguments: Provider.allCases)
    func repairedJSON(provider: Provider) async throws {
        try await Self.withFake(provider) { fake in
            fake.enqueue(try fake.reply(#"{"root_cause": "The blob is missing", "error_type": "#, tokens: 100))
            fake.enqueue(try fake.reply(SampleFailure.answer(), tokens: 200))
            let analysis = try await Self.analyzer(fake).analyze(SampleFailure.input)
            #expect(fake.calls == 2)
            #expect(analysis.fallbackReason == nil)
            #expect(analysis.tokensUsed == 300)
            let second = try #require(fake.requests.last?.body)
            #expect(second.contains("That answer was rejected"))
            #expect(second.contains("not valid JSON"))
        }
    }

    @Test("a category outside the schema, twice, falls back to the rules engine and says why", arguments: Provider.allCases)
    func enumOutsideSchema(provider: Provider) async throws {
        try await Self.withFake(provider) { fake in
            fake.always(try fake.reply(SampleFailure.answer(category: "disk_full")))
            let analysis = try await Self.analyzer(fake).analyze(SampleFailure.input)
            #expect(fake.calls == 2)
            #expect(analysis.engine == .rules)
            #expect(analysis.category == .missingInputData)
            let reason = try #require(analysis.fallbackReason)
            #expect(reason.contains("\"disk_full\" is not an allowed value of category"))
        }
    }

    @Test("evidence not in the input is sent back once; if it stays, the result is kept at Low confidence", arguments: Provider.allCases)
    func evidenceNotInInput(provider: Provider) async throws {
        try await Self.withFake(provider) { fake in
            fake.always(try fake.reply(SampleFailure.answer(evidence: ["the storage account was deleted"])))
            let analysis = try await Self.analyzer(fake).analyze(SampleFailure.input)
            #expect(fake.calls == 2)
            #expect(fake.requests.last?.body.contains("does not occur verbatim") == true)
            let checked = try analysis.validated(against: SampleFailure.text)
            #expect(checked.engine.rawValue == provider.rawValue)
            #expect(checked.confidence == .low)
            #expect(checked.evidence.isEmpty)
            #expect(checked.rootCause.contains("Low confidence"))
        }
    }

    @Test("429 with a short retry delay is retried after that delay", arguments: Provider.allCases)
    func rateLimitedThenSuccess(provider: Provider) async throws {
        try await Self.withFake(provider) { fake in
            fake.enqueue(try fake.rateLimited(seconds: 1))
            fake.enqueue(try fake.reply(SampleFailure.answer()))
            let start = ContinuousClock.now
            let analysis = try await Self.analyzer(fake).analyze(SampleFailure.input)
            #expect(ContinuousClock.now - start >= .milliseconds(950))
            #expect(fake.calls == 2)
            #expect(analysis.fallbackReason == nil)
        }
    }

    @Test("429 asking for a longer wait than allowed falls back at once (Gemini's 26 s RetryInfo)")
    func rateLimitedTooLong() async throws {
        try await Self.withFake(.gemini) { fake in
            fake.always(.init(.tooManyRequests, body: String(decoding: try Fixture.data("gemini/error-429-resource-exhausted.quota-details.json"), as: UTF8.self)))
            let analysis = try await Self.analyzer(fake, maxWait: .seconds(2)).analyze(SampleFailure.input)
            #expect(fake.calls == 1)
            #expect(analysis.engine == .rules)
            let reason = try #require(analysis.fallbackReason)
            #expect(reason.contains("26.0 seconds"))
            #expect(reason.contains("You exceeded your current quota"))
        }
    }

    @Test("503 is retried; a provider that stays down gives the rules engine's result after the last try", arguments: Provider.allCases)
    func unavailable(provider: Provider) async throws {
        try await Self.withFake(provider) { fake in
            fake.enqueue(try fake.overloaded())
            fake.enqueue(try fake.reply(SampleFailure.answer()))
            let recovered = try await Self.analyzer(fake).analyze(SampleFailure.input)
            #expect(recovered.fallbackReason == nil)
            #expect(fake.calls == 2)

            fake.always(try fake.overloaded())
            let down = try await Self.analyzer(fake, attempts: 3).analyze(SampleFailure.input)
            #expect(fake.calls == 5)
            #expect(down.engine == .rules)
            #expect(down.fallbackReason?.contains("503") == true)
        }
    }

    @Test("a model that does not answer in time falls back", arguments: Provider.allCases)
    func timeout(provider: Provider) async throws {
        try await Self.withFake(provider) { fake in
            var slow = try fake.reply(SampleFailure.answer())
            slow.delay = .seconds(3)
            fake.always(slow)
            let analysis = try await Self.analyzer(fake, attempts: 1, timeout: .milliseconds(500)).analyze(SampleFailure.input)
            #expect(analysis.engine == .rules)
            #expect(analysis.fallbackReason?.contains("did not answer in time") == true)
        }
    }

    @Test("a refusal falls back without retrying", arguments: Provider.allCases)
    func refusal(provider: Provider) async throws {
        try await Self.withFake(provider) { fake in
            fake.always(try fake.refusal())
            let analysis = try await Self.analyzer(fake).analyze(SampleFailure.input)
            #expect(fake.calls == 1)
            #expect(analysis.engine == .rules)
            #expect(analysis.fallbackReason?.contains("refused") == true)
        }
    }

    @Test("an answer cut off at the token limit falls back", arguments: Provider.allCases)
    func truncated(provider: Provider) async throws {
        try await Self.withFake(provider) { fake in
            fake.always(try fake.reply(#"{"root_cause": "The requ"#, finish: provider == .gemini ? "MAX_TOKENS" : "length"))
            let analysis = try await Self.analyzer(fake).analyze(SampleFailure.input)
            #expect(analysis.engine == .rules)
            #expect(analysis.fallbackReason?.contains("cut off") == true)
        }
    }

    @Test("once the daily budget is spent, the rules engine answers without a call", arguments: Provider.allCases)
    func budgetExhausted(provider: Provider) async throws {
        try await Self.withFake(provider) { fake in
            fake.always(try fake.reply(SampleFailure.answer(), tokens: 500))
            let budget = InMemoryModelBudget(limits: .init(callsPerDay: 0, tokensPerDay: 900))
            let analyzer = try Self.analyzer(fake, budget: budget)
            #expect(try await analyzer.analyze(SampleFailure.input).fallbackReason == nil)
            #expect(try await analyzer.analyze(SampleFailure.input).fallbackReason == nil)
            let third = try await analyzer.analyze(SampleFailure.input)
            #expect(fake.calls == 2)
            #expect(third.engine == .rules)
            #expect(third.fallbackReason == "the daily model budget of 900 tokens is spent")
        }
    }

    @Test("a wrong API key is not retried and the reason names the status, not the key", arguments: Provider.allCases)
    func unauthorized(provider: Provider) async throws {
        try await Self.withFake(provider) { fake in
            fake.always(.init(.unauthorized, body: #"{"error":{"message":"Incorrect API key provided: \#(ModelFake.apiKey).","type":"invalid_request_error","code":"invalid_api_key"}}"#))
            let analysis = try await Self.analyzer(fake).analyze(SampleFailure.input)
            #expect(fake.calls == 1)
            let reason = try #require(analysis.fallbackReason)
            #expect(reason.contains("401"))
            #expect(!reason.contains(ModelFake.apiKey))
        }
    }
}

@Suite("Redaction")
struct RedactorTests {
    @Test("secrets and addresses are replaced, the error's meaning is kept")
    func redacts() {
        let redacted = Redactor.redact(SampleFailure.text)
        for secret in SampleFailure.secrets {
            #expect(!redacted.contains(secret), "\(secret) survived")
        }
        #expect(redacted.contains("The required Blob is missing"))
        #expect(redacted.contains("BlobPrefix: sales/2025/11/29.csv"))
        #expect(redacted.contains("AccountName=salesdata"))
    }

    @Test(
        "each kind of secret",
        arguments: [
            ("jdbc:postgresql://etl:hunter22@db.internal:5432/sales", "hunter22"),
            (#"{"client_secret": "abc.def~ghi"}"#, "abc.def~ghi"),
            ("api_key=sk-proj-abcdefghijklmnopqrstuvwx", "sk-proj-abcdefghijklmnopqrstuvwx"),
            ("x-goog-api-key: AIzaSyA1234567890abcdefghijklmnopqrstuv", "AIzaSyA1234567890abcdefghijklmnopqrstuv"),
            ("SharedAccessKey=q1w2e3r4t5y6u7i8o9p0==", "q1w2e3r4t5y6u7i8o9p0=="),
            ("slack xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij"),
            ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEA"),
        ]
    )
    func kinds(text: String, secret: String) {
        #expect(!Redactor.redact(text).contains(secret))
    }

    @Test("prose about tokens is left alone")
    func prose() {
        let text = "Invalid access token: the token has expired. Renew it in the linked service."
        #expect(Redactor.redact(text) == text)
    }
}

@Suite("A model's answer checked against the rules engine")
struct ModelAnswerCheckTests {
    static func answer(_ category: FailureCategory, confidence: Confidence) -> RootCauseAnalysis {
        RootCauseAnalysis(
            rootCause: "r", errorType: "E", affectedEntity: "a", severity: .high, confidence: confidence, recommendations: ["x"],
            autoHealPossible: false, category: category, evidence: [], engine: .gemini, model: "gemini-2.5-flash"
        )
    }

    @Test("a model that agrees, or overrules an unsure rules engine, keeps its confidence and is named as what decided")
    func agreement() throws {
        let sure = try RulesEngine().analyzeNow(AnalysisInput(source: .databricks, errorText: "ORA-12541: TNS:no listener", resource: "r"))
        #expect(sure.category == .networkConnectivity && sure.confidence == .high)
        let agreeing = ModelAnalyzer.checked(Self.answer(.networkConnectivity, confidence: .veryHigh), against: sure)
        #expect(agreeing.confidence == .veryHigh)
        #expect(agreeing.decidedBy == "model gemini-2.5-flash")

        let unsure = try RulesEngine().analyzeNow(AnalysisInput(source: .databricks, errorText: "the nightly load stopped", resource: "r"))
        #expect(unsure.confidence == .low)
        #expect(ModelAnalyzer.checked(Self.answer(.timeout, confidence: .high), against: unsure).confidence == .high)
    }

    @Test("a model that contradicts a sure rules engine keeps its answer at Medium confidence, and the disagreement is recorded")
    func disagreement() throws {
        let sure = try RulesEngine().analyzeNow(AnalysisInput(source: .databricks, errorText: "ORA-12541: TNS:no listener", resource: "r"))
        let contradicting = ModelAnalyzer.checked(Self.answer(.permissionDenied, confidence: .veryHigh), against: sure)
        #expect(contradicting.category == .permissionDenied)
        #expect(contradicting.confidence == .medium)
        #expect(contradicting.decidedBy == "model gemini-2.5-flash, against the rules engine's network_connectivity (code ORA-12541)")
    }

    @Test("a model that cannot tell leaves a sure rules engine's answer in place, and says so")
    func modelCannotTell() throws {
        let sure = try RulesEngine().analyzeNow(AnalysisInput(source: .databricks, errorText: "ORA-12541: TNS:no listener", resource: "r"))
        var unknown = Self.answer(.unknown, confidence: .medium)
        unknown.tokensUsed = 321
        let kept = ModelAnalyzer.checked(unknown, against: sure)
        #expect(kept.category == .networkConnectivity && kept.engine == .rules && kept.confidence == sure.confidence)
        #expect(kept.tokensUsed == 321, "the model's cost is still counted")
        #expect(kept.decidedBy == "code ORA-12541; model gemini-2.5-flash could not tell")

        let unsure = try RulesEngine().analyzeNow(AnalysisInput(source: .databricks, errorText: "the nightly load stopped", resource: "r"))
        #expect(ModelAnalyzer.checked(unknown, against: unsure).category == .unknown, "an unsure rules engine does not overrule the model")
    }
}
