import Foundation
@testable import OmniaServer
import SQLKit
import Testing

/// The storage contract every capability relies on, on both dialects: deferred writes keep their
/// order with the statements around them, commit or roll back with the transaction, and a unique
/// violation in a deferred insert becomes the caller's error.
@Suite("Database transactions")
struct DatabaseTransactionTests {
    struct Duplicate: Error, Equatable {}

    private static func insertTenant(_ sql: any SQLDatabase, _ id: String, deferred: Bool = true) async throws {
        let query: SQLQueryString = """
            INSERT INTO tenants (id, name, default_currency, timezone, created_at) VALUES (\(bind: id), 'T', 'EUR', 'UTC', 0)
            """
        if deferred {
            try await sql.runDeferrable(query, ifDuplicate: DuplicateRule(table: "tenants", error: Duplicate()))
        } else {
            try await sql.raw(query).run()
        }
    }

    private static func tenantIDs(_ database: any Database) async throws -> [String] {
        try await database.read { sql in
            try await sql.raw("SELECT id FROM tenants ORDER BY id").all().map { try $0.decode(column: "id", as: String.self) }
        }
    }

    @Test("deferred writes commit together, and a later read in the transaction sees them", arguments: TestBackend.available)
    func deferredWritesAreVisibleAndCommitted(backend: TestBackend) async throws {
        try await backend.withDatabase { database in
            let seen = try await database.transaction { sql in
                try await Self.insertTenant(sql, "ten_a")
                try await Self.insertTenant(sql, "ten_b")
                return try await sql.raw("SELECT count(*) AS n FROM tenants").first()!.decode(column: "n", as: Int.self)
            }
            #expect(seen == 2)
            // Only deferred writes: on PostgreSQL one statement with no BEGIN/COMMIT, still atomic.
            try await database.transaction { sql in
                try await Self.insertTenant(sql, "ten_c")
                try await Self.insertTenant(sql, "ten_d")
            }
            #expect(try await Self.tenantIDs(database) == ["ten_a", "ten_b", "ten_c", "ten_d"])
        }
    }

    @Test("a failing deferred write takes the whole transaction with it", arguments: TestBackend.available)
    func failureRollsBackEverything(backend: TestBackend) async throws {
        try await backend.withDatabase { database in
            try await database.transaction { sql in try await Self.insertTenant(sql, "ten_taken") }
            await #expect(throws: Duplicate.self) {
                try await database.transaction { sql in
                    try await Self.insertTenant(sql, "ten_new", deferred: false)
                    try await Self.insertTenant(sql, "ten_other")
                    try await Self.insertTenant(sql, "ten_taken")
                }
            }
            await #expect(throws: Duplicate.self) {
                try await database.transaction { sql in
                    try await Self.insertTenant(sql, "ten_lone")
                    try await Self.insertTenant(sql, "ten_taken")
                }
            }
            #expect(try await Self.tenantIDs(database) == ["ten_taken"])
        }
    }

    @Test("a body that throws after deferring writes leaves nothing behind", arguments: TestBackend.available)
    func thrownBodyDiscardsDeferredWrites(backend: TestBackend) async throws {
        struct Refused: Error {}
        try await backend.withDatabase { database in
            await #expect(throws: Refused.self) {
                try await database.transaction { sql in
                    try await Self.insertTenant(sql, "ten_x")
                    throw Refused()
                }
            }
            let remaining = try await Self.tenantIDs(database)
            #expect(remaining.isEmpty)
        }
    }

    @Test("deferred writes with more bound values than one statement may carry commit in several statements, all or nothing",
          arguments: TestBackend.available)
    func deferredWritesBeyondTheBindLimit(backend: TestBackend) async throws {
        try await backend.withDatabase { database in
            // 3 × 4,000 rows × 6 values = 72,000 bound values, over PostgreSQL's 65,535 per statement.
            @Sendable func insertEvents(_ sql: any SQLDatabase, batch: Int) async throws {
                try await sql.insertRows(into: "events", columns: ["tenant_id", "id", "type", "data", "request_id", "created_at"], 0..<4_000,
                                         ifDuplicate: DuplicateRule(table: "events", error: Duplicate())) { index, values in
                    values.add("ten_bulk")
                    values.add("evt_\(batch)_\(index)")
                    values.add("bulk.test")
                    values.add("{}")
                    values.add(String?.none)
                    values.add(Int64(index))
                }
            }
            func eventCount() async throws -> Int {
                try await database.read { sql in
                    try await sql.raw("SELECT count(*) AS n FROM events WHERE tenant_id = 'ten_bulk'").first()!.decode(column: "n", as: Int.self)
                }
            }
            try await database.transaction { sql in
                for batch in 0..<3 { try await insertEvents(sql, batch: batch) }
            }
            #expect(try await eventCount() == 12_000)
            // The last statement collides with the first transaction's rows: nothing of this one stays.
            await #expect(throws: Duplicate.self) {
                try await database.transaction { sql in
                    for batch in [3, 4, 0] { try await insertEvents(sql, batch: batch) }
                }
            }
            #expect(try await eventCount() == 12_000)
        }
    }
}
