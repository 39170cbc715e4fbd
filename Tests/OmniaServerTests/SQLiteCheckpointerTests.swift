import Foundation
@testable import OmniaServer
import SQLKit
import SQLiteNIO
import Synchronization
import Testing

@Suite("SQLite checkpoints")
struct SQLiteCheckpointerTests {
    /// The case PASSIVE checkpoints alone cannot end: readers overlap, so whenever the writer starts
    /// a transaction some reader still holds a snapshot inside the WAL and the log cannot start
    /// over; it grows by every commit. The RESTART after a long, fully copied WAL bounds it.
    @Test("under overlapping readers the WAL is restarted instead of growing with every commit")
    func walStaysBoundedUnderOverlappingReaders() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("omnia-wal-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        func open(writer: Bool) throws -> SQLiteConnectionHandle {
            let handle = try SQLiteConnectionHandle(path: path)
            func run(_ sql: String) throws { try handle.execute(sql, []) { _, _ in } }
            try run("PRAGMA busy_timeout = 5000")
            if writer {
                try run("PRAGMA journal_mode = WAL")
                try run("PRAGMA wal_autocheckpoint = 0")
                try run("PRAGMA synchronous = NORMAL")
                try run("PRAGMA journal_size_limit = \(SQLiteCheckpointer.journalSizeLimit)")
            }
            return handle
        }
        let writer = try open(writer: true)
        try writer.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)", []) { _, _ in }
        let readers = [try open(writer: false), try open(writer: false)]
        let checkpointer = try SQLiteCheckpointer(path: path, restartFrames: 200, logger: TestBackend.logger)
        checkpointer.start()

        let stop = Atomic<Bool>(false)
        let commits = Atomic<Int>(0)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var index = 0
            while !stop.load(ordering: .relaxed) {
                index += 1
                try? writer.execute("INSERT INTO rows (id, payload) VALUES (?, ?)", [.integer(index), .text(String(repeating: "x", count: 200))]) { _, _ in }
                commits.add(1, ordering: .relaxed)
            }
            done.signal()
        }
        Thread.detachNewThread {
            // Always one reader inside a snapshot: the next begins before the previous ends.
            var holding = 0
            try? readers[holding].execute("BEGIN", []) { _, _ in }
            try? readers[holding].execute("SELECT count(*) FROM rows", []) { _, _ in }
            while !stop.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: 0.002)
                let next = 1 - holding
                try? readers[next].execute("BEGIN", []) { _, _ in }
                try? readers[next].execute("SELECT count(*) FROM rows", []) { _, _ in }
                try? readers[holding].execute("COMMIT", []) { _, _ in }
                holding = next
            }
            try? readers[holding].execute("COMMIT", []) { _, _ in }
            done.signal()
        }
        Thread.sleep(forTimeInterval: 2)
        stop.store(true, ordering: .relaxed)
        done.wait()
        done.wait()
        checkpointer.stop()

        // Every commit appends at least one 4 KiB page to the WAL; the file keeps its high-water mark.
        let written = commits.load(ordering: .relaxed)
        let walBytes = (try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        #expect(written > 2_000, "the writer made too few commits for the test to tell: \(written)")
        #expect(walBytes < written * 4_096 / 3, "WAL of \(walBytes) bytes after \(written) commits")
        for handle in readers + [writer] { handle.close() }
    }

    @Test("a writer that is never idle restarts the WAL itself between two commits")
    func busyWriterRestartsTheWal() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("omnia-wal-busy-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try await SQLiteStore.open(path: path, walRestartFrames: 200, logger: TestBackend.logger)
        try await store.transaction { sql in try await sql.raw("CREATE TABLE rows (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)").run() }
        // Two writers queueing chunks back to back, as an import does: the queue never empties.
        let rows = 150_000
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<2 {
                group.addTask {
                    for _ in 0..<(rows / 2 / 50) {
                        try await store.transaction { sql in
                            for _ in 0..<50 {
                                try await sql.raw("INSERT INTO rows (payload) VALUES (\(bind: String(repeating: "w\(writer)", count: 500)))").run()
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - started
        // The file keeps its high-water mark. Each row takes ~470 bytes of WAL; without
        // restarts the WAL holds them all.
        let walBytes = (try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        await store.shutdown()
        #expect(walBytes < rows * 250, "WAL of \(walBytes) bytes after \(rows) rows in \(elapsed)")
    }
}

/// `SQLiteConnectionHandle.pollWhenBusy`: a connection that finds the write lock taken waits for
/// it by polling, and gives up with SQLITE_BUSY once its attempts are spent.
@Suite("SQLite busy waiting")
struct SQLiteBusyWaitingTests {
    private func withTwoConnections(_ body: (SQLiteConnectionHandle, SQLiteConnectionHandle) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("omnia-busy-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let holder = try SQLiteConnectionHandle(path: path)
        let waiter = try SQLiteConnectionHandle(path: path)
        defer { holder.close(); waiter.close() }
        try holder.execute("PRAGMA journal_mode = WAL", []) { _, _ in }
        try holder.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY)", []) { _, _ in }
        try body(holder, waiter)
    }

    @Test("a writer waits for the lock another connection holds, and writes once it is let go")
    func waitsForTheLock() throws {
        try withTwoConnections { holder, waiter in
            waiter.pollWhenBusy(everyMicroseconds: 100, attempts: 50_000)
            try holder.execute("BEGIN IMMEDIATE", []) { _, _ in }
            try holder.execute("INSERT INTO rows (id) VALUES (1)", []) { _, _ in }
            let released = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: 0.05)
                try? holder.execute("COMMIT", []) { _, _ in }
                released.signal()
            }
            let started = ContinuousClock.now
            try waiter.execute("INSERT INTO rows (id) VALUES (2)", []) { _, _ in }
            let waited = ContinuousClock.now - started
            released.wait()
            #expect(waited >= .milliseconds(40), "it wrote only after the lock was let go (\(waited))")
            var ids: [Int] = []
            try waiter.execute("SELECT id FROM rows ORDER BY id", []) { _, values in ids.append(values[0].integer ?? 0) }
            #expect(ids == [1, 2])
        }
    }

    @Test("a writer whose attempts run out gets SQLITE_BUSY and changes nothing")
    func givesUp() throws {
        try withTwoConnections { holder, waiter in
            waiter.pollWhenBusy(everyMicroseconds: 100, attempts: 20)
            try holder.execute("BEGIN IMMEDIATE", []) { _, _ in }
            #expect(throws: SQLiteStatementError.self) {
                try waiter.execute("INSERT INTO rows (id) VALUES (2)", []) { _, _ in }
            }
            try holder.execute("COMMIT", []) { _, _ in }
            var count = 0
            try waiter.execute("SELECT count(*) FROM rows", []) { _, values in count = values[0].integer ?? -1 }
            #expect(count == 0)
        }
    }
}
