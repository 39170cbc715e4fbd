import Foundation
import Logging
import NIOCore
import NIOPosix
import OmniaSQLiteOptions
import SQLKit
import SQLiteKit
import SQLiteNIO
import VaporCSQLite

/// One SQLite connection driven synchronously on the calling task, with its prepared statements cached.
///
/// Why not SQLiteNIO's connection: it hands every statement to a thread pool and back, which costs
/// far more than the statement itself (an indexed read or insert in WAL mode takes microseconds).
/// Running inline blocks a concurrency thread only for that time. This uses the SQLite library
/// vendored by SQLiteNIO, so the process has one SQLite and its file locks stay coherent.
///
/// Not thread-safe by itself: `SQLiteStore` lends a handle to one task at a time.
final class SQLiteConnectionHandle: @unchecked Sendable {
    private var database: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    private let textArena = SQLiteTextArena()
    /// The busy handler's settings (see `pollWhenBusy`), freed with the connection.
    private var busyPolling: UnsafeMutableRawPointer?
    /// Dynamic SQL (IN lists of varying length) would grow the cache without bound.
    private static let statementCacheLimit = 256

    /// SQLite's result code for installing Omnia's page cache wrapper (see
    /// `omnia_sqlite_install_page_cache`), done once before the process's first connection opens.
    static let pageCacheInstalled: Int32 = omnia_sqlite_install_page_cache()

    init(path: String) throws {
        _ = Self.pageCacheInstalled
        let flags = SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_URI | SQLITE_OPEN_EXRESCODE
        let status = sqlite_nio_sqlite3_open_v2(path, &database, flags, nil)
        guard status == SQLITE_OK, database != nil else {
            let message = database.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite_nio_sqlite3_close_v2(database)
            database = nil
            throw SQLiteStatementError(code: status, message: message, sql: "open \(path)")
        }
        // Without it, statements filtering on a bound value are re-planned at every run (seen with
        // SQLite 3.53), which costs more than the statement.
        let planStatus = omnia_sqlite_enable_stable_query_plans(UnsafeMutableRawPointer(database))
        guard planStatus == SQLITE_OK else {
            throw SQLiteStatementError(code: planStatus, message: "cannot enable stable query plans", sql: "open \(path)")
        }
        let functionStatus = Self.registerAddCategoryFigures(database)
        guard functionStatus == SQLITE_OK else {
            throw SQLiteStatementError(code: functionStatus, message: "cannot register \(CustomerCategoryFigures.addFunction)", sql: "open \(path)")
        }
    }

