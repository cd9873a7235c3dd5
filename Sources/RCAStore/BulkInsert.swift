import SQLKit

/// Multi-row statements, cut into chunks that stay within both databases'
/// limits on bound parameters.
enum BulkInsert {
    static let rowsPerStatement = 400

    /// Runs `prefix VALUES row, row, … suffix` for every chunk of rows and
    /// returns the rows of all `RETURNING` clauses.
    static func run(
        _ prefix: SQLQueryString,
        rows: [SQLQueryString],
        suffix: SQLQueryString = "",
        on sql: any SQLDatabase
    ) async throws -> [any SQLRow] {
        var returned: [any SQLRow] = []
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + rowsPerStatement, rows.count)]
            let query: SQLQueryString = prefix + " VALUES " + chunk.joined(separator: ", ") + " " + suffix
            returned += try await sql.multiRow(query, rowCount: chunk.count).all()
            start += rowsPerStatement
        }
        return returned
    }
}
