import OmniaCore
import SQLKit

/// `GET /v1/customers/{id}/overview`: the customer 360 — profile and identifiers, lifetime figures
/// per channel and in total, favourite store and top categories — read from the aggregates kept on
/// write, so it costs the same for a customer with 2 sales or 2,000.
struct CustomerOverview: Encodable, Sendable {
    let customer: Customer
    /// Lifetime figures per currency, all channels together.
    let totals: [SpendFigures]
    /// Lifetime figures per channel (and currency), busiest first.
    let channels: [SpendFigures]
    let favouriteStore: FavouriteStore?
    /// The categories bought most (net of returns), most first.
    let topCategories: [CategoryFigures]
}

/// Sales and returns of a customer in one currency, in one channel or all of them.
struct SpendFigures: Encodable, Sendable {
    let channelId: String?
    let channelCode: String?
    let channelKind: String?
    let currency: String
    let orders: Int64
    let returns: Int64
    let salesAmount: Int64
    let returnedAmount: Int64
    /// Sales less returns.
    let netSpend: Int64
    /// Sales amount per order, rounded down (0 without orders).
    let averageOrderValue: Int64
    let firstPurchaseAt: StoredTime?
    let lastPurchaseAt: StoredTime?
}

struct FavouriteStore: Encodable, Sendable {
    let locationId: String
    let code: String
    let name: String
    let orders: Int64
    let lastVisitAt: StoredTime
}

struct CategoryFigures: Encodable, Sendable {
    let category: String
    let quantity: Int64
    let lines: Int64
}

/// Reads the 360 aggregates of a customer's whole merged cluster: three queries, each bounded by
/// the number of channels, categories or stores the customer used — never by their transactions.
struct CustomerOverviewStore: Sendable {
    let tenantID: String
    static let topCategoryCount = 5

    func overview(on sql: any SQLDatabase, customer: Customer) async throws -> CustomerOverview {
        let cluster: SQLQueryString = "SELECT id FROM customers WHERE tenant_id = \(bind: tenantID) AND canonical_id = \(bind: customer.id)"
        let channelRows = try await sql.raw("""
            SELECT s.channel_id, c.code, c.kind, s.currency,
                CAST(SUM(s.orders) AS BIGINT) AS orders, CAST(SUM(s.returns) AS BIGINT) AS returns,
                CAST(SUM(s.sales_amount) AS BIGINT) AS sales_amount, CAST(SUM(s.returned_amount) AS BIGINT) AS returned_amount,
                MIN(s.first_purchase_at) AS first_purchase_at, MAX(s.last_purchase_at) AS last_purchase_at
            FROM customer_channel_stats s JOIN channels c ON c.tenant_id = s.tenant_id AND c.id = s.channel_id
            WHERE s.tenant_id = \(bind: tenantID) AND s.customer_id IN (\(cluster))
            GROUP BY s.channel_id, c.code, c.kind, s.currency
            """).all()
        var channels: [SpendFigures] = []
        for row in channelRows {
            channels.append(Self.figures(
                channelID: try row.decode(column: "channel_id", as: String.self), code: try row.decode(column: "code", as: String.self),
                kind: try row.decode(column: "kind", as: String.self), currency: try row.decode(column: "currency", as: String.self),
                orders: try row.decode(column: "orders", as: Int64.self), returns: try row.decode(column: "returns", as: Int64.self),
                sales: try row.decode(column: "sales_amount", as: Int64.self), returned: try row.decode(column: "returned_amount", as: Int64.self),
                first: try row.decode(column: "first_purchase_at", as: Int64?.self), last: try row.decode(column: "last_purchase_at", as: Int64?.self)))
        }
        channels.sort { left, right in
            left.orders != right.orders ? left.orders > right.orders : (left.channelId ?? "", left.currency) < (right.channelId ?? "", right.currency)
        }

        var totals: [SpendFigures] = []
        for (currency, rows) in Dictionary(grouping: channels, by: \.currency).sorted(by: { $0.key < $1.key }) {
            let orders: Int64 = rows.map(\.orders).reduce(0, +)
            let returns: Int64 = rows.map(\.returns).reduce(0, +)
            let sales: Int64 = rows.map(\.salesAmount).reduce(0, +)
            let returned: Int64 = rows.map(\.returnedAmount).reduce(0, +)
            let first: Int64? = rows.compactMap { $0.firstPurchaseAt?.milliseconds }.min()
            let last: Int64? = rows.compactMap { $0.lastPurchaseAt?.milliseconds }.max()
            totals.append(Self.figures(channelID: nil, code: nil, kind: nil, currency: currency, orders: orders, returns: returns, sales: sales,
                                       returned: returned, first: first, last: last))
        }

        // Each customer of the cluster holds their categories in one value: summed here.
        var summed = CustomerCategoryFigures()
        for text in try await sql.raw("""
            SELECT figures FROM customer_categories WHERE tenant_id = \(bind: tenantID) AND customer_id IN (\(cluster))
            """).all(decodingColumn: "figures", as: String.self) {
            guard let figures = CustomerCategoryFigures(text: text) else { throw CustomerCategoryFigures.Malformed(text: text) }
            summed.add(figures)
        }
        let categories = summed.entries.filter { $0.quantity > 0 }
            .sorted { ($0.quantity, $1.category) > ($1.quantity, $0.category) }
            .prefix(Self.topCategoryCount)
            .map { CategoryFigures(category: $0.category, quantity: $0.quantity, lines: $0.lines) }

        let favourite = try await sql.raw("""
            SELECT s.location_id, l.code, l.name, CAST(SUM(s.orders) AS BIGINT) AS orders, MAX(s.last_visit_at) AS last_visit_at
            FROM customer_location_stats s JOIN locations l ON l.tenant_id = s.tenant_id AND l.id = s.location_id
            WHERE s.tenant_id = \(bind: tenantID) AND s.customer_id IN (\(cluster)) AND l.kind = 'store'
            GROUP BY s.location_id, l.code, l.name ORDER BY 4 DESC, 5 DESC LIMIT 1
            """).first().map { row in
            FavouriteStore(locationId: try row.decode(column: "location_id", as: String.self), code: try row.decode(column: "code", as: String.self),
                           name: try row.decode(column: "name", as: String.self), orders: try row.decode(column: "orders", as: Int64.self),
                           lastVisitAt: StoredTime(milliseconds: try row.decode(column: "last_visit_at", as: Int64.self)))
        }
        return CustomerOverview(customer: customer, totals: totals, channels: channels, favouriteStore: favourite, topCategories: categories)
    }

    private static func figures(channelID: String?, code: String?, kind: String?, currency: String, orders: Int64, returns: Int64, sales: Int64,
                                returned: Int64, first: Int64?, last: Int64?) -> SpendFigures {
        SpendFigures(channelId: channelID, channelCode: code, channelKind: kind, currency: currency, orders: orders, returns: returns,
                     salesAmount: sales, returnedAmount: returned, netSpend: sales - returned, averageOrderValue: orders == 0 ? 0 : sales / orders,
                     firstPurchaseAt: first.map(StoredTime.init(milliseconds:)), lastPurchaseAt: last.map(StoredTime.init(milliseconds:)))
    }
}
