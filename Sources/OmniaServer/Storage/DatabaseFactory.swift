import Foundation
import Logging

/// Opens the store a `DatabaseURL` names and brings its schema up to date.
public enum DatabaseFactory {
    public static func open(_ url: DatabaseURL, postgresPoolSize: Int = 20, postgresSearchPath: String? = nil, logger: Logger) async throws -> any Database {
        let database: any Database
        switch url {
        case .sqlite(let path):
            database = try await SQLiteStore.open(path: path, logger: logger)
        case .postgres(let text):
            database = try PostgresStore(url: text, maximumConnections: postgresPoolSize, searchPath: postgresSearchPath, logger: logger)
        }
        do {
            try await Migrator(database: database, logger: logger).migrate()
        } catch {
            await database.shutdown()
            throw DatabaseOpenError(database: url.description, reason: describe(error))
        }
        return database
    }

    /// Opens the store, runs `body`, and closes the store whatever happens.
    public static func with<T: Sendable>(_ url: DatabaseURL, logger: Logger, _ body: (any Database) async throws -> T) async throws -> T {
        let database = try await open(url, logger: logger)
        do {
            let result = try await body(database)
            await database.shutdown()
            return result
        } catch {
            await database.shutdown()
            throw error
        }
    }

    /// One line for a driver error, without the driver's debug dump.
    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("connectionRefused") || text.contains("Connection refused") || text.contains("connect(descriptor")
            || text.contains("CircuitBreaker") || text.contains("connectionCreation") {
            return "connection refused (is the server running and the URL right?)"
        }
        if text.contains("PSQLError") {
            let reflected = String(reflecting: error)
            if let range = reflected.range(of: "message: ") {
                return String(reflected[range.upperBound...].prefix(200).split(separator: ",").first ?? "")
            }
            return "PostgreSQL error (\(text.prefix(120)))"
        }
        return String(text.prefix(300))
    }
}
