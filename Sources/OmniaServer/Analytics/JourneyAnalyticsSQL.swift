import OmniaCore
import SQLKit

/// Where the SQL of journey analytics and the maturity scorecard differs between SQLite and
/// PostgreSQL, in one place. Everything else in those queries is common SQL: integer arithmetic on
/// epoch milliseconds (both divide integers to an integer) and `CAST(SUM(…) AS BIGINT)` because
/// PostgreSQL sums BIGINTs to NUMERIC.
struct JourneyAnalyticsSQL: Sendable {
    let dialect: SQLDialectKind

    /// Top-level property `name` of the JSON text in `column`, as text.
    func jsonText(_ column: String, _ name: String) -> String {
        switch dialect {
        case .sqlite: "json_extract(\(column), '$.\(name)')"
        case .postgres: "(CAST(\(column) AS jsonb) ->> '\(name)')"
        }
    }

    /// A FROM item (aliased `j`) with one row per element of the array at property `key` of the
    /// JSON text in `column` — none when the property is missing — and the expression of an element as text.
    func jsonArrayElements(_ column: String, _ key: String) -> (from: String, element: String) {
        switch dialect {
        case .sqlite: ("json_each(\(column), '$.\(key)') AS j", "j.value")
        case .postgres: ("jsonb_array_elements_text(CAST(\(column) AS jsonb) -> '\(key)') AS j(element)", "j.element")
        }
    }

    /// An aggregate joining a group's `expression`s with commas in the order `orderBy` gives
    /// (SQLite ≥ 3.44 orders an aggregate's input; the bundled one is newer).
    func orderedList(_ expression: String, orderBy: String) -> String {
        switch dialect {
        case .sqlite: "group_concat(\(expression), ',' ORDER BY \(orderBy))"
        case .postgres: "string_agg(\(expression), ',' ORDER BY \(orderBy))"
        }
    }

    /// `expression` ordered byte by byte, as SQLite orders text: PostgreSQL's default collation may
    /// order `-`, `_` and `.` in channel codes otherwise, and ties at one instant are broken by it.
    func binary(_ expression: String) -> String {
        dialect == .postgres ? "\(expression) COLLATE \"C\"" : expression
    }
}

/// Who a row's customer counts as: their cluster — the customer they resolve to today — once the
/// tenant has merged customers (a merge never rewrites history, see migration 002), or the customer
/// itself while it has none, which spares joining every transaction to `customers`.
struct CustomerClusters: Sendable {
    let merged: Bool

    /// Whether any merge of the tenant stands (one index probe).
    static func load(on sql: any SQLDatabase, tenantID: String) async throws -> CustomerClusters {
        let standing = try await sql.raw("""
            SELECT id FROM customer_merges WHERE tenant_id = \(bind: tenantID) AND unmerged_at IS NULL LIMIT 1
            """).first()
        return CustomerClusters(merged: standing != nil)
    }

    /// The join of `row`'s customer as `alias`, which `key` needs; nothing before any merge.
    /// `left`: keep rows without a customer (anonymous ones). The tenant is bound rather than taken
    /// from `row`, so the planner sees it as a constant and reaches a cluster by `customers_by_canonical`.
    func join(_ row: String, as alias: String, tenantID: String, left: Bool = false) -> SQLQueryString {
        guard merged else { return "" }
        let kind = left ? "LEFT JOIN" : "JOIN"
        var join: SQLQueryString = " \(unsafeRaw: kind) customers \(unsafeRaw: alias)"
        join += " ON \(unsafeRaw: alias).tenant_id = \(bind: tenantID) AND \(unsafeRaw: alias).id = \(unsafeRaw: row).customer_id"
        return join
    }

    /// The cluster of `row`'s customer (NULL for none), with `join(row, as: alias, …)` in the query.
    func key(_ row: String, _ alias: String) -> SQLQueryString {
        if merged { return "\(unsafeRaw: alias).canonical_id" }
        return "\(unsafeRaw: row).customer_id"
    }
}