    /// `omnia_add_category_figures(figures, delta)`: the stored per-category figures with a delta
    /// added (see `CustomerCategoryFigures`), for the customer aggregates' upsert. NULL figures (no row yet) take the delta as it is.
    private static func registerAddCategoryFigures(_ database: OpaquePointer?) -> Int32 {
        sqlite_nio_sqlite3_create_function_v2(
            database, CustomerCategoryFigures.addFunction, 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nil,
            { context, _, arguments in
                guard let arguments, let figures = arguments[0], let delta = arguments[1] else { return }
                func bytes(_ value: OpaquePointer) -> UnsafeBufferPointer<UInt8> {
                    let text = sqlite_nio_sqlite3_value_text(value)
                    return UnsafeBufferPointer(start: text, count: Int(sqlite_nio_sqlite3_value_bytes(value)))
                }
                var output: [UInt8] = []
                guard CustomerCategoryFigures.add(bytes(delta), to: bytes(figures), into: &output) else {
                    sqlite_nio_sqlite3_result_error(context, "malformed category figures", -1)
                    return
                }
                let length = UInt64(output.count)
                output.append(0)  // never empty, so the buffer has an address
                output.withUnsafeBytes { buffer in
                    sqlite_nio_sqlite3_result_text64(context, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), length,
                                                     unsafeBitCast(-1, to: sqlite3_destructor_type.self), UInt8(SQLITE_UTF8))
                }
            }, nil, nil, nil)
    }

    deinit { close() }

    /// Replaces `busy_timeout`'s handler, whose sleeps grow from 1 ms to 100 ms, with one that
    /// polls every `pollMicroseconds` for up to `attempts` tries: a lock held for a few hundred
    /// microseconds then costs the waiter about that, not the next step of the back-off.
    func pollWhenBusy(everyMicroseconds pollMicroseconds: Int32, attempts: Int32) {
        struct Polling { var interval: Int32; var attempts: Int32 }
        busyPolling?.deallocate()
        let polling = UnsafeMutablePointer<Polling>.allocate(capacity: 1)
        polling.initialize(to: Polling(interval: pollMicroseconds, attempts: attempts))
        busyPolling = UnsafeMutableRawPointer(polling)
        sqlite_nio_sqlite3_busy_handler(database, { context, count in
            guard let polling = context?.assumingMemoryBound(to: Polling.self).pointee, count < polling.attempts else { return 0 }
            usleep(UInt32(polling.interval))
            return 1
        }, busyPolling)
    }

    /// Flushes the database file to disk through this connection's own file handle (SQLite's VFS:
    /// opening the file a second time would drop this process's locks on it when closed).
    func syncDatabaseFile() throws {
        guard let database else { throw SQLiteStatementError(code: SQLITE_MISUSE, message: "connection is closed", sql: "sync") }
        var file: UnsafeMutablePointer<sqlite3_file>?
        let status = sqlite_nio_sqlite3_file_control(database, "main", SQLITE_FCNTL_FILE_POINTER, &file)
        guard status == SQLITE_OK else { throw error(status, "sync") }
        guard let file, let sync = file.pointee.pMethods?.pointee.xSync else { return }  // not opened yet: nothing to flush
        let syncStatus = sync(file, SQLITE_SYNC_NORMAL)
        guard syncStatus == SQLITE_OK else { throw error(syncStatus, "sync") }
    }

    func close() {
        defer {
            busyPolling?.deallocate()
            busyPolling = nil
        }
        for statement in statements.values { sqlite_nio_sqlite3_finalize(statement) }
        statements.removeAll()
        if let database { sqlite_nio_sqlite3_close_v2(database) }
        database = nil
    }

    /// Runs `sql` with `binds`, calling `onRow` with the column names and values of each result row.
    func execute(_ sql: String, _ binds: [SQLiteData], onRow: (_ columns: [String], _ values: [SQLiteData]) throws -> Void) throws {
        guard let database else { throw SQLiteStatementError(code: SQLITE_MISUSE, message: "connection is closed", sql: sql) }
        let statement = try prepared(sql, database)
        defer {
            sqlite_nio_sqlite3_reset(statement)
            sqlite_nio_sqlite3_clear_bindings(statement)
        }
        for (offset, value) in binds.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .integer(let integer): status = sqlite_nio_sqlite3_bind_int64(statement, index, Int64(integer))
            case .float(let double): status = sqlite_nio_sqlite3_bind_double(statement, index, double)
            case .text(let text): status = sqlite_nio_sqlite3_bind_text64(statement, index, text, UInt64(text.utf8.count), transient, UInt8(SQLITE_UTF8))
            case .blob(let buffer):
                status = buffer.withUnsafeReadableBytes {
                    sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), transient)
                }
            case .null: status = sqlite_nio_sqlite3_bind_null(statement, index)
            }
            guard status == SQLITE_OK else { throw error(status, sql) }
        }
        var columns: [String]?
        while true {
            let status = sqlite_nio_sqlite3_step(statement)
            if status == SQLITE_DONE { return }
            guard status == SQLITE_ROW else { throw error(status, sql) }
            let count = sqlite_nio_sqlite3_column_count(statement)
            if columns == nil {
                columns = (0..<count).map { String(cString: sqlite_nio_sqlite3_column_name(statement, $0)) }
            }
            var values: [SQLiteData] = []
            values.reserveCapacity(Int(count))
            for column in 0..<count {
                switch sqlite_nio_sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: values.append(.integer(Int(sqlite_nio_sqlite3_column_int64(statement, column))))
                case SQLITE_FLOAT: values.append(.float(sqlite_nio_sqlite3_column_double(statement, column)))
                case SQLITE_TEXT:
                    let bytes = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
                    let text = sqlite_nio_sqlite3_column_text(statement, column).map {
                        String(decoding: UnsafeBufferPointer(start: $0, count: bytes), as: UTF8.self)
                    }
                    values.append(.text(text ?? ""))
                case SQLITE_BLOB:
                    let bytes = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
                    var buffer = ByteBufferAllocator().buffer(capacity: bytes)
                    if let pointer = sqlite_nio_sqlite3_column_blob(statement, column) {
                        buffer.writeBytes(UnsafeRawBufferPointer(start: pointer, count: bytes))
                    }
                    values.append(.blob(buffer))
                default: values.append(.null)
                }
            }
            try onRow(columns ?? [], values)
        }
    }

    /// Runs `sql` once with its parameters bound by `bind` straight onto the statement, ignoring
    /// result rows. A bulk write binds thousands of values per statement; building each as
    /// `SQLiteData` first costs more than SQLite takes to insert the rows. `bind` must bind every
    /// parameter: bindings are not cleared, so one left out would keep an earlier run's value.
    func run(_ sql: String, bind: (inout SQLiteBinder) throws -> Void) throws {
        guard let database else { throw SQLiteStatementError(code: SQLITE_MISUSE, message: "connection is closed", sql: sql) }
        let statement = try prepared(sql, database)
        textArena.reset()
        defer {
            sqlite_nio_sqlite3_reset(statement)
            // The texts are in the arena, which the next run reuses: no binding may point there after.
            sqlite_nio_sqlite3_clear_bindings(statement)
        }
        var binder = SQLiteBinder(statement: statement, arena: textArena)
        try bind(&binder)
        guard binder.status == SQLITE_OK else { throw error(binder.status, sql) }
        let parameters = sqlite_nio_sqlite3_bind_parameter_count(statement)
        guard binder.nextIndex == parameters + 1 else {
            throw SQLiteStatementError(code: SQLITE_RANGE, message: "bound \(binder.nextIndex - 1) of \(parameters) parameters", sql: sql)
        }
        while true {
            let status = sqlite_nio_sqlite3_step(statement)
            if status == SQLITE_DONE { return }
            guard status == SQLITE_ROW else { throw error(status, sql) }
        }
    }

    /// How often each cached statement was recompiled — a statement that recompiles on every run
    /// loses what the cache is for (tests watch this).
    var recompilations: [String: Int32] {
        statements.mapValues { sqlite_nio_sqlite3_stmt_status($0, SQLITE_STMTSTATUS_REPREPARE, 0) }
    }

    private func prepared(_ sql: String, _ database: OpaquePointer) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let status = sqlite_nio_sqlite3_prepare_v3(database, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else { throw error(status, sql) }
        if statements.count >= Self.statementCacheLimit {
            for cached in statements.values { sqlite_nio_sqlite3_finalize(cached) }
            statements.removeAll()
        }
        statements[sql] = statement
        return statement
    }

    private func error(_ status: Int32, _ sql: String) -> SQLiteStatementError {
        let message = database.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? "closed"
        return SQLiteStatementError(code: database.map { sqlite_nio_sqlite3_extended_errcode($0) } ?? status, message: message, sql: sql)
    }

    private var transient: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }
}

