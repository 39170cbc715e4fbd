import OmniaCore
import SQLKit

/// What one or more transactions add to their customers' aggregates, summed per row of each stats
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

    /// A row of a stats table: the customer and what the table counts per customer (a channel and
    /// currency, a category, a location). Ordered, so that every writer upserts in one order.
    struct Key: Hashable, Comparable, Sendable {
        let customerID: String
        let name: String
        var detail = ""

        static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.customerID, lhs.name, lhs.detail) < (rhs.customerID, rhs.name, rhs.detail)
        }
    }

    /// Figures per key in the order the keys first came: a sale's rows of one table (its
    /// categories) stay next to each other, so the upsert writes one customer's rows one after
    /// another — on SQLite, to the same b-tree page while it is in the processor's cache.
    struct OrderedFigures<Figures: Sendable>: Sendable {
        private(set) var entries: [(key: Key, figures: Figures)] = []
        private var positions: [Key: Int] = [:]

        init(reservingCapacity capacity: Int = 0) {
            entries.reserveCapacity(capacity)
            positions.reserveCapacity(capacity)
        }

        mutating func update(_ key: Key, startingFrom initial: Figures, _ change: (inout Figures) -> Void) {
            if let position = positions[key] {
                change(&entries[position].figures)
            } else {
                var figures = initial
                change(&figures)
                positions[key] = entries.count
                entries.append((key, figures))
            }
        }
    }

    /// Keyed by customer, channel and currency.
    private(set) var channels = OrderedFigures<ChannelFigures>()
    /// Keyed by customer alone: a customer's categories are one value (`CustomerCategoryFigures`).
    private(set) var categories = OrderedFigures<CustomerCategoryFigures>()
    /// Keyed by customer and location.
    private(set) var locations = OrderedFigures<(orders: Int64, lastVisitAt: Int64)>()

    init() {}

    /// Room for the figures of `sales` sales with `lines` lines in all (a bulk import's chunk), so
    /// adding them never regrows the tables: each sale adds at most one row per table.
    init(reservingCapacityForSales sales: Int) {
        channels = OrderedFigures(reservingCapacity: sales)
        categories = OrderedFigures(reservingCapacity: sales)
        locations = OrderedFigures(reservingCapacity: sales)
    }

    /// Adds a sale's figures to `customerID`'s, or takes a return's away.
    mutating func add(_ row: TransactionRow, lines: [TransactionLine], customerID: String) {
        let isSale = row.kind == TransactionKind.sale.rawValue
        channels.update(Key(customerID: customerID, name: row.channelId, detail: row.currency), startingFrom: ChannelFigures()) { figures in
            if isSale {
                figures.orders += 1
                figures.salesAmount += row.total
                figures.firstPurchaseAt = min(figures.firstPurchaseAt ?? row.occurredAt, row.occurredAt)
                figures.lastPurchaseAt = max(figures.lastPurchaseAt ?? row.occurredAt, row.occurredAt)
            } else {
                figures.returns += 1
                figures.returnedAmount += row.total
            }
        }
        if lines.contains(where: { $0.category != nil }) {
            categories.update(Key(customerID: customerID, name: ""), startingFrom: CustomerCategoryFigures()) { figures in
                for line in lines {
                    guard let category = line.category else { continue }
                    figures.add(category, quantity: isSale ? line.quantity : -line.quantity, lines: isSale ? 1 : 0)
                }
            }
        }
        if isSale, let locationID = row.locationId {
            locations.update(Key(customerID: customerID, name: locationID), startingFrom: (0, row.occurredAt)) { entry in
                entry = (entry.orders + 1, max(entry.lastVisitAt, row.occurredAt))
            }
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

    /// Rows per statement: a bulk import's chunk touches many customers; this keeps each statement
    /// well under both databases' limits on bound values, and its text (so SQLite's cached
    /// statement) the same from one full batch to the next.
    static let rowsPerStatement = 200

    /// Adds the delta of one or many customers, one upsert per table and batch of rows.
    func record(on sql: any SQLDatabase, _ delta: CustomerStatsDelta) async throws {
        let (least, greatest) = dialect == .postgres ? ("LEAST", "GREATEST") : ("min", "max")
        try await upsert(
            on: sql, delta.channels.entries, into: "customer_channel_stats",
            columns: ["tenant_id", "customer_id", "channel_id", "currency", "orders", "returns", "sales_amount", "returned_amount",
                      "first_purchase_at", "last_purchase_at"],
            row: { key, figures, values in
                values.add(key.name)
                values.add(key.detail)
                values.add(figures.orders)
                values.add(figures.returns)
                values.add(figures.salesAmount)
                values.add(figures.returnedAmount)
                values.add(figures.firstPurchaseAt)
                values.add(figures.lastPurchaseAt)
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
            on: sql, delta.categories.entries, into: "customer_categories", columns: ["tenant_id", "customer_id", "figures"],
            row: { _, figures, values in values.add(figures.text) },
            onConflict: """
                 ON CONFLICT (tenant_id, customer_id) DO UPDATE SET
                figures = \(CustomerCategoryFigures.adding("excluded.figures", to: "customer_categories.figures", dialect: dialect))
                """)
        try await upsert(
            on: sql, delta.locations.entries, into: "customer_location_stats", columns: ["tenant_id", "customer_id", "location_id", "orders", "last_visit_at"],
            row: { key, figures, values in
                values.add(key.name)
                values.add(figures.orders)
                values.add(figures.lastVisitAt)
            },
            onConflict: """
                 ON CONFLICT (tenant_id, customer_id, location_id) DO UPDATE SET
                orders = customer_location_stats.orders + excluded.orders,
                last_visit_at = \(greatest)(customer_location_stats.last_visit_at, excluded.last_visit_at)
                """)
    }

    /// One stats table's upsert, a multi-row statement per batch. Every table's key starts with the
    /// tenant and the customer; `row` adds the columns after those.
    private func upsert<Figures: Sendable>(on sql: any SQLDatabase, _ entries: [(key: CustomerStatsDelta.Key, figures: Figures)], into table: String,
                                           columns: [String],
                                           row: (_ key: CustomerStatsDelta.Key, _ figures: Figures, _ values: inout SQLRowValues) -> Void,
                                           onConflict: String) async throws {
        // In key order on PostgreSQL, so two transactions never wait on each other's rows in a
        // cycle. SQLite has one writer: the rows stay in first-seen order (a customer's together),
        // as sorting a chunk's thousands of rows costs more than upserting them.
        let rows = dialect == .postgres ? entries.sorted { $0.key < $1.key } : entries
        for batch in rows.chunks(of: Self.rowsPerStatement) {
            try await sql.insertRows(into: table, columns: columns, batch, suffix: onConflict) { entry, values in
                values.add(tenantID)
                values.add(entry.key.customerID)
                row(entry.key, entry.figures, &values)
            }
        }
    }
}
