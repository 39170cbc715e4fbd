import Foundation
@testable import OmniaServer
import SQLKit
import Testing

/// Rows read on a reader decode every plain column kind the same on both databases; on PostgreSQL
/// they come from `PostgresCellDatabase`, which decodes plain columns straight from their cells and
/// leaves the rest (a numeric read as a double, a statement with another kind of bound value) to PostgresKit.
@Suite("Database rows")
struct DatabaseRowTests {
    @Test("text, integers, doubles and NULLs decode from a reader's rows; a missing column is an error", arguments: TestBackend.available)
    func plainColumns(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let postgres = app.services.database.dialect == .postgres
            try await app.services.database.read { sql in
                if postgres { #expect(sql is PostgresCellDatabase) }
                let row = try #require(try await sql.raw("""
                    SELECT CAST(\(bind: "abc") AS TEXT) AS t, CAST(7 AS INTEGER) AS i4, CAST(\(bind: Int64(9_000_000_000)) AS BIGINT) AS i8,
                      CAST(1.5 AS DOUBLE PRECISION) AS d, CAST(NULL AS TEXT) AS n, CAST(2.25 AS NUMERIC) AS num, CAST(\(bind: 3) AS INTEGER) AS small
                    """).first())
                #expect(try row.decode(column: "t", as: String.self) == "abc")
                #expect(try row.decode(column: "i4", as: Int.self) == 7 && row.decode(column: "i4", as: Int64.self) == 7)
                #expect(try row.decode(column: "i8", as: Int64.self) == 9_000_000_000 && row.decode(column: "i8", as: Int64?.self) == 9_000_000_000)
                #expect(try row.decode(column: "d", as: Double.self) == 1.5 && row.decode(column: "d", as: Double?.self) == 1.5)
                #expect(try row.decode(column: "n", as: String?.self) == nil && row.decodeNil(column: "n") && !row.decodeNil(column: "t"))
                #expect(try row.decode(column: "num", as: Double.self) == 2.25, "a numeric read as a double")
                #expect(try row.decode(column: "small", as: Int?.self) == 3)
                #expect(throws: (any Error).self) { try row.decode(column: "absent", as: String.self) }
                #expect(row.contains(column: "t") && !row.contains(column: "absent"))
                if postgres {
                    // Another kind of bound value goes through PostgresKit; a repeated name is its last column, as PostgresNIO has it.
                    let id = UUID()
                    let other = try #require(try await sql.raw("SELECT CAST(\(bind: id) AS TEXT) AS u, 1 AS dup, 2 AS dup, true AS b").first())
                    #expect(try other.decode(column: "u", as: String.self) == id.uuidString.lowercased())
                    let plain = try #require(try await sql.raw("SELECT 1 AS dup, 2 AS dup, true AS b").first())
                    #expect(try plain.decode(column: "dup", as: Int.self) == 2 && plain.decode(column: "b", as: Bool.self))
                }
            }
        }
    }

    @Test("rows read inside a transaction decode from their cells too", arguments: TestBackend.available)
    func transactionRows(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let postgres = app.services.database.dialect == .postgres
            try await app.services.database.transaction { sql in
                let row = try #require(try await sql.raw("""
                    SELECT CAST(\(bind: "abc") AS TEXT) AS t, CAST(\(bind: Int64(9_000_000_000)) AS BIGINT) AS dup, CAST(NULL AS BIGINT) AS n,
                      CAST(2 AS INTEGER) AS dup
                    """).first())
                #expect(try row.decode(column: "t", as: String.self) == "abc")
                #expect(try row.decode(column: "n", as: Int64?.self) == nil)
                if postgres {
                    #expect(row is PostgresCellRow)
                    #expect(try row.decode(column: "dup", as: Int.self) == 2, "a repeated name is its last column, as PostgresNIO has it")
                }
                #expect(!row.contains(column: "") && !row.contains(column: "absent"))
            }
        }
    }

    @Test("PostgreSQL sessions run without JIT compilation, which cost reports more than it saved")
    func noJIT() async throws {
        guard TestBackend.available.contains(.postgres) else { return }
        try await TestBackend.postgres.withDatabase { database in
            let settings = try await database.read { sql in try await sql.raw("SHOW jit").all().map { try $0.decode(column: "jit", as: String.self) } }
            #expect(settings == ["off"])
        }
    }

    @Test("after a bulk load PostgreSQL's statistics are refreshed, and with vacuum the table is vacuumed too")
    func statisticsAfterBulkLoad() async throws {
        guard TestBackend.available.contains(.postgres) else { return }
        try await TestBackend.postgres.withDatabase { database in
            func last(_ column: String) async throws -> [Bool] {
                try await database.read { sql in
                    try await sql.raw("SELECT pg_stat_clear_snapshot()").run()
                    return try await sql.raw("""
                        SELECT \(unsafeRaw: column) IS NOT NULL AS done FROM pg_stat_user_tables WHERE relname = 'tenants' AND schemaname = current_schema()
                        """).all().map { try $0.decode(column: "done", as: Bool.self) }
                }
            }
            await database.refreshPlannerStatistics(["tenants"], logger: TestBackend.logger)
            let analyzed = try await last("last_analyze"), vacuumedBefore = try await last("last_vacuum")
            await database.refreshPlannerStatistics(["tenants"], vacuum: true, logger: TestBackend.logger)
            let vacuumed = try await last("last_vacuum")
            #expect(analyzed == [true] && vacuumedBefore == [false] && vacuumed == [true])
        }
    }
}