/// Binds a statement's parameters in order, straight from Swift values. Texts are copied into the
/// connection's `SQLiteTextArena` and bound without SQLite copying them again (it would allocate a
/// copy per text). The first failing bind is kept in `status` for `SQLiteConnectionHandle.run`.
struct SQLiteBinder {
    private let statement: OpaquePointer
    private let arena: SQLiteTextArena
    private(set) var nextIndex: Int32 = 1
    private(set) var status = SQLITE_OK

    fileprivate init(statement: OpaquePointer, arena: SQLiteTextArena) {
        self.statement = statement
        self.arena = arena
    }

    mutating func bind(_ value: String) {
        var text = value
        let copy = text.withUTF8 { arena.copy($0) }
        // SQLITE_STATIC (no destructor): the copy stays put until the statement has run.
        bound(sqlite_nio_sqlite3_bind_text64(statement, nextIndex, copy.baseAddress, UInt64(copy.count), nil, UInt8(SQLITE_UTF8)))
    }

    mutating func bind(_ value: Int64) {
        bound(sqlite_nio_sqlite3_bind_int64(statement, nextIndex, value))
    }

    mutating func bind(_ value: Double) {
        bound(sqlite_nio_sqlite3_bind_double(statement, nextIndex, value))
    }

    mutating func bindNull() {
        bound(sqlite_nio_sqlite3_bind_null(statement, nextIndex))
    }

    private mutating func bound(_ result: Int32) {
        if status == SQLITE_OK { status = result }
        nextIndex += 1
    }
}

/// Memory for the texts bound to one statement run: blocks kept by the connection and reused, so
/// binding thousands of texts allocates nothing once the blocks have grown to the largest run.
final class SQLiteTextArena {
    private var blocks: [UnsafeMutableRawBufferPointer] = []
    private var block = 0
    private var used = 0
    private static let blockSize = 64 * 1024

    deinit {
        for block in blocks { block.deallocate() }
    }

    /// Forgets every copy: called before a statement run binds, after the previous one was reset
    /// and its bindings cleared.
    func reset() {
        block = 0
        used = 0
    }

    /// A copy of `bytes` that stays put until the next `reset`, with an address even when empty
    /// (a null pointer would bind NULL, not '').
    func copy(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<CChar> {
        let size = max(bytes.count, 1)
        while block < blocks.count, used + size > blocks[block].count {
            block += 1
            used = 0
        }
        if block == blocks.count { blocks.append(.allocate(byteCount: max(size, Self.blockSize), alignment: 1)) }
        let start = blocks[block].baseAddress! + used
        used += size
        if let source = bytes.baseAddress { start.copyMemory(from: source, byteCount: bytes.count) }
        return UnsafeBufferPointer(start: start.assumingMemoryBound(to: CChar.self), count: bytes.count)
    }
}

/// A failed SQLite call with its extended result code.
struct SQLiteStatementError: Error, CustomStringConvertible {
    let code: Int32
    let message: String
    let sql: String

