import SQLKit

/// A unique-constraint violation a deferred insert may hit, and the error the caller wants instead.
struct DuplicateRule: Sendable {
    /// The table whose unique index the insert may collide with.
    let table: String
    let error: any Error & Sendable
}

extension SQLDatabase {
    /// Runs a write that the rest of the transaction never reads back — the new row of a create, its
    /// event, its audit entry, the remembered idempotent response. Inside a PostgreSQL transaction it
    /// is held back and sent with the others as one statement at commit (see `PostgresTransaction`);
    /// anywhere else it runs at once. A unique violation on `ifDuplicate.table` becomes its error.
    func runDeferrable(_ query: SQLQueryString, ifDuplicate: DuplicateRule? = nil) async throws {
        if let transaction = self as? PostgresTransaction {
            transaction.hold(query, ifDuplicate: ifDuplicate)
            return
        }
        do {
            try await raw(query).run()
        } catch where ifDuplicate != nil && isUniqueViolation(error) {
            throw ifDuplicate!.error
        }
    }
}

/// A held write that must change exactly `rows` rows (its query ends in `RETURNING`), and the
/// error the caller wants when it does not: a conditional write whose condition the rows no longer met.
struct RowExpectation: Sendable {
    let rows: Int
    let error: any Error & Sendable
}

extension SQLDatabase {
    /// Runs a conditional write as `runDeferrable` does — held to the commit on PostgreSQL — and
    /// fails the transaction with `expectation.error` unless it changed exactly `expectation.rows`
    /// rows. `query` must end in `RETURNING` of something. Held on PostgreSQL, the count is checked
    /// inside the joined statement itself (see `PostgresTransaction`), so a write found short rolls
    /// the whole statement back.
    func runDeferrable(_ query: SQLQueryString, expecting expectation: RowExpectation) async throws {
        if let transaction = self as? PostgresTransaction {
            transaction.hold(query, expecting: expectation)
            return
        }
        guard try await raw(query).all().count == expectation.rows else { throw expectation.error }
    }
}

extension SQLDatabase {
    /// Rows of a read whose answer the caller does not rely on staying true until commit: on
    /// PostgreSQL, before the transaction's first other statement, it runs without opening the
    /// transaction (see `PostgresTransaction.independentRead`); anywhere else it is a plain read.
    func independentRows(_ query: SQLQueryString) async throws -> [any SQLRow] {
        if let transaction = self as? PostgresTransaction { return try await transaction.independentRead(query) }
        return try await raw(query).all()
    }
}
