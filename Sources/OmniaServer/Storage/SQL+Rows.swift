import SQLKit

extension SQLQueryFetcher {
    /// The first row decoded into `T`, whose properties are the camel-cased column names.
    func row<T: Decodable>(_: T.Type) async throws -> T? {
        try await first().map { try RowDecoder.decode(T.self, from: $0) }
    }

    /// Every row decoded into `T`, whose properties are the camel-cased column names.
    func rows<T: Decodable>(_: T.Type) async throws -> [T] {
        try await all().map { try RowDecoder.decode(T.self, from: $0) }
    }
}

extension SQLDialectKind {
    /// Row locking for a worker that claims rows: PostgreSQL skips rows another process holds;
    /// SQLite has one writer, so plain selection inside its write transaction is already exclusive.
    var skipLockedClause: String { self == .postgres ? " FOR UPDATE SKIP LOCKED" : "" }
}
