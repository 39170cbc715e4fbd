import Foundation
import SQLKit

/// The two SQL dialects Omnia runs on. Dialect differences are switched on this, one place per capability.
public enum SQLDialectKind: String, Sendable {
    case sqlite
    case postgres
}

/// Omnia's view of its store: reads on any connection, writes as one transaction on one connection.
/// The same capability code runs on SQLite and PostgreSQL through this protocol.
public protocol Database: Sendable {
    var dialect: SQLDialectKind { get }

    /// Runs `body` on a connection outside an explicit transaction (reads).
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Runs writes that need no transaction around them: each statement commits on its own, which is
    /// enough when one statement does the whole write atomically (an `INSERT … ON CONFLICT`, a
    /// compare-and-set `UPDATE`). On PostgreSQL this saves the BEGIN and COMMIT round trips.
    func autocommit<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Runs reads that must agree with one another (an audit summing many pages) in one read-only
    /// snapshot. Writers go on meanwhile; on SQLite, though, a WAL restart waits for the snapshot
    /// to end, so keep it to operator tools, not request paths.
    func snapshot<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Runs `body` inside one transaction: committed if it returns, rolled back if it throws.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Connections currently lent out, and the most there can be — reported in `/metrics`.
    var poolStatistics: PoolStatistics { get }

    /// Closes every connection. No call may follow.
    func shutdown() async
}

extension SQLDatabase {
    /// Runs `body` between `begin` and COMMIT on this one connection, rolling back if it throws.
    func inTransaction<T: Sendable>(begin: SQLQueryString = "BEGIN", _ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await raw(begin).run()
        do {
            let result = try await body(self)
            try await raw("COMMIT").run()
            return result
        } catch {
            try? await raw("ROLLBACK").run()
            throw error
        }
    }
}

/// A snapshot of a connection pool for `/metrics`.
public struct PoolStatistics: Sendable {
    public var inUse: Int
    public var capacity: Int
}

/// A database URL as given by `--database` or `OMNIA_DATABASE_URL`.
public enum DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    /// `sqlite:PATH` (relative or absolute) or `sqlite::memory:`.
    case sqlite(path: String)
    /// `postgres://user:password@host:port/database` (or `postgresql://`).
    case postgres(url: String)

    public static let defaultURL = DatabaseURL.sqlite(path: "./omnia.sqlite")

    public init(parsing text: String) throws(ConfigurationError) {
        if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty else {
                throw ConfigurationError(setting: "database", reason: "sqlite: needs a file path, e.g. sqlite:./omnia.sqlite")
            }
            self = .sqlite(path: path)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            guard let components = URLComponents(string: text), components.host?.isEmpty == false else {
                throw ConfigurationError(setting: "database", reason: "not a valid postgres:// URL (postgres://user:password@host:5432/database)")
            }
            self = .postgres(url: text)
        } else {
            throw ConfigurationError(setting: "database", reason: "unsupported URL '\(text.prefix(40))'; use sqlite:PATH or postgres://…")
        }
    }

    /// The URL without its password, safe to print and log.
    public var description: String {
        switch self {
        case .sqlite(let path):
            return "sqlite:\(path)"
        case .postgres(let url):
            guard var components = URLComponents(string: url) else { return "postgres://…" }
            if components.password != nil { components.password = "***" }
            return components.string ?? "postgres://…"
        }
    }
}

/// A setting that cannot be used; reported as one line naming the setting.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let setting: String
    public let reason: String

    public init(setting: String, reason: String) {
        self.setting = setting
        self.reason = reason
    }

    public var description: String { "invalid \(setting): \(reason)" }
}
