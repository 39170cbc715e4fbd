import SQLKit

extension SQLQueryFetcher {
    /// The first row decoded into `T`, whose properties are the camel-cased column names.
    func row<T: Decodable>(_: T.Type) async throws -> T? {
        try await first(decoding: T.self, keyDecodingStrategy: .convertFromSnakeCase)
    }

    /// Every row decoded into `T`, whose properties are the camel-cased column names.
    func rows<T: Decodable>(_: T.Type) async throws -> [T] {
        try await all(decoding: T.self, keyDecodingStrategy: .convertFromSnakeCase)
    }
}

extension SQLDialectKind {
    /// Row locking for a worker that claims rows: PostgreSQL skips rows another process holds;
    /// SQLite has one writer, so plain selection inside its write transaction is already exclusive.
    var skipLockedClause: String { self == .postgres ? " FOR UPDATE SKIP LOCKED" : "" }
}
