import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit

/// A pooled PostgreSQL connection lent for reads, whose rows decode their columns straight from
/// the wire (`PostgresCellRow`).
///
/// PostgresKit's rows decode every cell through its general translation: a coding key made of the
/// column's name and position, metadata lookups and a dynamic cast, per cell. Reads of many rows —
/// a segment refresh reads ~600,000 rows of profile parts — spent over a third of their CPU there.
/// Statements whose bound values are all of the plain kinds reads bind (text, integers, doubles,
/// booleans) run here; any other goes through PostgresKit unchanged.
struct PostgresReadDatabase: SQLDatabaseWrapper {
    let base: any SQLDatabase
    let connection: PostgresConnection

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        var serializer = SQLSerializer(database: self)
        query.serialize(to: &serializer)
        guard queryLogLevel == nil, let bindings = Self.bindings(serializer.binds) else { return try await base.execute(sql: query, onRow) }
        let rows = try await connection.query(PostgresQuery(unsafeSQL: serializer.sql, binds: bindings), logger: logger)
        // Every row of a result has the same columns: their places are looked up once (a repeated name
        // is its last column, as PostgresNIO names them).
        var columns: [String: Int]?
        for try await row in rows {
            let cells = row.makeRandomAccess()
            let places = columns ?? Dictionary(cells.enumerated().map { ($1.columnName, $0) }) { _, last in last }
            columns = places
            onRow(PostgresCellRow(row: row, cells: cells, columns: places))
        }
    }

    /// The bound values as PostgreSQL binds them, or nil when one is of a kind left to PostgresKit.
    static func bindings(_ values: [any Encodable & Sendable]) -> PostgresBindings? {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case let text as String: bindings.append(text)
            case let number as Int64: bindings.append(number)
            case let number as Int: bindings.append(number)
            case let number as Int32: bindings.append(number)
            case let number as Double: bindings.append(number)
            case let flag as Bool: bindings.append(flag)
            default: return nil
            }
        }
        return bindings
    }
}

/// A row whose plain columns (text, integers, doubles, booleans and their optionals) decode
/// straight from their cells; any other type, and the cases PostgresKit adapts (a numeric read as a
/// double, a user-defined type read as text), decode through PostgresKit's row as before.
struct PostgresCellRow: SQLRow {
    let row: PostgresRow
    let cells: PostgresRandomAccessRow
    /// Each column's place, shared by the rows of one result.
    let columns: [String: Int]

    struct MissingColumn: Error, CustomStringConvertible {
        let column: String
        var description: String { "no column \(column) in the row" }
    }

    var allColumns: [String] { cells.map(\.columnName) }

    func contains(column: String) -> Bool { columns[column] != nil }

    func decodeNil(column: String) throws -> Bool { columns[column].map { cells[$0].bytes == nil } ?? true }

    func decode<T: Decodable>(column: String, as type: T.Type) throws -> T {
        guard let place = columns[column] else { throw MissingColumn(column: column) }
        let cell = cells[place]
        let adapted = cell.dataType.isUserDefined || cell.dataType == .numeric
        if !adapted {
            if T.self == String.self { return try cell.decode(String.self) as! T }
            if T.self == Int64.self { return try cell.decode(Int64.self) as! T }
            if T.self == Int.self { return try cell.decode(Int.self) as! T }
            if T.self == Double.self { return try cell.decode(Double.self) as! T }
            if T.self == Bool.self { return try cell.decode(Bool.self) as! T }
            if T.self == String?.self { return try cell.decode(String?.self) as! T }
            if T.self == Int64?.self { return try cell.decode(Int64?.self) as! T }
            if T.self == Int?.self { return try cell.decode(Int?.self) as! T }
            if T.self == Double?.self { return try cell.decode(Double?.self) as! T }
        }
        return try row.sql().decode(column: column, as: T.self)
    }
}
