import Logging
import PostgresKit
import PostgresNIO
import SQLKit
import Synchronization

/// The scale-out store: a pooled PostgreSQL client shared by every request of this process;
/// several `omnia serve` processes may share one PostgreSQL. The pool runs from `init` until `shutdown`,
/// so the CLI, the server and the tests use it the same way.
public final class PostgresStore: Database {
    public let dialect = SQLDialectKind.postgres
    private let client: PostgresClient
    private let leased = Atomic<Int>(0)
    private let maximumConnections: Int
    private let poolTask: Task<Void, Never>

    /// `searchPath` puts every connection in one schema (tests isolate themselves this way).
    public init(url: String, maximumConnections: Int = 20, searchPath: String? = nil, logger: Logger) throws {
        let configuration: SQLPostgresConfiguration
        do {
            configuration = try SQLPostgresConfiguration(url: url)
        } catch {
            throw ConfigurationError(setting: "database", reason: "not a valid postgres:// URL (\(error))")
        }
        let core = configuration.coreConfiguration
        guard let host = core.host else {
            throw ConfigurationError(setting: "database", reason: "a postgres URL needs a host")
        }
        let tls: PostgresClient.Configuration.TLS =
            switch (core.tls.isEnforced, core.tls.isAllowed, core.tls.sslContext) {
            case (true, _, let context?): .require(context.configuration)
            case (false, true, let context?): .prefer(context.configuration)
            default: .disable
            }
        var clientConfiguration = PostgresClient.Configuration(
            host: host, port: core.port ?? 5432, username: core.username,
            password: core.password, database: core.database, tls: tls
        )
        clientConfiguration.options.maximumConnections = maximumConnections
        clientConfiguration.options.connectTimeout = .seconds(5)
        // No JIT compilation in Omnia's sessions. PostgreSQL compiles any statement whose plan costs
        // over `jit_above_cost` — every report over a tenant's sales — and spent ~170 ms of a 620 ms
        // journey report compiling it (inlining, optimization, emission) to save less than that
        // running it; the reports are many and each runs once.
        var parameters = [("jit", "off")]
        if let searchPath { parameters.append(("search_path", searchPath)) }
        clientConfiguration.options.additionalStartupParameters = parameters
        self.maximumConnections = maximumConnections
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
        self.client = client
        self.poolTask = Task { await client.run() }
    }

    private func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await counted { try await client.withConnection(body) }
    }

    /// Runs `body`, which holds (or waits for) one of the pool's connections, counted in `poolStatistics`.
    private func counted<T>(_ body: () async throws -> T) async throws -> T {
        leased.add(1, ordering: .relaxed)
        defer { leased.subtract(1, ordering: .relaxed) }
        return try await body()
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withConnection { connection in
            try await body(PostgresCellDatabase(base: connection.sql(queryLogLevel: nil), connection: connection))
        }
    }

    public func snapshot<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await read { sql in try await sql.inTransaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { try await body($0) } }
    }

    public func autocommit<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await read(body)
    }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withConnection { connection in
            let transaction = PostgresTransaction(base: PostgresCellDatabase(base: connection.sql(queryLogLevel: nil), connection: connection))
            do {
                let result = try await body(transaction)
                try await transaction.commit()
                return result
            } catch {
                await transaction.rollback()
                throw error
            }
        }
    }

    /// Runs a fixed statement that each connection prepares once: PostgreSQL parses and plans it
    /// on its first use there, not on every call as it does SQLKit's unnamed statements.
    func execute<Statement: PostgresPreparedStatement>(_ statement: Statement) async throws -> [Statement.Row] {
        try await counted {
            var rows: [Statement.Row] = []
            for try await row in try await client.execute(statement) { rows.append(row) }
            return rows
        }
    }

    public var poolStatistics: PoolStatistics {
        PoolStatistics(inUse: leased.load(ordering: .relaxed), capacity: maximumConnections)
    }

    public func shutdown() async {
        poolTask.cancel()
        await poolTask.value
    }
}
