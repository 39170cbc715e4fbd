import Foundation
import OmniaCore
import SQLKit

/// Reads live profiles (`LiveProfile`) from the aggregates kept on every sale, return and
/// claim — never from the transactions themselves — for one customer or a whole tenant. A merged
/// customer's profile sums their cluster, as the customer 360 does. Each source is one query
/// (bounded by the customers' channels, categories, stores…), so a tenant of 100,000 customers is
/// read in a handful of scans.
struct LiveProfiles: Sendable {
    let tenantID: String
    let currency: Currency
    let timeZone: String
    static let topCategoryCount = 5

    init(tenantID: String, currency: String, timeZone: String) {
        self.tenantID = tenantID
        self.currency = Currency(code: currency) ?? Currency(code: "EUR")!
        self.timeZone = timeZone
    }

    init(caller: Caller) {
        self.init(tenantID: caller.tenantID, currency: caller.tenantCurrency, timeZone: caller.tenantTimeZone)
    }

    /// The profile of a customer (canonical: not merged into another), or nil when there is none.
    func profile(of customerID: String, on sql: any SQLDatabase) async throws -> LiveProfile? {
        try await load(on: sql, only: customerID)[customerID]
    }

    /// Every canonical customer's profile, by id.
    func all(on sql: any SQLDatabase) async throws -> [String: LiveProfile] {
        try await load(on: sql, only: nil)
    }

