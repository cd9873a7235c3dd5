import ArgumentParser
import RCAServer

/// `rca-assistant doctor`: checks the database and each configured
/// integration with a call that changes nothing, one line each.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the database and every configured integration; exits 1 when one is wrong.",
        discussion: "Each line says ok, or what is wrong and the variable to fix. Nothing is posted anywhere."
    )

    func run() async throws {
        let problems = try await CommandFailure.run {
            let configuration = try ServerConfiguration.current()
            let findings = await Doctor(configuration: configuration).run(logger: commandLogger(configuration))
            for finding in findings { Console.print(finding.line) }
            return findings.filter { $0.outcome == .problem }.count
        }
        if problems > 0 { throw ExitCode(1) }
    }
}
