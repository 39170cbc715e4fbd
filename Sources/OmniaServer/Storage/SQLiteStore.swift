import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import Synchronization

/// The embedded store: one SQLite file in WAL mode. Writes go through a single writer connection,
/// queued and group-committed, so concurrent writers never fail with `SQLITE_BUSY`; reads run in
/// parallel on their own connections and see the last committed write (WAL snapshot per statement).
public final class SQLiteStore: Database {
    public let dialect = SQLDialectKind.sqlite
    private let writer: SQLiteConnectionHandle
    private let readers: [SQLiteConnectionHandle]
    private let writes: SQLiteWriteQueue
    /// One permit per idle reader, so a read always finds a connection of its own in `idleReaders`.
    private let readerTurns: AsyncSemaphore
    private let idleReaders: Mutex<[SQLiteConnectionHandle]>
    private let logger: Logger
    private let eventLoop: any EventLoop
    private let checkpointer: SQLiteCheckpointer?

    /// Opens (creating if needed) the database file at `path`; `:memory:` keeps it in memory on one connection.
    /// `walRestartFrames`: see `SQLiteCheckpointer`.
    public static func open(path: String, readerCount: Int = 4, walRestartFrames: Int = SQLiteCheckpointer.defaultRestartFrames,
                            logger: Logger) async throws -> SQLiteStore {
        do {
            let inMemory = path == ":memory:"
            let writer = try SQLiteConnectionHandle(path: path)
            try configure(writer, isWriter: true, inMemory: inMemory)
            var readers: [SQLiteConnectionHandle] = []
            if !inMemory {
                for _ in 0..<readerCount {
                    let reader = try SQLiteConnectionHandle(path: path)
                    try configure(reader, isWriter: false, inMemory: false)
                    readers.append(reader)
                }
            }
            let checkpointer = inMemory ? nil : try SQLiteCheckpointer(path: path, restartFrames: walRestartFrames, logger: logger)
            checkpointer?.start()
            return SQLiteStore(writer: writer, readers: readers, checkpointer: checkpointer, logger: logger)
        } catch {
            throw DatabaseOpenError(database: "sqlite:\(path)", reason: "\(error)")
        }
    }

    private init(writer: SQLiteConnectionHandle, readers: [SQLiteConnectionHandle], checkpointer: SQLiteCheckpointer?, logger: Logger) {
        self.writer = writer
        self.checkpointer = checkpointer
        self.readers = readers
        self.readerTurns = AsyncSemaphore(permits: max(1, readers.count))
        self.idleReaders = Mutex(readers)
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        self.logger = logger
        self.eventLoop = eventLoop
        self.writes = SQLiteWriteQueue(connection: { SQLiteHandleDatabase(handle: writer, logger: logger, eventLoop: eventLoop) }, afterCommit: { sql in
            // The checkpoint thread found the WAL long and the writer never idle: restart it here,
            // between two commits (waiting only for readers to finish their statements).
            guard let checkpointer, checkpointer.restartWanted.exchange(false, ordering: .acquiringAndReleasing) else { return }
            do {
                try await sql.raw("PRAGMA wal_checkpoint(RESTART)").run()
            } catch {
                logger.warning("SQLite WAL restart by the writer failed", metadata: ["error": "\(error)"])
            }
        })
    }

    private static func configure(_ connection: SQLiteConnectionHandle, isWriter: Bool, inMemory: Bool) throws {
        func run(_ sql: String) throws { try connection.execute(sql, []) { _, _ in } }
        if isWriter && !inMemory {
            try run("PRAGMA journal_mode = WAL")
            // `SQLiteCheckpointer` copies the WAL back on its own thread; a commit never does it.
            try run("PRAGMA wal_autocheckpoint = 0")
            // The writer is the connection that starts a restarted WAL over, and truncates the file then.
            try run("PRAGMA journal_size_limit = \(SQLiteCheckpointer.journalSizeLimit)")
        }
        // The writer keeps the pages it re-reads for every write cached (64 MB; the default is 2 MB;
        // allocated as used). Readers keep 16 MB: in WAL mode a reader drops its whole cache
        // whenever another connection has committed since its last read, so under steady writes a
        // larger cache only makes each drop slower.
        try run("PRAGMA cache_size = \(isWriter ? -65_536 : -16_384)")
        // NORMAL is durable across application crashes in WAL mode; only an OS crash can lose the
        // last transactions, which is the usual trade for an embedded store.
        try run("PRAGMA synchronous = NORMAL")
        // Waits up to 5 s for a lock, polling every 100 µs: the WAL restart holds writers off for
        // about a millisecond, and `busy_timeout`'s back-off (sleeps of 1, 2, 5, 10… ms) made the
        // writer sleep through up to 20 ms of it.
        connection.pollWhenBusy(everyMicroseconds: 100, attempts: 50_000)
        try run("PRAGMA foreign_keys = ON")
        // Group commit runs each transaction in a SAVEPOINT, whose sub-journal of original pages
        // would otherwise be written to a temporary file on every change; memory is enough (it is
        // discarded at each release) and saves a write system call per modified page.
        try run("PRAGMA temp_store = MEMORY")
    }

    private func sql(_ handle: SQLiteConnectionHandle) -> any SQLDatabase {
        SQLiteHandleDatabase(handle: handle, logger: logger, eventLoop: eventLoop)
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        guard !readers.isEmpty else {
            // In memory there is only the writer's connection.
            return try await writes.submit(body)
        }
        return try await readerTurns.withPermit {
            let reader = idleReaders.withLock { $0.removeLast() }
            defer { idleReaders.withLock { $0.append(reader) } }
            return try await body(sql(reader))
        }
    }

    /// A reader's deferred transaction keeps the snapshot of its first read until COMMIT (WAL mode).
    /// In memory the only connection is the writer's, whose queued transaction is a snapshot already.
    public func snapshot<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        guard !readers.isEmpty else { return try await writes.submit(body) }
        return try await read { sql in try await sql.inTransaction { try await body($0) } }
    }

    /// Writes go through the one writer whatever their shape; group commit makes the transaction cheap.
    public func autocommit<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await writes.submit(body)
    }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await writes.submit(body)
    }

    public var poolStatistics: PoolStatistics {
        PoolStatistics(inUse: readers.isEmpty ? 0 : readerTurns.inUse, capacity: 1 + readers.count)
    }

    public func shutdown() async {
        // An empty write queued after every write already submitted: once it is done, none is cut off.
        try? await writes.submit { _ in }
        writer.close()
        for reader in readers { reader.close() }
        checkpointer?.stop()
    }
}

/// The database could not be opened or reached; printed as one line by the CLI.
public struct DatabaseOpenError: Error, CustomStringConvertible {
    public let database: String
    public let reason: String
    public var description: String { "cannot open database \(database): \(reason)" }
}
