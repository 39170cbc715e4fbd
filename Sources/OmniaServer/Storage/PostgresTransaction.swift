import Logging
import NIOCore
import PostgresNIO
import SQLKit
import Synchronization

/// One PostgreSQL transaction on one pooled connection, spending as few round trips as it can.
///
/// Every statement is a network round trip with its own parse and plan, and most mutations end with
/// the same write-only statements (the new row, its event, its audit entry, the idempotent response).
/// Those are held (`runDeferrable`) and sent at commit as one statement of data-modifying CTEs. BEGIN is
/// sent only before the first statement that must run at once; a transaction made only of held writes
/// is a single statement, atomic by itself, so it needs neither BEGIN nor COMMIT.
///
/// Statements keep their order: held writes go out before the next statement that must run at once,
/// so later reads see them. Consecutive held writes must not touch each other's rows (an update of a
/// row another one inserts): PostgreSQL runs the parts of one statement against one snapshot. Within
/// the joined statement PostgreSQL runs the last write first, then the others from last to first
/// (checked on PostgreSQL 15): what decides the order in which a statement takes its row locks.
///
/// A held write may carry a `RowExpectation` (a conditional write that must change so many rows):
/// the joined statement then ends in `SELECT 1 / (CASE WHEN <every count as expected> THEN 1 ELSE 0 END)`,
/// which runs those writes first and divides by zero — failing, and so rolling back, the whole
/// statement — when one changed fewer rows; the error becomes the expectation's.
/// Held writes with more bound values than one statement may carry (a bulk import's chunk) go out
/// as several statements, after a BEGIN.
final class PostgresTransaction: SQLDatabaseWrapper, Sendable {
    private struct State {
        var begun = false
        var held: [HeldWrite] = []
    }

    private struct HeldWrite {
        let query: SQLQueryString
        var ifDuplicate: DuplicateRule? = nil
        var expectation: RowExpectation? = nil
    }

    /// Held writes joined into one statement, serialized once: its text and bound values.
    private struct JoinedWrites: SQLExpression {
        let sql: String
        let binds: [any Encodable & Sendable]
        let rules: [DuplicateRule]
        let expectations: [RowExpectation]

        func serialize(to serializer: inout SQLSerializer) {
            serializer.write(sql)
            serializer.binds += binds
        }
    }

    /// PostgreSQL's wire protocol counts a statement's parameters in 16 bits.
    static let maximumBindsPerStatement = Int(UInt16.max)

    let base: any SQLDatabase
    private let state = Mutex(State())

    init(base: any SQLDatabase) {
        self.base = base
    }

    /// A statement that must run now: BEGIN first if this is the first, and the writes held so far
    /// before it, so it sees them (statements keep their order; only consecutive held writes are joined).
    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        let (mustBegin, held) = state.withLock { state in
            defer {
                state.begun = true
                state.held.removeAll()
            }
            return (!state.begun, state.held)
        }
        if mustBegin { try await base.raw("BEGIN").run() }
        for statement in joined(held) { try await send(statement) }
        try await base.execute(sql: query, onRow)
    }

    /// A read whose answer the transaction does not rely on staying true until it commits (what it
    /// writes on the strength of it is checked again at commit, by a unique index or a conditional
    /// write). Before BEGIN and before any held write it runs on its own, so a transaction made of
    /// such reads and held writes needs neither BEGIN nor COMMIT; later, it is like any statement.
    func independentRead(_ query: SQLQueryString) async throws -> [any SQLRow] {
        let alone = state.withLock { !$0.begun && $0.held.isEmpty }
        guard alone else { return try await raw(query).all() }
        return try await base.raw(query).all()
    }

    func hold(_ query: SQLQueryString, ifDuplicate: DuplicateRule?) {
        state.withLock { $0.held.append(HeldWrite(query: query, ifDuplicate: ifDuplicate)) }
    }

    func hold(_ query: SQLQueryString, expecting expectation: RowExpectation) {
        state.withLock { $0.held.append(HeldWrite(query: query, expectation: expectation)) }
    }

    /// Sends the held writes, then COMMIT if BEGIN was sent (a lone statement commits by itself;
    /// writes too many for one statement are sent after a BEGIN).
    func commit() async throws {
        let (begun, held) = state.withLock { state in
            defer { state.held.removeAll() }
            return (state.begun, state.held)
        }
        let statements = joined(held)
        let mustBegin = !begun && statements.count > 1
        if mustBegin {
            try await base.raw("BEGIN").run()
            state.withLock { $0.begun = true }
        }
        for statement in statements { try await send(statement) }
        if begun || mustBegin { try await base.raw("COMMIT").run() }
    }

    /// Held writes as one statement, `WITH w0 AS (…), w1 AS (…) last` — or, when that would carry
    /// more bound values than a statement may, as several, each joining as many writes in order as fit.
    private func joined(_ held: [HeldWrite]) -> [JoinedWrites] {
        guard !held.isEmpty else { return [] }
        let whole = join(held)
        guard whole.binds.count > Self.maximumBindsPerStatement else { return [whole] }
        var statements: [JoinedWrites] = []
        var group: [HeldWrite] = []
        var groupBinds = 0
        for write in held {
            let binds = join([write]).binds.count
            if !group.isEmpty && groupBinds + binds > Self.maximumBindsPerStatement {
                statements.append(join(group))
                group.removeAll()
                groupBinds = 0
            }
            group.append(write)
            groupBinds += binds
        }
        statements.append(join(group))
        return statements
    }

    private func join(_ held: [HeldWrite]) -> JoinedWrites {
        var statement: SQLQueryString = ""
        let checked = held.contains { $0.expectation != nil }
        // With a count to check every write is a CTE, and the check the statement's own query.
        let ctes = checked ? held[...] : held.dropLast()
        for (index, write) in ctes.enumerated() {
            statement += index == 0 ? "WITH " : ", "
            statement += "\(unsafeRaw: "w\(index)") AS (\(write.query))"
        }
        if checked {
            let conditions = held.enumerated().compactMap { index, write in
                write.expectation.map { "(SELECT count(*) FROM w\(index)) = \($0.rows)" }
            }
            statement += " SELECT 1 / (CASE WHEN \(unsafeRaw: conditions.joined(separator: " AND ")) THEN 1 ELSE 0 END)"
        } else {
            statement += held.count > 1 ? " \(held[held.count - 1].query)" : held[held.count - 1].query
        }
        var serializer = SQLSerializer(database: base)
        statement.serialize(to: &serializer)
        return JoinedWrites(sql: serializer.sql, binds: serializer.binds, rules: held.compactMap(\.ifDuplicate), expectations: held.compactMap(\.expectation))
    }

    private func send(_ statement: JoinedWrites) async throws {
        do {
            try await base.execute(sql: statement) { _ in }
        } catch {
            throw Self.mapped(error, rules: statement.rules, expectations: statement.expectations)
        }
    }

    func rollback() async {
        if state.withLock({ $0.begun }) { try? await base.raw("ROLLBACK").run() }
    }

    /// A unique violation on a table a held insert named becomes that insert's error; the check of
    /// a statement's counts dividing by zero, its first expectation's.
    private static func mapped(_ error: any Error, rules: [DuplicateRule], expectations: [RowExpectation]) -> any Error {
        if let expectation = expectations.first, (error as? PSQLError)?.serverInfo?[.sqlState] == "22012" { return expectation.error }
        guard isUniqueViolation(error), let table = (error as? PSQLError)?.serverInfo?[.tableName],
            let rule = rules.first(where: { $0.table == table })
        else { return error }
        return rule.error
    }
}
