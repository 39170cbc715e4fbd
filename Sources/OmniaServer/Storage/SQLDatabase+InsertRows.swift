import SQLKit
import SQLiteNIO

extension SQLDatabase {
    /// `INSERT INTO table (columns) VALUES (…), (…) suffix` of many rows, one statement — deferred
    /// on PostgreSQL like `runDeferrable`. On SQLite the text and values are written directly:
    /// SQLKit builds an expression per bound value, and a bulk import's chunk binds tens of
    /// thousands, which cost more to build than SQLite takes to insert them. `suffix` is SQL
    /// without bound values (an `ON CONFLICT` clause).
    func insertRows(into table: String, columns: [String], rows: [[any Encodable & Sendable]], suffix: String = "",
                    ifDuplicate: DuplicateRule? = nil) async throws {
        guard !rows.isEmpty else { return }
        let head = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
        guard let sqlite = self as? SQLiteHandleDatabase else {
            var query = SQLQueryString(head)
            for (index, row) in rows.enumerated() {
                query += index == 0 ? "(" : ", ("
                for (column, value) in row.enumerated() { query += column == 0 ? "\(bind: value)" : ", \(bind: value)" }
                query += ")"
            }
            query += SQLQueryString(suffix)
            try await runDeferrable(query, ifDuplicate: ifDuplicate)
            return
        }
        let placeholders = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        let text = head + Array(repeating: placeholders, count: rows.count).joined(separator: ", ") + suffix
        var values: [SQLiteData] = []
        values.reserveCapacity(rows.count * columns.count)
        for row in rows {
            precondition(row.count == columns.count, "a row of \(table) has \(row.count) values for \(columns.count) columns")
            for value in row { values.append(try SQLiteHandleDatabase.sqliteValue(value)) }
        }
        do {
            try sqlite.run(text: text, values: values)
        } catch where ifDuplicate != nil && isUniqueViolation(error) {
            throw ifDuplicate!.error
        }
    }
}
