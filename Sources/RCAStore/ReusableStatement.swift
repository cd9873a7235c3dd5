import SQLKit

/// A statement whose text stays the same from one run to the next (only its
/// bound values change), run for every alert: claiming and finishing jobs,
/// reading and updating a ticket, writing its audit lines. PostgreSQL parses
/// and plans every unnamed statement afresh, which cost about as much of its
/// CPU as running them (`pg_stat_statements`, BENCHMARKS.md); a statement
/// wrapped in this is prepared once per connection and from then on only
/// bound and run (`PostgresStatementCache`). SQLite runs it like any other.
///
/// Only statements of fixed shape belong here: each distinct text stays
/// prepared on every connection for the connection's life.
struct ReusableStatement: SQLExpression {
    /// The most rows a multi-row statement may list and still be reusable (`multiRow`).
    static let maximumRows = 8

    let statement: SQLQueryString

    func serialize(to serializer: inout SQLSerializer) {
        statement.serialize(to: &serializer)
    }
}

/// Fetches the rows of a `ReusableStatement`, as `SQLRawBuilder` does for a raw one.
public final class ReusableStatementBuilder: SQLQueryBuilder, SQLQueryFetcher {
    public let query: any SQLExpression
    public let database: any SQLDatabase

    init(_ statement: SQLQueryString, on database: any SQLDatabase) {
        self.query = ReusableStatement(statement: statement)
        self.database = database
    }
}

extension SQLDatabase {
    /// Like `raw(_:)`, for a statement that runs often with the same text:
    /// on PostgreSQL it is prepared once per connection.
    public func reusable(_ statement: SQLQueryString) -> ReusableStatementBuilder {
        ReusableStatementBuilder(statement, on: self)
    }

    /// A statement with a list of `rowCount` rows (a multi-row `VALUES`):
    /// reusable up to `ReusableStatement.maximumRows` rows, raw beyond. At a
    /// steady rate the few small counts recur all the time, while every
    /// larger count would stay prepared on each connection for one burst's sake.
    func multiRow(_ statement: SQLQueryString, rowCount: Int) -> any SQLQueryFetcher {
        rowCount <= ReusableStatement.maximumRows ? reusable(statement) : raw(statement)
    }
}
