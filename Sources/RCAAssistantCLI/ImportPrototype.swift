import ArgumentParser
import Foundation
import RCACore
import RCAServer
import RCAStore

/// `rca-assistant import-prototype FILE`: brings a Python prototype's
/// tickets, audit trail and accounts into the configured database.
struct ImportPrototype: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-prototype",
        abstract: "Import the Python prototype's tickets, audit trail and users (from its SQLite file, or CSV exports with --from-csv).",
        discussion: "Safe to run again: rows already imported are skipped. See docs/migrating.md."
    )

    @Argument(help: "The prototype's SQLite database file (rca.db).")
    var file: String?

    @Option(name: .customLong("from-csv"), help: "A folder holding tickets.csv, audit_trail.csv and users.csv exported from Azure SQL.")
    var csvDirectory: String?

    @Option(help: "Role of the imported accounts: viewer, responder or admin.")
    var role: UserRole = .responder

    func validate() throws {
        guard (file == nil) != (csvDirectory == nil) else {
            throw ValidationError("give either the prototype's SQLite file or --from-csv DIR, not both or neither")
        }
    }

    func run() async throws {
        try await CommandFailure.run {
            let logger = commandLogger(try ServerConfiguration.current())
            let tables: PrototypeTables
            do throws(PrototypeImportError) {
                if let csvDirectory {
                    tables = try PrototypeTables.read(csvDirectory: csvDirectory)
                } else {
                    tables = try await PrototypeTables.read(sqliteFile: file ?? "", logger: logger)
                }
            } catch {
                throw CommandError(message: error.description)
            }
            let report = try await withMigratedDatabase { database in
                do {
                    return try await PrototypeImporter(database: database).run(tables, role: role)
                } catch {
                    throw CommandError(
                        message: "the import stopped: \(Database.describe(error)); every ticket imported so far is complete, and running the command again imports the rest"
                    )
                }
            }
            for line in report.summaryLines { Console.print(line) }
        }
    }
}
