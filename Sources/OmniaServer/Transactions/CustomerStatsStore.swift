import OmniaCore
import SQLKit

/// What one or more transactions add to a customer's aggregates, summed per row of each stats
/// table: a statement may touch a row only once (PostgreSQL refuses an upsert that hits the same
/// row twice, and held writes of one transaction are sent as one statement).
struct CustomerStatsDelta: Sendable {
    struct ChannelFigures: Sendable {
        var orders: Int64 = 0
        var returns: Int64 = 0
        var salesAmount: Int64 = 0
        var returnedAmount: Int64 = 0
        var firstPurchaseAt: Int64?
        var lastPurchaseAt: Int64?
    }

    private(set) var channels: [String: ChannelFigures] = [:]
    private(set) var categories: [String: (quantity: Int64, lines: Int64)] = [:]
    private(set) var locations: [String: (orders: Int64, lastVisitAt: Int64)] = [:]

    /// Adds a sale's figures, or takes a return's away.
    mutating func add(_ row: TransactionRow, lines: [TransactionLine]) {
        let isSale = row.kind == TransactionKind.sale.rawValue
        let key = "\(row.channelId) \(row.currency)"
        var figures = channels[key, default: ChannelFigures()]
        if isSale {
            figures.orders += 1
            figures.salesAmount += row.total
            figures.firstPurchaseAt = min(figures.firstPurchaseAt ?? row.occurredAt, row.occurredAt)
            figures.lastPurchaseAt = max(figures.lastPurchaseAt ?? row.occurredAt, row.occurredAt)
        } else {
            figures.returns += 1
            figures.returnedAmount += row.total
        }
        channels[key] = figures
        for line in lines {
            guard let category = line.category else { continue }
            let entry = categories[category, default: (0, 0)]
            categories[category] = isSale ? (entry.quantity + line.quantity, entry.lines + 1) : (entry.quantity - line.quantity, entry.lines)
        }
        if isSale, let locationID = row.locationId {
            let entry = locations[locationID, default: (0, row.occurredAt)]
            locations[locationID] = (entry.orders + 1, max(entry.lastVisitAt, row.occurredAt))
        }
    }
}

/// The per-customer aggregates behind the customer 360, kept current as sales, returns and claims
/// land — one upsert per table, in the same database transaction — so reading a customer costs a
/// few index reads however many transactions they have. Rows are keyed by the customer the
/// transaction was recorded for; reads sum a merged customer's whole cluster.
struct CustomerStatsStore: Sendable {
    let tenantID: String
    let dialect: SQLDialectKind

    func record(on sql: any SQLDatabase, _ delta: CustomerStatsDelta, customerID: String) async throws {
        try await record(on: sql, [customerID: delta])
    }

    /// Rows per statement: a bulk import's chunk touches many customers; this keeps each statement
    /// well under both databases' limits on bound values, and its text (so SQLite's cached
    /// statement) the same from one full batch to the next.
    static let rowsPerStatement = 200

    /// Adds the deltas of many customers, one upsert per table and batch of rows.
    func record(on sql: any SQLDatabase, _ deltas: [String: CustomerStatsDelta]) async throws {
        let (least, greatest) = dialect == .postgres ? ("LEAST", "GREATEST") : ("min", "max")
        try await upsert(
            on: sql, deltas, into: "customer_channel_stats",
            columns: ["tenant_id", "customer_id", "channel_id", "currency", "orders", "returns", "sales_amount", "returned_amount",
                      "first_purchase_at", "last_purchase_at"],
            entries: \.channels,
            row: { customerID, key, figures in
                let parts = key.split(separator: " ")
                return [tenantID, customerID, String(parts[0]), String(parts[1]), figures.orders, figures.returns, figures.salesAmount,
                        figures.returnedAmount, figures.firstPurchaseAt, figures.lastPurchaseAt]
            },
            onConflict: """
                 ON CONFLICT (tenant_id, customer_id, channel_id, currency) DO UPDATE SET
                    orders = customer_channel_stats.orders + excluded.orders,
                    returns = customer_channel_stats.returns + excluded.returns,
                    sales_amount = customer_channel_stats.sales_amount + excluded.sales_amount,
                    returned_amount = customer_channel_stats.returned_amount + excluded.returned_amount,
                    first_purchase_at = \(least)(COALESCE(customer_channel_stats.first_purchase_at, excluded.first_purchase_at),
                        COALESCE(excluded.first_purchase_at, customer_channel_stats.first_purchase_at)),
                    last_purchase_at = \(greatest)(COALESCE(customer_channel_stats.last_purchase_at, excluded.last_purchase_at),
                        COALESCE(excluded.last_purchase_at, customer_channel_stats.last_purchase_at))
                """)
        try await upsert(
            on: sql, deltas, into: "customer_category_stats", columns: ["tenant_id", "customer_id", "category", "quantity", "lines"],
            entries: \.categories,
            row: { customerID, category, figures in [tenantID, customerID, category, figures.quantity, figures.lines] },
            onConflict: """
                 ON CONFLICT (tenant_id, customer_id, category) DO UPDATE SET
                quantity = customer_category_stats.quantity + excluded.quantity, lines = customer_category_stats.lines + excluded.lines
                """)
        try await upsert(
            on: sql, deltas, into: "customer_location_stats", columns: ["tenant_id", "customer_id", "location_id", "orders", "last_visit_at"],
            entries: \.locations,
            row: { customerID, locationID, figures in [tenantID, customerID, locationID, figures.orders, figures.lastVisitAt] },
            onConflict: """
                 ON CONFLICT (tenant_id, customer_id, location_id) DO UPDATE SET
                orders = customer_location_stats.orders + excluded.orders,
                last_visit_at = \(greatest)(customer_location_stats.last_visit_at, excluded.last_visit_at)
                """)
    }

    /// One stats table's upsert: every customer's entries of it (customer, then key order), a
    /// multi-row statement per batch.
    private func upsert<Figures>(on sql: any SQLDatabase, _ deltas: [String: CustomerStatsDelta], into table: String, columns: [String],
                                 entries: (CustomerStatsDelta) -> [String: Figures],
                                 row: (_ customerID: String, _ key: String, _ figures: Figures) -> [any Encodable & Sendable],
                                 onConflict: String) async throws {
        let rows = deltas.keys.sorted().flatMap { customerID in
            entries(deltas[customerID]!).sorted { $0.key < $1.key }.map { row(customerID, $0.key, $0.value) }
        }
        for batch in rows.chunks(of: Self.rowsPerStatement) {
            try await sql.insertRows(into: table, columns: columns, rows: Array(batch), suffix: onConflict)
        }
    }
}
