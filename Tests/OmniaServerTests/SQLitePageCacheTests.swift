import Foundation
@testable import OmniaServer
import OmniaSQLiteOptions
import SQLiteNIO
import Testing

/// Omnia's wrapper around SQLite's page cache (`omnia_sqlite_install_page_cache`): commits after
/// page splits no longer ask the cache to drop pages it does not hold, and a rollback that shrinks
/// the database still drops the pages past its new end.
@Suite("SQLite page cache")
struct SQLitePageCacheTests {
    private func withDatabase(_ body: (SQLiteConnectionHandle) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("omnia-pcache-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let handle = try SQLiteConnectionHandle(path: path)
        defer { handle.close() }
        try handle.execute("PRAGMA journal_mode = WAL", []) { _, _ in }
        try handle.execute("CREATE TABLE rows (key TEXT PRIMARY KEY, payload TEXT NOT NULL) WITHOUT ROWID", []) { _, _ in }
        try body(handle)
    }

    @Test("is installed before the first connection opens")
    func installed() throws {
        try withDatabase { _ in
            #expect(SQLiteConnectionHandle.pageCacheInstalled == 0)  // SQLITE_OK
        }
    }

    /// Random keys split leaf pages all over the B-tree; each split parks a page under the lock
    /// byte's page number. Without the wrapper every one of these commits made SQLite walk its
    /// whole cache; with it, none is passed on. (The count is the calling thread's, and this test
    /// runs its statements on one thread.)
    @Test("commits after page splits pass no truncation on to SQLite's cache")
    func splitsDoNotTruncate() throws {
        try withDatabase { handle in
            let before = omnia_sqlite_forwarded_truncations()
            for commit in 0..<400 {
                try handle.execute("BEGIN", []) { _, _ in }
                for row in 0..<20 {
                    try handle.execute("INSERT INTO rows (key, payload) VALUES (?, ?)",
                                       [.text(UUID().uuidString), .text("\(commit)-\(row)-" + String(repeating: "x", count: 180))]) { _, _ in }
                }
                try handle.execute("COMMIT", []) { _, _ in }
            }
            #expect(omnia_sqlite_forwarded_truncations() == before)
        }
    }

    /// A rolled-back transaction that grew the file leaves pages past the database's end in the
    /// cache; they must go, or a later transaction that reuses those page numbers would see them.
    @Test("a rollback that shrinks the database drops the pages past its end")
    func rollbackDropsPages() throws {
        try withDatabase { handle in
            for row in 0..<200 {
                try handle.execute("INSERT INTO rows (key, payload) VALUES (?, ?)", [.text("kept-\(row)"), .text(String(repeating: "k", count: 300))]) { _, _ in }
            }
            let before = omnia_sqlite_forwarded_truncations()
            try handle.execute("BEGIN", []) { _, _ in }
            for row in 0..<3_000 {
                try handle.execute("INSERT INTO rows (key, payload) VALUES (?, ?)", [.text("gone-\(UUID().uuidString)-\(row)"), .text(String(repeating: "g", count: 300))]) { _, _ in }
            }
            try handle.execute("ROLLBACK", []) { _, _ in }
            #expect(omnia_sqlite_forwarded_truncations() > before)

            for row in 0..<3_000 {
                try handle.execute("INSERT INTO rows (key, payload) VALUES (?, ?)", [.text("new-\(row)"), .text(String(repeating: "n", count: 300))]) { _, _ in }
            }
            var counts: [String: Int] = [:]
            try handle.execute("SELECT substr(key, 1, instr(key, '-') - 1), count(*) FROM rows GROUP BY 1", []) { _, values in
                counts[values[0].string ?? ""] = values[1].integer
            }
            #expect(counts == ["kept": 200, "new": 3_000])
            var integrity: [String] = []
            try handle.execute("PRAGMA integrity_check", []) { _, values in integrity.append(values[0].string ?? "") }
            #expect(integrity == ["ok"])
        }
    }
}
