import ArgumentParser
import Foundation
import RCAServer
import RCAStore

/// `rca-assistant rules`: the site knowledge that responders' corrections built up.
struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Work with site rules (KNOWLEDGE_BASE_FILE).",
        subcommands: [Export.self]
    )

    /// `rca-assistant rules export`: every stored correction as a site rule.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print responders' corrections as site rules, in the KNOWLEDGE_BASE_FILE format.",
            discussion: "Review the rules, then merge them into the file KNOWLEDGE_BASE_FILE names: they decide the category of every text they match."
        )

        @Option(name: .shortAndLong, help: "Write the rules to this file instead of standard output.")
        var output: String?

        func run() async throws {
            try await CommandFailure.run {
                let corrections = try await withMigratedDatabase { database in
                    try await CorrectionStore(database: database).all()
                }
                let export = try CorrectionRules.export(corrections)
                for correction in export.skipped {
                    FileHandle.standardError.write(Data(
                        "rca-assistant: skipped the correction of ticket \(correction.ticketID): it cites no phrase of the error text to match (correct it again with evidence)\n".utf8
                    ))
                }
                if let output {
                    guard FileManager.default.createFile(atPath: output, contents: export.document) else {
                        throw CommandError(message: "cannot write \(output)")
                    }
                    Console.print("Wrote \(export.ruleCount) rule(s) to \(output).")
                } else {
                    FileHandle.standardOutput.write(export.document)
                }
            }
        }
    }
}
