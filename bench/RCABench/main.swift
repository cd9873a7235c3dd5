import Foundation
import RCAAnalysis
import RCACore

// Times the rules engine alone: every failure text of the given JSON array,
// analyzed and validated as the worker does, 1,000 analyses per round, 15
// rounds; prints the median time per analysis and the spread of the rounds.

let arguments = CommandLine.arguments
guard arguments.count == 2, let data = FileManager.default.contents(atPath: arguments[1]),
      let texts = try? JSONDecoder().decode([String].self, from: data), !texts.isEmpty
else {
    FileHandle.standardError.write(Data("usage: rca-bench FAILURES.json (a JSON array of error texts)\n".utf8))
    exit(2)
}
let engine = try RulesEngine()
let inputs = texts.map { AnalysisInput(source: .generic, errorText: $0, resource: "bench_pipeline") }
let perRound = 1_000
/// One round's duration, and a sum of the results so that the work cannot be optimized away.
func round() throws -> (Duration, Int) {
    var checksum = 0
    let elapsed = try ContinuousClock().measure {
        for index in 0..<perRound {
            let input = inputs[index % inputs.count]
            checksum &+= try engine.analyzeNow(input).validated(against: input.errorText).rootCause.utf8.count
        }
    }
    return (elapsed, checksum)
}

let checksum = try round().1
let rounds = try (0..<15).map { _ in try round().0 }.sorted()
func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 / Double(perRound) + Double(duration.components.attoseconds) / 1e12 / Double(perRound)
}
let median = microseconds(rounds[rounds.count / 2])
print(String(
    format: "rules_engine texts=%d analyses_per_round=%d rounds=%d median_per_analysis_us=%.1f fastest_round_us=%.1f slowest_round_us=%.1f (checksum %d)",
    inputs.count, perRound, rounds.count, median, microseconds(rounds.first!), microseconds(rounds.last!), checksum
))