    var description: String { "SQLite error \(code): \(message)" }

    /// SQLITE_CONSTRAINT_UNIQUE or SQLITE_CONSTRAINT_PRIMARYKEY.
    var isUniqueViolation: Bool { code == 2067 || code == 1555 }
}

/// The SQLKit face of a handle: capability code runs the same SQL on it as on PostgreSQL.
struct SQLiteHandleDatabase: SQLDatabase {
    let handle: SQLiteConnectionHandle
    let logger: Logger
    let eventLoop: any EventLoop
    var version: (any SQLDatabaseReportedVersion)? { nil }
    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        do {
            try run(query, onRow)
            return eventLoop.makeSucceededVoidFuture()
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try run(query, onRow)
    }

    private func run(_ query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) throws {
        let (sql, binds) = serialize(query)
        let values = try binds.map { try Self.sqliteValue($0) }
        try handle.execute(sql, values) { columns, values in
            onRow(SQLiteValuesRow(columns: columns, values: values))
        }
    }
}

extension SQLiteHandleDatabase {
    /// A bound value as SQLite stores it. What models bind is compared by metatype (a pointer
    /// compare) and converted directly; `SQLiteDataEncoder` finds the same answer through runtime
    /// casts, which cost more than the insert of a row (a bulk import binds thousands per chunk).
    static func sqliteValue<Value: Encodable>(_ value: Value) throws -> SQLiteData {
        if Value.self == String.self { return .text(unsafeBitCast(value, to: String.self)) }
        if Value.self == Int64.self { return .integer(Int(unsafeBitCast(value, to: Int64.self))) }
        if Value.self == Int.self { return .integer(unsafeBitCast(value, to: Int.self)) }
        if Value.self == String?.self { return unsafeBitCast(value, to: String?.self).map(SQLiteData.text) ?? .null }
        if Value.self == Int64?.self { return unsafeBitCast(value, to: Int64?.self).map { .integer(Int($0)) } ?? .null }
        if Value.self == Int?.self { return unsafeBitCast(value, to: Int?.self).map(SQLiteData.integer) ?? .null }
        if Value.self == Double.self { return .float(unsafeBitCast(value, to: Double.self)) }
        return try SQLiteDataEncoder().encode(value)
    }
}

/// One result row: column names and their values, decoded on demand.
struct SQLiteValuesRow: SQLRow {
    let columns: [String]
    let values: [SQLiteData]

    var allColumns: [String] { columns }

    func contains(column: String) -> Bool { columns.contains(column) }

    private func value(_ column: String) throws -> SQLiteData {
        guard let index = columns.firstIndex(of: column) else {
            throw DecodingError.keyNotFound(SQLiteColumnKey(stringValue: column), .init(codingPath: [], debugDescription: "no column \(column)"))
        }
        return values[index]
    }

    func decodeNil(column: String) throws -> Bool {
        if case .null = try value(column) { return true }
        return false
    }

    func decode<D: Decodable>(column: String, as: D.Type) throws -> D {
        let data = try value(column)
        // Direct paths for what models hold; SQLiteDataDecoder builds a generic decoder per value.
        switch data {
        // Primitives by metatype comparison, a pointer compare; an `as?` cast is a runtime lookup.
        case .text(let text):
            if D.self == String.self { return unsafeBitCast(text, to: D.self) }
            if D.self == String?.self { return unsafeBitCast(String?.some(text), to: D.self) }
            if let type = D.self as? any StoredFromText.Type, let value = type.init(storedText: text) as? D { return value }
        case .integer(let integer):
            if D.self == Int64.self { return unsafeBitCast(Int64(integer), to: D.self) }
            if D.self == Int.self { return unsafeBitCast(integer, to: D.self) }
            if D.self == Int64?.self { return unsafeBitCast(Int64?.some(Int64(integer)), to: D.self) }
            if D.self == Double.self { return unsafeBitCast(Double(integer), to: D.self) }
            if let type = D.self as? any StoredFromInteger.Type, let value = type.init(storedInteger: Int64(integer)) as? D { return value }
        case .float(let double):
            // Analytics read scores and predictions by the hundred thousand.
            if D.self == Double.self { return unsafeBitCast(double, to: D.self) }
        case .null:
            // A NULL read as an optional (a birth date, a last purchase) is nil, without a decoder.
            if let type = D.self as? any ExpressibleByNilLiteral.Type, let value = type.init(nilLiteral: ()) as? D { return value }
        default:
            break
        }
        return try SQLiteDataDecoder().decode(D.self, from: data)
    }

    private struct SQLiteColumnKey: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
}
