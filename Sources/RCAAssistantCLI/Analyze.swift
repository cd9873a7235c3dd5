import ArgumentParser
import Foundation
import RCAAnalysis
import RCACore
import RCASources

/// `rca-assistant analyze`: explains an error text or a stored webhook
/// payload offline, with the same engine and validation as the server.
struct Analyze: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain an error text, or the failures in a webhook payload file, with the built-in rules engine."
    )

    @Argument(help: "The error text to explain.")
    var text: String?

    @Option(help: "A webhook payload (JSON) to read the failures from instead.")
    var file: String?

    @Option(help: "Where the error comes from: adf, databricks, azure-monitor, alertmanager or generic.")
    var source: AlertSource = .generic

    @Flag(help: "Print the analysis as JSON.")
    var json = false

    func run() async throws {
        try await CommandFailure.run {
            let engine = try configuredRulesEngine()
            for input in try inputs() {
                let analysis = try engine.analyzeNow(input).validated(against: input.errorText)
                Console.print(json ? try Self.json(analysis) : Self.summary(analysis, input: input))
            }
        }
    }

    private func inputs() throws -> [AnalysisInput] {
        switch (text, file) {
        case (let text?, nil):
            return [AnalysisInput(source: source, errorText: text, resource: "(command line)")]
        case (nil, let path?):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CommandError(message: "cannot read \(path)")
            }
            for parser in SourceRegistry.parsers {
                if case .alerts(let events)? = try? parser.parse(body: data, receivedAt: Date()) {
                    return events.map { AnalysisInput(source: $0.source, errorText: $0.errorMessage, resource: $0.resource, details: $0.details) }
                }
            }
            throw CommandError(message: "\(path) is not a payload any alert endpoint understands")
        default:
            throw CommandError(message: "give either an error text or --file, not both or neither")
        }
    }

    static func json(_ analysis: RootCauseAnalysis) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(analysis), as: UTF8.self)
    }

    static func summary(_ analysis: RootCauseAnalysis, input: AnalysisInput) -> String {
        var lines = [
            "Failure:      \(input.resource)",
            "Root cause:   \(analysis.rootCause)",
            "Category:     \(analysis.category.rawValue)    Error type: \(analysis.errorType)",
            "Severity:     \(analysis.severity.rawValue) (\(analysis.priority.rawValue))    Confidence: \(analysis.confidence.rawValue)",
            "Affected:     \(analysis.affectedEntity)",
        ]
        lines += analysis.evidence.map { "Evidence:     \"\($0)\"" }
        lines.append("Recommendations:")
        lines += analysis.recommendations.enumerated().map { "  \($0.offset + 1). \($0.element)" }
        lines.append("Auto-heal possible: \(analysis.autoHealPossible ? "yes" : "no")")
        return lines.joined(separator: "\n")
    }
}

extension AlertSource: ExpressibleByArgument {}
