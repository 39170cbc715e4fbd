import Foundation
import OmniaCore
import SQLKit

/// What rules know of a customer, read for many at once (a simulation's sales, a campaign's page of
/// customers): birthday, orders in every channel, spend and loyalty tier per currency, and segments.
struct CustomerFacts: Sendable {
    var id: String
    var birthday: Int32?
    var orders: Int64 = 0
    var spend: [String: Int64] = [:]
    var tiers: [String: String] = [:]
    var segments: [String] = []

    /// As a promotion's or audience's rule reads the customer, in `currency`.
    func customer(in currency: String) -> CheckoutInput.Customer {
        CheckoutInput.Customer(id: id, tier: tiers[currency], segments: segments, birthday: birthday, orders: orders, lifetimeSpend: spend[currency] ?? 0)
    }

    /// The facts of `customerIDs` as they are now: four statements per 500 customers.
    static func load(_ customerIDs: Set<String>, on sql: any SQLDatabase, tenantID: String) async throws -> [String: CustomerFacts] {
        try await load(customerIDs.sorted(), birthdays: nil, on: sql, tenantID: tenantID)
    }

    /// As above, with the birthdays already read (`birthdays` by id) when the caller read the customers themselves.
    static func load(_ customerIDs: [String], birthdays: [String: String?]?, on sql: any SQLDatabase, tenantID: String) async throws -> [String: CustomerFacts] {
        var facts: [String: CustomerFacts] = [:]
        for batch in customerIDs.chunks(of: 500) {
            let ids = Array(batch)
            if let birthdays {
                for id in ids { facts[id] = CustomerFacts(id: id, birthday: birthdays[id].flatMap { $0 }.flatMap(RuleCalendar.day)) }
            } else {
                for row in try await sql.raw("SELECT id, birth_date FROM customers WHERE tenant_id = \(bind: tenantID) AND id IN (\(binds: ids))").all() {
                    let id = try row.decode(column: "id", as: String.self)
                    facts[id] = CustomerFacts(id: id, birthday: try row.decode(column: "birth_date", as: String?.self).flatMap(RuleCalendar.day))
                }
            }
            // PostgreSQL sums BIGINTs as NUMERIC: cast back.
            for row in try await sql.raw("""
                SELECT customer_id, currency, CAST(SUM(orders) AS BIGINT) AS orders, CAST(SUM(sales_amount - returned_amount) AS BIGINT) AS spend
                FROM customer_channel_stats WHERE tenant_id = \(bind: tenantID) AND customer_id IN (\(binds: ids)) GROUP BY customer_id, currency
                """).all() {
                let id = try row.decode(column: "customer_id", as: String.self)
                facts[id]?.orders += try row.decode(column: "orders", as: Int64.self)
                facts[id]?.spend[try row.decode(column: "currency", as: String.self)] = try row.decode(column: "spend", as: Int64.self)
            }
            for row in try await sql.raw("""
                SELECT m.customer_id, m.tier, p.currency FROM loyalty_members m JOIN loyalty_programmes p ON p.tenant_id = m.tenant_id AND p.id = m.programme_id
                WHERE m.tenant_id = \(bind: tenantID) AND m.customer_id IN (\(binds: ids)) AND p.status = 'active'
                """).all() {
                facts[try row.decode(column: "customer_id", as: String.self)]?.tiers[try row.decode(column: "currency", as: String.self)] =
                    try row.decode(column: "tier", as: String.self)
            }
            for row in try await sql.raw("""
                SELECT m.customer_id, g.code FROM segment_members m JOIN segments g ON g.tenant_id = m.tenant_id AND g.id = m.segment_id
                WHERE m.tenant_id = \(bind: tenantID) AND m.customer_id IN (\(binds: ids)) AND g.status = 'active' ORDER BY g.code
                """).all() {
                facts[try row.decode(column: "customer_id", as: String.self)]?.segments.append(try row.decode(column: "code", as: String.self))
            }
        }
        return facts
    }
}
