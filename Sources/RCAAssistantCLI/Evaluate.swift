import ArgumentParser
import Foundation
import RCAAnalysis

/// `rca-assistant evaluate`: measures the rules engine on a labelled corpus
/// (ours under Tests/Evaluation, or an operator's own history) and can fail
/// a build when accuracy drops below a floor.
struct Evaluate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the rules engine on labelled failure texts (JSON lines with text, category, alt, error_type)."
    )

    @Argument(help: "The labelled corpus, one JSON object per line.")
    var file: String

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Show at most this many misses (all by default).")
    var maxMisses: Int?

    @Option(help: "Exit with status 2 when category accuracy is below this percentage.")
    var requireCategory: Double?

    @Option(help: "Exit with status 2 when error-type accuracy is below this percentage.")
    var requireErrorType: Double?

    func run() async throws {
        let report = try await CommandFailure.run { () throws -> EvaluationReport in
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CommandError(message: "cannot read \(file)")
            }
            let corpus: [LabelledFailure]
            do {
                corpus = try EvaluationCorpus.parse(data)
            } catch {
                throw CommandError(message: "\(file): \(error)")
            }
            guard !corpus.isEmpty else { throw CommandError(message: "\(file) holds no labelled texts") }
            return Evaluation(engine: try configuredRulesEngine()).run(corpus)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            Console.print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            Console.print(report.text(corpus: file, maxMisses: maxMisses))
        }
        var shortfalls: [String] = []
        if let floor = requireCategory, report.categoryAccuracy * 100 < floor {
            shortfalls.append(String(format: "category accuracy %.1f %% is below %.1f %%", report.categoryAccuracy * 100, floor))
        }
        if let floor = requireErrorType, report.errorTypeAccuracy * 100 < floor {
            shortfalls.append(String(format: "error-type accuracy %.1f %% is below %.1f %%", report.errorTypeAccuracy * 100, floor))
        }
        if !shortfalls.isEmpty {
            FileHandle.standardError.write(Data("rca-assistant: \(shortfalls.joined(separator: "; "))\n".utf8))
            throw ExitCode(2)
        }
    }
}
