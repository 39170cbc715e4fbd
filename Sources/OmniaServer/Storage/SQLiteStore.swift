import Foundation
import Logging
import NIOPosix
import SQLKit
import SQLiteKit
import Synchronization

/// The embedded store: one SQLite file in WAL mode. Writes go through a single writer connection,
/// taken in turn, so concurrent writers queue instead of failing with `SQLITE_BUSY`; reads run in
/// parallel on their own connections and see the last committed write (WAL snapshot per statement).
public final class SQLiteStore: Database {
    public let dialect = SQLDialectKind.sqlite
    private let writer: SQLiteConnection
    private let readers: [SQLiteConnection]
    private let writerTurn = AsyncSemaphore(permits: 1)
    /// One permit per idle reader, so a read always finds a connection of its own in `idleReaders`.
    private let readerTurns: AsyncSemaphore
    private let idleReaders: Mutex<[SQLiteConnection]>
    private let threadPool: NIOThreadPool

    /// Opens (creating if needed) the database file at `path`; `:memory:` keeps it in memory on one connection.
    public static func open(path: String, readerCount: Int = 4, logger: Logger) async throws -> SQLiteStore {
        // SQLite calls block a thread, so they get their own pool rather than NIO's shared singleton.
        let threadPool = NIOThreadPool(numberOfThreads: readerCount + 1)
        threadPool.start()
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        let storage: SQLiteConnection.Storage = path == ":memory:" ? .memory : .file(path: path)
        do {
            let writer = try await SQLiteConnection.open(storage: storage, threadPool: threadPool, logger: logger, on: eventLoop)
            try await configure(writer, isWriter: true, inMemory: path == ":memory:")
            var readers: [SQLiteConnection] = []
            if path != ":memory:" {
                for _ in 0..<readerCount {
                    let reader = try await SQLiteConnection.open(storage: storage, threadPool: threadPool, logger: logger, on: eventLoop)
                    try await configure(reader, isWriter: false, inMemory: false)
                    readers.append(reader)
                }
            }
            return SQLiteStore(writer: writer, readers: readers, threadPool: threadPool)
        } catch {
            try? await threadPool.shutdownGracefully()
            throw DatabaseOpenError(database: "sqlite:\(path)", reason: "\(error)")
        }
    }

    private init(writer: SQLiteConnection, readers: [SQLiteConnection], threadPool: NIOThreadPool) {
        self.writer = writer
        self.readers = readers
        self.readerTurns = AsyncSemaphore(permits: max(1, readers.count))
        self.idleReaders = Mutex(readers)
        self.threadPool = threadPool
    }

    private static func configure(_ connection: SQLiteConnection, isWriter: Bool, inMemory: Bool) async throws {
        let sql = connection.sql(queryLogLevel: nil)
        if isWriter && !inMemory {
            try await sql.raw("PRAGMA journal_mode = WAL").run()
        }
        // NORMAL is durable across application crashes in WAL mode; only an OS crash can lose the
        // last transactions, which is the usual trade for an embedded store.
        try await sql.raw("PRAGMA synchronous = NORMAL").run()
        try await sql.raw("PRAGMA busy_timeout = 5000").run()
        try await sql.raw("PRAGMA foreign_keys = ON").run()
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        guard !readers.isEmpty else {
            return try await writerTurn.withPermit { try await body(writer.sql(queryLogLevel: nil)) }
        }
        return try await readerTurns.withPermit {
            let reader = idleReaders.withLock { $0.removeLast() }
            defer { idleReaders.withLock { $0.append(reader) } }
            return try await body(reader.sql(queryLogLevel: nil))
        }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await writerTurn.withPermit {
            // IMMEDIATE takes the write lock at BEGIN, so no transaction fails half-way on a lock upgrade.
            try await writer.sql(queryLogLevel: nil).inTransaction(begin: "BEGIN IMMEDIATE", body)
        }
    }

    public var poolStatistics: PoolStatistics {
        PoolStatistics(inUse: writerTurn.inUse + (readers.isEmpty ? 0 : readerTurns.inUse), capacity: 1 + readers.count)
    }

    public func shutdown() async {
        try? await writer.close()
        for reader in readers { try? await reader.close() }
        try? await threadPool.shutdownGracefully()
    }
}

/// The database could not be opened or reached; printed as one line by the CLI.
public struct DatabaseOpenError: Error, CustomStringConvertible {
    public let database: String
    public let reason: String
    public var description: String { "cannot open database \(database): \(reason)" }
}