    /// Profiles of the tenant, or of one canonical customer's cluster.
    private func load(on sql: any SQLDatabase, only customerID: String?) async throws -> [String: LiveProfile] {
        // Every row below belongs to some member of a cluster: `canonical` maps it to the cluster's customer.
        var canonical: [String: String] = [:]
        var profiles: [String: LiveProfile] = [:]
        let customers: SQLQueryString = customerID.map { "AND canonical_id = \(bind: $0)" } ?? ""
        /// Limits a query to the cluster's rows, `column` naming their customer.
        func members(_ column: String = "customer_id") -> SQLQueryString {
            guard let customerID else { return "" }
            return " AND \(unsafeRaw: column) IN (SELECT id FROM customers WHERE tenant_id = \(bind: tenantID) AND canonical_id = \(bind: customerID))"
        }
        for row in try await sql.raw("SELECT id, canonical_id, birth_date FROM customers WHERE tenant_id = \(bind: tenantID) \(customers)").all() {
            let id = try row.decode(column: "id", as: String.self)
            let root = try row.decode(column: "canonical_id", as: String.self)
            canonical[id] = root
            guard id == root else { continue }
            var profile = LiveProfile(id: id, currency: currency)
            profile.birthday = try row.decode(column: "birth_date", as: String?.self).flatMap(RuleCalendar.day)
            profiles[id] = profile
        }

        var channels: [String: [String: LiveProfile.Channel]] = [:]
        for row in try await sql.raw("""
            SELECT s.customer_id, c.code, c.kind, s.orders, s.returns, s.sales_amount, s.returned_amount, s.first_purchase_at, s.last_purchase_at
            FROM customer_channel_stats s JOIN channels c ON c.tenant_id = s.tenant_id AND c.id = s.channel_id
            WHERE s.tenant_id = \(bind: tenantID) AND s.currency = \(bind: currency.code)\(members())
            """).all() {
            guard let id = canonical[try row.decode(column: "customer_id", as: String.self)], var profile = profiles[id] else { continue }
            let orders = try row.decode(column: "orders", as: Int64.self)
            let sales = try row.decode(column: "sales_amount", as: Int64.self)
            let returned = try row.decode(column: "returned_amount", as: Int64.self)
            let code = try row.decode(column: "code", as: String.self)
            profile.orders += orders
            profile.returns += try row.decode(column: "returns", as: Int64.self)
            profile.salesAmount += sales
            profile.returnedAmount += returned
            if let first = try row.decode(column: "first_purchase_at", as: Int64?.self) {
                let day = LocalClock.day(at: first, timeZone: timeZone).day
                profile.firstPurchaseDay = min(profile.firstPurchaseDay ?? day, day)
            }
            if let last = try row.decode(column: "last_purchase_at", as: Int64?.self) {
                let day = LocalClock.day(at: last, timeZone: timeZone).day
                profile.lastPurchaseDay = max(profile.lastPurchaseDay ?? day, day)
            }
            profiles[id] = profile
            let kind = try row.decode(column: "kind", as: String.self)
            channels[id, default: [:]][code, default: LiveProfile.Channel(code: code, kind: kind, orders: 0, netSpend: 0)].orders += orders
            channels[id]?[code]?.netSpend += sales - returned
        }
        for (id, byCode) in channels {
            profiles[id]?.channels = byCode.values.sorted { ($1.orders, $1.netSpend, $0.code) < ($0.orders, $0.netSpend, $1.code) }
        }

        var categories: [String: CustomerCategoryFigures] = [:]
        for row in try await sql.raw("SELECT customer_id, figures FROM customer_categories WHERE tenant_id = \(bind: tenantID)\(members())").all() {
            guard let id = canonical[try row.decode(column: "customer_id", as: String.self)], profiles[id] != nil else { continue }
            let text = try row.decode(column: "figures", as: String.self)
            guard let figures = CustomerCategoryFigures(text: text) else { throw CustomerCategoryFigures.Malformed(text: text) }
            categories[id, default: CustomerCategoryFigures()].add(figures)
        }
        for (id, figures) in categories {
            profiles[id]?.topCategories = figures.entries.filter { $0.quantity > 0 }
                .sorted { ($0.quantity, $1.category) > ($1.quantity, $0.category) }
                .prefix(Self.topCategoryCount).map(\.category)
        }

        var stores: [String: [String: (orders: Int64, last: Int64)]] = [:]
        for row in try await sql.raw("""
            SELECT s.customer_id, l.code, s.orders, s.last_visit_at
            FROM customer_location_stats s JOIN locations l ON l.tenant_id = s.tenant_id AND l.id = s.location_id
            WHERE s.tenant_id = \(bind: tenantID) AND l.kind = 'store'\(members())
            """).all() {
            guard let id = canonical[try row.decode(column: "customer_id", as: String.self)], profiles[id] != nil else { continue }
            let code = try row.decode(column: "code", as: String.self)
            let current = stores[id]?[code] ?? (0, 0)
            stores[id, default: [:]][code] = (current.orders + (try row.decode(column: "orders", as: Int64.self)),
                                               max(current.last, try row.decode(column: "last_visit_at", as: Int64.self)))
        }
        for (id, byCode) in stores {
            profiles[id]?.preferredStore = byCode.max { ($0.value.orders, $0.value.last, $1.key) < ($1.value.orders, $1.value.last, $0.key) }?.key
        }

        for row in try await sql.raw("""
            SELECT m.customer_id, m.tier FROM loyalty_members m JOIN loyalty_programmes p ON p.tenant_id = m.tenant_id AND p.id = m.programme_id
            WHERE m.tenant_id = \(bind: tenantID) AND p.status = 'active' AND p.currency = \(bind: currency.code)\(members("m.customer_id"))
            """).all() {
            guard let id = canonical[try row.decode(column: "customer_id", as: String.self)] else { continue }
            profiles[id]?.tier = try row.decode(column: "tier", as: String.self)
        }
        for row in try await sql.raw("""
            SELECT customer_id, channel FROM customer_consents WHERE tenant_id = \(bind: tenantID) AND granted = 1\(members()) ORDER BY channel
            """).all() {
            guard let id = canonical[try row.decode(column: "customer_id", as: String.self)] else { continue }
            let channel = try row.decode(column: "channel", as: String.self)
            if profiles[id]?.consents.contains(channel) == false { profiles[id]?.consents.append(channel) }
        }
        for row in try await sql.raw("""
            SELECT m.customer_id, s.code FROM segment_members m JOIN segments s ON s.tenant_id = m.tenant_id AND s.id = m.segment_id
            WHERE m.tenant_id = \(bind: tenantID) AND s.status = 'active'\(members("m.customer_id")) ORDER BY s.code
            """).all() {
            guard let id = canonical[try row.decode(column: "customer_id", as: String.self)] else { continue }
            profiles[id]?.segments.append(try row.decode(column: "code", as: String.self))
        }
        for row in try await sql.raw("""
            SELECT customer_id, recency_score, frequency_score, monetary_score, cell, rfm_group FROM customer_rfm
            WHERE tenant_id = \(bind: tenantID)\(members())
            """).all() {
            let id = try row.decode(column: "customer_id", as: String.self)
            guard profiles[id] != nil else { continue }
            profiles[id]?.rfm = LiveProfile.RFM(
                recencyScore: try row.decode(column: "recency_score", as: Int.self), frequencyScore: try row.decode(column: "frequency_score", as: Int.self),
                monetaryScore: try row.decode(column: "monetary_score", as: Int.self), cell: try row.decode(column: "cell", as: String.self),
                group: try row.decode(column: "rfm_group", as: String.self))
        }
        for row in try await sql.raw("""
            SELECT customer_id, expected_purchases, probability_alive, expected_order_value, clv FROM customer_predictions
            WHERE tenant_id = \(bind: tenantID)\(members())
            """).all() {
            let id = try row.decode(column: "customer_id", as: String.self)
            guard profiles[id] != nil else { continue }
            profiles[id]?.predictions = LiveProfile.Predictions(
                expectedPurchases: try row.decode(column: "expected_purchases", as: Double.self),
                probabilityAlive: try row.decode(column: "probability_alive", as: Double.self),
                expectedOrderValue: try row.decode(column: "expected_order_value", as: Int64.self), value: try row.decode(column: "clv", as: Int64.self))
        }
        return profiles
    }
}
