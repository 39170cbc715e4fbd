import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit

/// A pooled PostgreSQL connection whose rows decode their columns straight from the wire
/// (`PostgresCellRow`): reads run on it, and so do transactions (`PostgresTransaction` sends its
/// statements through it).
///
/// PostgresKit's rows decode every cell through its general translation: a coding key made of the
/// column's name and position, metadata lookups and a dynamic cast, per cell. Reads of many rows —
/// a segment refresh reads ~600,000 rows of profile parts, then each segment's present members in
/// its transaction — spent over a third of their CPU there.
/// Statements whose bound values are all of the plain kinds reads bind (text, integers, doubles,
/// booleans) run here; any other goes through PostgresKit unchanged.
struct PostgresCellDatabase: SQLDatabaseWrapper {
    let base: any SQLDatabase
    let connection: PostgresConnection

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        var serializer = SQLSerializer(database: self)
        query.serialize(to: &serializer)
        guard queryLogLevel == nil, let bindings = Self.bindings(serializer.binds) else { return try await base.execute(sql: query, onRow) }
        let rows = try await connection.query(PostgresQuery(unsafeSQL: serializer.sql, binds: bindings), logger: logger)
        // Every row of a result has the same columns: their names are worked out once.
        var columns: [String]?
        for try await row in rows {
            let cells = row.makeRandomAccess()
            let names = columns ?? PostgresCellRow.names(cells.map(\.columnName))
            columns = names
            onRow(PostgresCellRow(row: row, cells: cells, columns: names))
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
    /// The columns' names in order, shared by the rows of one result, a name that a later column
    /// repeats left empty: a repeated name is its last column, as PostgresNIO has it. Searched in
    /// order, which for the few columns of a row is cheaper than hashing the name (most of a
    /// dictionary's cost), and callers mostly decode columns in the order they are selected.
    let columns: [String]

    /// `columns` of a result whose columns are named `names`, in order.
    static func names(_ names: [String]) -> [String] {
        names.enumerated().map { place, name in names[(place + 1)...].contains(name) ? "" : name }
    }

    private func place(_ column: String) -> Int? {
        guard !column.isEmpty else { return nil }
        return columns.firstIndex(of: column)
    }

    struct MissingColumn: Error, CustomStringConvertible {
        let column: String
        var description: String { "no column \(column) in the row" }
    }

    var allColumns: [String] { cells.map(\.columnName) }

    func contains(column: String) -> Bool { place(column) != nil }

    func decodeNil(column: String) throws -> Bool { place(column).map { cells[$0].bytes == nil } ?? true }

    func decode<T: Decodable>(column: String, as type: T.Type) throws -> T {
        guard let place = place(column) else { throw MissingColumn(column: column) }
        let cell = cells[place]
        let adapted = cell.dataType.isUserDefined || cell.dataType == .numeric
        // `T` is the type just compared with, so the value is reinterpreted as what it already is
        // (a checked cast per cell cost a twentieth of a refresh's decoding).
        if !adapted {
            if T.self == String.self { return unsafeBitCast(try cell.decode(String.self), to: T.self) }
            if T.self == Int64.self { return unsafeBitCast(try cell.decode(Int64.self), to: T.self) }
            if T.self == Int.self { return unsafeBitCast(try cell.decode(Int.self), to: T.self) }
            if T.self == Double.self { return unsafeBitCast(try cell.decode(Double.self), to: T.self) }
            if T.self == Bool.self { return unsafeBitCast(try cell.decode(Bool.self), to: T.self) }
            if T.self == String?.self { return unsafeBitCast(try cell.decode(String?.self), to: T.self) }
            if T.self == Int64?.self { return unsafeBitCast(try cell.decode(Int64?.self), to: T.self) }
            if T.self == Int?.self { return unsafeBitCast(try cell.decode(Int?.self), to: T.self) }
            if T.self == Double?.self { return unsafeBitCast(try cell.decode(Double?.self), to: T.self) }
        }
        return try row.sql().decode(column: column, as: T.self)
    }
}
