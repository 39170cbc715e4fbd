import Foundation
import HTTPTypes
import Logging
@testable import OmniaServer
import SQLKit
import Testing

/// The databases every API test runs on: SQLite always, PostgreSQL when `OMNIA_TEST_POSTGRES_URL`
/// is set (CI always sets it, and fails when it is missing).
enum TestBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    static let postgresURL = ProcessInfo.processInfo.environment["OMNIA_TEST_POSTGRES_URL"]

    static var available: [TestBackend] {
        postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    var testDescription: String { rawValue }

    static var logger: Logger {
        var logger = Logger(label: "omnia-test")
        logger.logLevel = .critical
        return logger
    }

    /// A fresh, migrated, empty database — a temporary SQLite file or a new PostgreSQL schema —
    /// handed to `body` and removed afterwards.
    func withDatabase<T: Sendable>(_ body: (any Database) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("omnia-test-\(UUID().uuidString).sqlite").path
            defer {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            }
            return try await DatabaseFactory.with(.sqlite(path: path), logger: Self.logger, body)
        case .postgres:
            let url = try #require(Self.postgresURL, "OMNIA_TEST_POSTGRES_URL is not set")
            let schema = "test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20))"
            try await Self.admin(url) { sql in try await sql.raw("CREATE SCHEMA \(unsafeRaw: schema)").run() }
            let dropSchema = { try? await Self.admin(url) { sql in try await sql.raw("DROP SCHEMA \(unsafeRaw: schema) CASCADE").run() } }
            do {
                let database = try await DatabaseFactory.open(.postgres(url: url), postgresPoolSize: 10, postgresSearchPath: schema, logger: Self.logger)
                do {
                    let result = try await body(database)
                    await database.shutdown()
                    await dropSchema()
                    return result
                } catch {
                    await database.shutdown()
                    throw error
                }
            } catch {
                await dropSchema()
                throw error
            }
        }
    }

    /// Runs `body` on a throwaway connection to the test server's default schema.
    static func admin(_ url: String, _ body: @escaping @Sendable (any SQLDatabase) async throws -> Void) async throws {
        let store = try PostgresStore(url: url, maximumConnections: 1, logger: logger)
        do {
            try await store.read(body)
            await store.shutdown()
        } catch {
            await store.shutdown()
            throw error
        }
    }
}

@Suite("Test environment")
struct TestEnvironmentTests {
    @Test("CI runs the PostgreSQL variants of every API test")
    func postgresIsConfiguredInCI() {
        if ProcessInfo.processInfo.environment["CI"] != nil {
            #expect(TestBackend.postgresURL != nil, "CI must export OMNIA_TEST_POSTGRES_URL so PostgreSQL tests run")
        }
    }
}
