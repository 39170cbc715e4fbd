import Foundation
import Logging
@testable import OmniaServer
import SQLKit
import SQLiteNIO
import NIOPosix
import Testing

@Suite("SQLite connection")
struct SQLiteHandleTests {
    @Test("cached statements are reused, not recompiled on each run")
    func statementsStayCompiled() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("omnia-handle-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        try await DatabaseFactory.with(.sqlite(path: path), logger: TestBackend.logger) { _ in }
        let handle = try SQLiteConnectionHandle(path: path)
        let database = SQLiteHandleDatabase(handle: handle, logger: TestBackend.logger, eventLoop: MultiThreadedEventLoopGroup.singleton.any())
        for index in 0..<20 {
            _ = try await database.raw("SELECT * FROM channels WHERE tenant_id = \(bind: "ten_\(index)") ORDER BY id LIMIT 21").all()
            _ = try await database.raw("SELECT k.id FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.tenant_id = \(bind: "t\(index)") AND k.key_hash = \(bind: "h") AND k.revoked_at IS NULL").all()
            try await database.raw("INSERT INTO events (tenant_id, id, type, data, created_at) VALUES (\(bind: "t"), \(bind: "evt_\(index)"), 'x', '{}', 1)").run()
        }
        #expect(handle.recompilations.values.allSatisfy { $0 == 0 }, "\(handle.recompilations)")
        handle.close()
    }

    @Test("bound values are converted to what SQLite stores, by the direct path or the encoder")
    func directBinds() throws {
        let cases: [(any Encodable & Sendable, SQLiteData)] = [
            ("text", .text("text")), ("", .text("")), (Int64(-42), .integer(-42)), (Int64.max, .integer(Int(Int64.max))), (7, .integer(7)),
            (Optional<String>.none, .null), (Optional("x"), .text("x")), (Optional<Int64>.none, .null), (Optional<Int64>(3), .integer(3)),
            (Optional<Int>.none, .null), (Optional<Int>(9), .integer(9)), (1.5, .float(1.5)), (true, .integer(1)),
        ]
        for (value, stored) in cases {
            #expect(try SQLiteHandleDatabase.sqliteValue(value) == stored, "\(value)")
        }
    }

    @Test("in a group commit a failing transaction rolls back alone and the others commit")
    func groupCommitIsolation() async throws {
        try await TestBackend.sqlite.withDatabase { database in
            struct Refused: Error {}
            let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
                for index in 0..<60 {
                    group.addTask {
                        do {
                            try await database.transaction { sql in
                                try await sql.raw("INSERT INTO tenants (id, name, default_currency, timezone, created_at) VALUES (\(bind: "ten_\(index)"), 'T', 'EUR', 'UTC', 0)").run()
                                if index % 3 == 0 { throw Refused() }
                            }
                            return (index, true)
                        } catch {
                            return (index, false)
                        }
                    }
                }
                return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
            }
            let stored = Set(try await database.read { sql in
                try await sql.raw("SELECT id FROM tenants").all(decodingColumn: "id", as: String.self)
            })
            for index in 0..<60 {
                #expect(outcomes[index] == (index % 3 != 0))
                #expect(stored.contains("ten_\(index)") == (index % 3 != 0), "transaction \(index)")
            }
        }
    }

    @Test("multi-row inserts bind texts, integers and NULLs straight onto the statement, across many arena blocks", arguments: TestBackend.available)
    func directRowBinding(backend: TestBackend) async throws {
        try await backend.withDatabase { database in
            // Long and empty texts, non-ASCII, NULLs: 2,000 rows of ~1 KB outgrow several 64 KB blocks.
            let rows = (0..<2_000).map { index in
                (id: "evt_\(index)", type: index % 7 == 0 ? "" : "caf\u{E9}-\(index)-" + String(repeating: "x", count: index % 1_000),
                 requestID: index % 2 == 0 ? nil : "req-\(index)", createdAt: Int64(index) - 1_000)
            }
            try await database.transaction { sql in
                for batch in rows.chunks(of: 300) {
                    try await sql.insertRows(into: "events", columns: ["tenant_id", "id", "type", "data", "request_id", "created_at"], batch) { row, values in
                        values.add("ten_rows")
                        values.add(row.id)
                        values.add(row.type)
                        values.add("{}")
                        values.add(row.requestID)
                        values.add(row.createdAt)
                    }
                }
            }
            let stored = try await database.read { sql in
                try await sql.raw("SELECT id, type, request_id, created_at FROM events WHERE tenant_id = 'ten_rows'").all()
            }
            #expect(stored.count == rows.count)
            let byID = Dictionary(uniqueKeysWithValues: try stored.map { (try $0.decode(column: "id", as: String.self), $0) })
            for row in rows {
                let found = try #require(byID[row.id])
                #expect(try found.decode(column: "type", as: String.self) == row.type)
                #expect(try found.decode(column: "request_id", as: String?.self) == row.requestID)
                #expect(try found.decode(column: "created_at", as: Int64.self) == row.createdAt)
            }
        }
    }

    @Test("a statement bound with too few values is refused, not run with an earlier run's values")
    func missingBindsAreRefused() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("omnia-binder-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let handle = try SQLiteConnectionHandle(path: path)
        defer { handle.close() }
        try handle.execute("CREATE TABLE t (a TEXT, b INTEGER)", []) { _, _ in }
        try handle.run("INSERT INTO t (a, b) VALUES (?, ?)") { binder in
            binder.bind("first")
            binder.bind(Int64(1))
        }
        #expect(throws: SQLiteStatementError.self) {
            try handle.run("INSERT INTO t (a, b) VALUES (?, ?)") { binder in binder.bind("second") }
        }
        var count = 0
        try handle.execute("SELECT count(*) FROM t", []) { _, values in
            if case .integer(let value) = values[0] { count = value }
        }
        #expect(count == 1)
    }

    @Test("a transaction alone in its commit runs without a savepoint and still rolls back whole; the writer goes on")
    func loneTransactionRollsBack() async throws {
        try await TestBackend.sqlite.withDatabase { database in
            struct Refused: Error {}
            await #expect(throws: Refused.self) {
                try await database.transaction { sql in
                    try await sql.raw("INSERT INTO tenants (id, name, default_currency, timezone, created_at) VALUES ('ten_a', 'A', 'EUR', 'UTC', 0)").run()
                    try await sql.raw("INSERT INTO tenants (id, name, default_currency, timezone, created_at) VALUES ('ten_b', 'B', 'EUR', 'UTC', 0)").run()
                    throw Refused()
                }
            }
            try await database.transaction { sql in
                try await sql.raw("INSERT INTO tenants (id, name, default_currency, timezone, created_at) VALUES ('ten_c', 'C', 'EUR', 'UTC', 0)").run()
            }
            let stored = try await database.read { sql in
                try await sql.raw("SELECT id FROM tenants ORDER BY id").all(decodingColumn: "id", as: String.self)
            }
            #expect(stored == ["ten_c"])
        }
    }
}
