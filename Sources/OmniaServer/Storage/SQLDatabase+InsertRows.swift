import SQLKit
import SQLiteNIO

/// The values of a multi-row insert's rows, added in column order: bound straight onto SQLite's
/// statement, or collected as SQLKit binds for PostgreSQL.
struct SQLRowValues {
    fileprivate var binder: SQLiteBinder?
    fileprivate var collected: [any Encodable & Sendable] = []
    fileprivate var count = 0

    mutating func add(_ value: String) {
        count += 1
        if binder != nil { binder!.bind(value) } else { collected.append(value) }
    }

    mutating func add(_ value: String?) {
        guard let value else { return addNull(String?.none) }
        add(value)
    }

    mutating func add(_ value: Int64) {
        count += 1
        if binder != nil { binder!.bind(value) } else { collected.append(value) }
    }

    mutating func add(_ value: Int64?) {
        guard let value else { return addNull(Int64?.none) }
        add(value)
    }

    mutating func add(_ value: Int) { add(Int64(value)) }

    /// A finite double (analytics' predictions; never money).
    mutating func add(_ value: Double) {
        count += 1
        if binder != nil { binder!.bind(value) } else { collected.append(value) }
    }

    mutating func add(_ value: Int?) { add(value.map(Int64.init)) }

    /// A typed NULL: PostgreSQL infers a parameter's type from the bound value.
    private mutating func addNull(_ null: some Encodable & Sendable) {
        count += 1
        if binder != nil { binder!.bindNull() } else { collected.append(null) }
    }
}

extension SQLDatabase {
    /// `INSERT INTO table (columns) VALUES (…), (…) suffix` of all `rows`, one statement, each row's
    /// values added by `values` — deferred on PostgreSQL like `runDeferrable`. On SQLite the values
    /// are bound directly: SQLKit builds an expression per bound value, and a bulk import's chunk
    /// binds tens of thousands, which cost more to build than SQLite takes to insert them. `suffix`
    /// is SQL without bound values (an `ON CONFLICT` clause).
    func insertRows<Rows: Collection>(into table: String, columns: [String], _ rows: Rows, suffix: String = "",
                                      ifDuplicate: DuplicateRule? = nil, values: (Rows.Element, inout SQLRowValues) -> Void) async throws {
        guard !rows.isEmpty else { return }
        let head = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
        guard let sqlite = self as? SQLiteHandleDatabase else {
            var query = SQLQueryString(head)
            for (index, row) in rows.enumerated() {
                var rowValues = SQLRowValues()
                values(row, &rowValues)
                precondition(rowValues.count == columns.count, "a row of \(table) has \(rowValues.count) values for \(columns.count) columns")
                query += index == 0 ? "(" : ", ("
                for (column, value) in rowValues.collected.enumerated() { query += column == 0 ? "\(bind: value)" : ", \(bind: value)" }
                query += ")"
            }
            query += SQLQueryString(suffix)
            try await runDeferrable(query, ifDuplicate: ifDuplicate)
            return
        }
        let placeholders = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        let text = head + Array(repeating: placeholders, count: rows.count).joined(separator: ", ") + suffix
        do {
            try sqlite.handle.run(text) { binder in
                var rowValues = SQLRowValues(binder: binder)
                for row in rows {
                    let before = rowValues.count
                    values(row, &rowValues)
                    precondition(rowValues.count - before == columns.count,
                                 "a row of \(table) has \(rowValues.count - before) values for \(columns.count) columns")
                }
                binder = rowValues.binder!
            }
        } catch where ifDuplicate != nil && isUniqueViolation(error) {
            throw ifDuplicate!.error
        }
    }
}
