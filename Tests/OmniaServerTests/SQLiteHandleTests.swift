import Foundation
import Logging
@testable import OmniaServer
import SQLKit
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
}
