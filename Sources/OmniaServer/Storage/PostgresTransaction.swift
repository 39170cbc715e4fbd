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
/// row another one inserts): PostgreSQL runs the parts of one statement against one snapshot.
/// Held writes with more bound values than one statement may carry (a bulk import's chunk) go out
/// as several statements, after a BEGIN.
final class PostgresTransaction: SQLDatabase, Sendable {
    private struct State {
        var begun = false
        var held: [HeldWrite] = []
    }

    private struct HeldWrite {
        let query: SQLQueryString
        let ifDuplicate: DuplicateRule?
        let bindCount: Int
    }

    /// PostgreSQL's wire protocol counts a statement's parameters in 16 bits.
    static let maximumBindsPerStatement = Int(UInt16.max)

    private let base: any SQLDatabase
    private let state = Mutex(State())

    init(base: any SQLDatabase) {
        self.base = base
    }

    var logger: Logger { base.logger }
    var eventLoop: any EventLoop { base.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { base.version }
    var dialect: any SQLDialect { base.dialect }
    var queryLogLevel: Logger.Level? { base.queryLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        eventLoop.makeFutureWithTask { try await self.execute(sql: query, onRow) }
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
        for statement in Self.statements(held) { try await send(statement) }
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
        var serializer = SQLSerializer(database: base)
        query.serialize(to: &serializer)
        let write = HeldWrite(query: query, ifDuplicate: ifDuplicate, bindCount: serializer.binds.count)
        state.withLock { $0.held.append(write) }
    }

    /// Sends the held writes, then COMMIT if BEGIN was sent (a lone statement commits by itself;
    /// writes too many for one statement are sent after a BEGIN).
    func commit() async throws {
        let (begun, held) = state.withLock { state in
            defer { state.held.removeAll() }
            return (state.begun, state.held)
        }
        let statements = Self.statements(held)
        let mustBegin = !begun && statements.count > 1
        if mustBegin {
            try await base.raw("BEGIN").run()
            state.withLock { $0.begun = true }
        }
        for statement in statements { try await send(statement) }
        if begun || mustBegin { try await base.raw("COMMIT").run() }
    }

    /// Held writes in order, grouped into as few statements as the limit on bound values allows.
    private static func statements(_ held: [HeldWrite]) -> [[HeldWrite]] {
        var statements: [[HeldWrite]] = []
        var binds = 0
        for write in held {
            if statements.isEmpty || binds + write.bindCount > maximumBindsPerStatement {
                statements.append([])
                binds = 0
            }
            statements[statements.count - 1].append(write)
            binds += write.bindCount
        }
        return statements
    }

    /// Held writes as one statement: `WITH w0 AS (…), w1 AS (…) last`.
    private func send(_ held: [HeldWrite]) async throws {
        guard let last = held.last else { return }
        var statement: SQLQueryString = ""
        for (index, write) in held.dropLast().enumerated() {
            statement += index == 0 ? "WITH " : ", "
            statement += "\(unsafeRaw: "w\(index)") AS (\(write.query))"
        }
        statement += held.count > 1 ? " \(last.query)" : last.query
        do {
            try await base.raw(statement).run()
        } catch {
            throw Self.mapped(error, rules: held.compactMap(\.ifDuplicate))
        }
    }

    func rollback() async {
        if state.withLock({ $0.begun }) { try? await base.raw("ROLLBACK").run() }
    }

    /// A unique violation on a table a held insert named becomes that insert's error.
    private static func mapped(_ error: any Error, rules: [DuplicateRule]) -> any Error {
        guard isUniqueViolation(error), let table = (error as? PSQLError)?.serverInfo?[.tableName],
            let rule = rules.first(where: { $0.table == table })
        else { return error }
        return rule.error
    }
}
