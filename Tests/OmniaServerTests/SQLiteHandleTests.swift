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
}
