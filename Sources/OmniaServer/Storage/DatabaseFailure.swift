import PostgresNIO

/// What an operator's tool should print for a database error. PostgresNIO's errors describe
/// themselves generically (so that a server log never shows bound values); a command run by the
/// operator can show PostgreSQL's own message and SQLSTATE, which carry no bound values.
public func databaseFailureDescription(_ error: any Error) -> String? {
    guard let error = error as? PSQLError else { return nil }
    guard let info = error.serverInfo, let message = info[.message] else { return "PostgreSQL: \(error.code)" }
    return "PostgreSQL: \(message)" + (info[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
}
