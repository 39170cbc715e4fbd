import PostgresNIO

/// Whether a driver error is a unique-constraint violation, in either dialect — the race a
/// check-then-insert can lose on PostgreSQL, turned into a 409 by the caller.
func isUniqueViolation(_ error: any Error) -> Bool {
    if let error = error as? SQLiteStatementError {
        return error.isUniqueViolation
    }
    if let error = error as? PSQLError {
        return error.serverInfo?[.sqlState] == "23505"
    }
    return false
}
