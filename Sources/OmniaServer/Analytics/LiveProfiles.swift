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

    /// The parts of a profile a reader needs. A segment's rules seldom read every part, and each
    /// part is a scan of its own table: a refresh reads only what its rules and attributes read.
    struct Parts: OptionSet, Sendable {
        let rawValue: Int
        /// Orders, spend, first and last purchase, the channels and everything derived from them.
        static let channels = Parts(rawValue: 1 << 0)
        static let categories = Parts(rawValue: 1 << 1)
        static let stores = Parts(rawValue: 1 << 2)
        static let tier = Parts(rawValue: 1 << 3)
        static let consents = Parts(rawValue: 1 << 4)
        static let segments = Parts(rawValue: 1 << 5)
        static let rfm = Parts(rawValue: 1 << 6)
        static let predictions = Parts(rawValue: 1 << 7)
        static let all: Parts = [.channels, .categories, .stores, .tier, .consents, .segments, .rfm, .predictions]

        /// Each part named, one by one.
        var each: [Parts] { (0..<8).map { Parts(rawValue: 1 << $0) }.filter(contains) }

        /// The part each of `ProfileSchema.customer`'s fields is read from; the id and birthday come with every profile.
        static let byField: [String: Parts] = [
            "id": [], "birthday": [], "days_to_birthday": [],
            "orders": .channels, "returns": .channels, "lifetime_spend": .channels, "sales": .channels, "average_order_value": .channels,
            "returns_rate": .channels, "first_purchase": .channels, "last_purchase": .channels, "days_since_last_purchase": .channels,
            "purchase_interval_days": .channels, "preferred_channel": .channels, "preferred_channel_kind": .channels,
            "channel_kinds": .channels, "channel_mix": .channels, "channels": .channels,
            "top_categories": .categories, "preferred_store": .stores, "tier": .tier, "consents": .consents, "segments": .segments,
            "rfm": .rfm, "clv": .predictions,
        ]

        /// What rules over `ProfileSchema.segment` read, with what the computed attributes they read
        /// read. A path this code does not know (the whole `customer`, a field added later) reads everything.
        static func read(by programs: [RuleProgram], attributes: ProfileAttributes.Compiled) -> Parts {
            var parts: Parts = []
            var readsAttributes = false
            for program in programs {
                for path in program.expression.fieldPaths where path.first == "customer" {
                    guard path.count > 1 else { return .all }
                    if path[1] == "attributes" {
                        readsAttributes = true
                    } else {
                        parts.formUnion(byField[path[1]] ?? .all)
                    }
                }
            }
            // Attributes are computed from the profile without attributes (one cannot read another).
            if readsAttributes { parts.formUnion(read(by: attributes.programs, attributes: attributes)) }
            return parts
        }
    }

    /// The profile of a customer (canonical: not merged into another), or nil when there is none.
    func profile(of customerID: String, on sql: any SQLDatabase) async throws -> LiveProfile? {
        var (profiles, slot) = try await customers(on: sql, only: customerID)
        for part in Parts.all.each { try await read(part, on: sql, slot: slot, into: &profiles, only: customerID) }
        return profiles.first
    }

    /// Every canonical customer's profile, in id order, with the parts `parts` names (the others
    /// left empty). The parts are independent scans, so each is read on a reader of its own, all
    /// at once: a tenant's 600,000 rows take the time of the largest part rather than of them all.
    func all(in database: any Database, parts: Parts = .all) async throws -> [LiveProfile] {
        let (blank, slot) = try await database.read { sql in try await self.customers(on: sql, only: nil) }
        let read = try await withThrowingTaskGroup(of: (Parts, [LiveProfile]).self) { group in
            for part in parts.each {
                group.addTask {
                    try await database.read { sql in
                        var profiles = blank
                        try await self.read(part, on: sql, slot: slot, into: &profiles, only: nil)
                        return (part, profiles)
                    }
                }
            }
            var read: [(Parts, [LiveProfile])] = []
            for try await part in group { read.append(part) }
            return read
        }
        var profiles = blank
        for (part, filled) in read {
            for index in profiles.indices { Self.take(part, from: filled[index], into: &profiles[index]) }
        }
        return profiles
    }

    /// The canonical customers (or the cluster of `only`), in id order, with their ids and birthdays,
    /// and for every customer id, merged ones included, its cluster's place among them.
    private func customers(on sql: any SQLDatabase, only customerID: String?) async throws -> (profiles: [LiveProfile], slot: [String: Int]) {
        var slot: [String: Int] = [:]
        var profiles: [LiveProfile] = []
        var merged: [(id: String, root: String)] = []
        let customers: SQLQueryString = customerID.map { "AND canonical_id = \(bind: $0)" } ?? ""
        for row in try await sql.raw("""
            SELECT id, canonical_id, birth_date FROM customers WHERE tenant_id = \(bind: tenantID) \(customers) ORDER BY id
            """).all() {
            let id = try row.decode(column: "id", as: String.self)
            let root = try row.decode(column: "canonical_id", as: String.self)
            guard id == root else {
                merged.append((id, root))
                continue
            }
            var profile = LiveProfile(id: id, currency: currency)
            profile.birthday = try row.decode(column: "birth_date", as: String?.self).flatMap(RuleCalendar.day)
            slot[id] = profiles.count
            profiles.append(profile)
        }
        for (id, root) in merged { slot[id] = slot[root] }
        return (profiles, slot)
    }

    /// What `part` holds, from `source` into `target`.
    private static func take(_ part: Parts, from source: LiveProfile, into target: inout LiveProfile) {
        switch part {
        case .channels:
            target.orders = source.orders
            target.returns = source.returns
            target.salesAmount = source.salesAmount
            target.returnedAmount = source.returnedAmount
            target.firstPurchaseDay = source.firstPurchaseDay
            target.lastPurchaseDay = source.lastPurchaseDay
            target.channels = source.channels
        case .categories: target.topCategories = source.topCategories
        case .stores: target.preferredStore = source.preferredStore
        case .tier: target.tier = source.tier
        case .consents: target.consents = source.consents
        case .segments: target.segments = source.segments
        case .rfm: target.rfm = source.rfm
        case .predictions: target.predictions = source.predictions
        default: break
        }
    }

    /// Reads one part (a single one of `Parts`) into `profiles`, each row finding its cluster's
    /// profile with one lookup of its customer id and adding to it in place: copying a profile out
    /// of a dictionary and back for each row was most of a tenant's time.
    private func read(_ part: Parts, on sql: any SQLDatabase, slot: [String: Int], into profiles: inout [LiveProfile],
                      only customerID: String?) async throws {
        /// Limits a query to the cluster's rows, `column` naming their customer.
        func members(_ column: String = "customer_id") -> SQLQueryString {
            guard let customerID else { return "" }
            return " AND \(unsafeRaw: column) IN (SELECT id FROM customers WHERE tenant_id = \(bind: tenantID) AND canonical_id = \(bind: customerID))"
        }
        func index(_ row: any SQLRow, _ column: String = "customer_id") throws -> Int? { slot[try row.decode(column: column, as: String.self)] }

        if part == .channels {
            var days = LocalClock.Days(timeZone: timeZone)
            for row in try await sql.raw("""
                SELECT s.customer_id, c.code, c.kind, s.orders, s.returns, s.sales_amount, s.returned_amount, s.first_purchase_at, s.last_purchase_at
                FROM customer_channel_stats s JOIN channels c ON c.tenant_id = s.tenant_id AND c.id = s.channel_id
                WHERE s.tenant_id = \(bind: tenantID) AND s.currency = \(bind: currency.code)\(members())
                """).all() {
                guard let at = try index(row) else { continue }
                let orders = try row.decode(column: "orders", as: Int64.self)
                let net = try row.decode(column: "sales_amount", as: Int64.self) - row.decode(column: "returned_amount", as: Int64.self)
                profiles[at].orders += orders
                profiles[at].returns += try row.decode(column: "returns", as: Int64.self)
                profiles[at].salesAmount += try row.decode(column: "sales_amount", as: Int64.self)
                profiles[at].returnedAmount += try row.decode(column: "returned_amount", as: Int64.self)
                if let first = try row.decode(column: "first_purchase_at", as: Int64?.self) {
                    let day = days.day(at: first)
                    profiles[at].firstPurchaseDay = min(profiles[at].firstPurchaseDay ?? day, day)
                }
                if let last = try row.decode(column: "last_purchase_at", as: Int64?.self) {
                    let day = days.day(at: last)
                    profiles[at].lastPurchaseDay = max(profiles[at].lastPurchaseDay ?? day, day)
                }
                // Members of a cluster may have bought in the same channel: one entry per code.
                let code = try row.decode(column: "code", as: String.self)
                if let same = profiles[at].channels.firstIndex(where: { $0.code == code }) {
                    profiles[at].channels[same].orders += orders
                    profiles[at].channels[same].netSpend += net
                } else {
                    profiles[at].channels.append(LiveProfile.Channel(code: code, kind: try row.decode(column: "kind", as: String.self),
                                                                     orders: orders, netSpend: net))
                }
            }
            for at in profiles.indices where profiles[at].channels.count > 1 {
                profiles[at].channels.sort { ($1.orders, $1.netSpend, $0.code) < ($0.orders, $0.netSpend, $1.code) }
            }
        }

        if part == .categories {
            var categories = [CustomerCategoryFigures?](repeating: nil, count: profiles.count)
            for row in try await sql.raw("SELECT customer_id, figures FROM customer_categories WHERE tenant_id = \(bind: tenantID)\(members())").all() {
                guard let at = try index(row) else { continue }
                let text = try row.decode(column: "figures", as: String.self)
                guard let figures = CustomerCategoryFigures(text: text) else { throw CustomerCategoryFigures.Malformed(text: text) }
                if categories[at] == nil { categories[at] = figures } else { categories[at]?.add(figures) }
            }
            for (at, figures) in categories.enumerated() {
                guard let figures else { continue }
                profiles[at].topCategories = figures.entries.filter { $0.quantity > 0 }
                    .sorted { ($0.quantity, $1.category) > ($1.quantity, $0.category) }
                    .prefix(Self.topCategoryCount).map(\.category)
            }
        }

        if part == .stores {
            var stores: [Int: [String: (orders: Int64, last: Int64)]] = [:]
            for row in try await sql.raw("""
                SELECT s.customer_id, l.code, s.orders, s.last_visit_at
                FROM customer_location_stats s JOIN locations l ON l.tenant_id = s.tenant_id AND l.id = s.location_id
                WHERE s.tenant_id = \(bind: tenantID) AND l.kind = 'store'\(members())
                """).all() {
                guard let at = try index(row) else { continue }
                let code = try row.decode(column: "code", as: String.self)
                let current = stores[at]?[code] ?? (0, 0)
                stores[at, default: [:]][code] = (current.orders + (try row.decode(column: "orders", as: Int64.self)),
                                                  max(current.last, try row.decode(column: "last_visit_at", as: Int64.self)))
            }
            for (at, byCode) in stores {
                profiles[at].preferredStore = byCode.max { ($0.value.orders, $0.value.last, $1.key) < ($1.value.orders, $1.value.last, $0.key) }?.key
            }
        }

        if part == .tier {
            for row in try await sql.raw("""
                SELECT m.customer_id, m.tier FROM loyalty_members m JOIN loyalty_programmes p ON p.tenant_id = m.tenant_id AND p.id = m.programme_id
                WHERE m.tenant_id = \(bind: tenantID) AND p.status = 'active' AND p.currency = \(bind: currency.code)\(members("m.customer_id"))
                """).all() {
                guard let at = try index(row) else { continue }
                profiles[at].tier = try row.decode(column: "tier", as: String.self)
            }
        }
        if part == .consents {
            for row in try await sql.raw("""
                SELECT customer_id, channel FROM customer_consents WHERE tenant_id = \(bind: tenantID) AND granted = 1\(members()) ORDER BY channel
                """).all() {
                guard let at = try index(row) else { continue }
                let channel = try row.decode(column: "channel", as: String.self)
                if !profiles[at].consents.contains(channel) { profiles[at].consents.append(channel) }
            }
        }
        if part == .segments {
            for row in try await sql.raw("""
                SELECT m.customer_id, s.code FROM segment_members m JOIN segments s ON s.tenant_id = m.tenant_id AND s.id = m.segment_id
                WHERE m.tenant_id = \(bind: tenantID) AND s.status = 'active'\(members("m.customer_id")) ORDER BY s.code
                """).all() {
                guard let at = try index(row) else { continue }
                profiles[at].segments.append(try row.decode(column: "code", as: String.self))
            }
        }
        // Scores and predictions are kept for the cluster's survivor only.
        if part == .rfm {
            for row in try await sql.raw("""
                SELECT customer_id, recency_score, frequency_score, monetary_score, cell, rfm_group FROM customer_rfm
                WHERE tenant_id = \(bind: tenantID)\(members())
                """).all() {
                guard let at = try index(row), profiles[at].id == (try row.decode(column: "customer_id", as: String.self)) else { continue }
                profiles[at].rfm = LiveProfile.RFM(
                    recencyScore: try row.decode(column: "recency_score", as: Int.self), frequencyScore: try row.decode(column: "frequency_score", as: Int.self),
                    monetaryScore: try row.decode(column: "monetary_score", as: Int.self), cell: try row.decode(column: "cell", as: String.self),
                    group: try row.decode(column: "rfm_group", as: String.self))
            }
        }
        if part == .predictions {
            for row in try await sql.raw("""
                SELECT customer_id, expected_purchases, probability_alive, expected_order_value, clv FROM customer_predictions
                WHERE tenant_id = \(bind: tenantID)\(members())
                """).all() {
                guard let at = try index(row), profiles[at].id == (try row.decode(column: "customer_id", as: String.self)) else { continue }
                profiles[at].predictions = LiveProfile.Predictions(
                    expectedPurchases: try row.decode(column: "expected_purchases", as: Double.self),
                    probabilityAlive: try row.decode(column: "probability_alive", as: Double.self),
                    expectedOrderValue: try row.decode(column: "expected_order_value", as: Int64.self), value: try row.decode(column: "clv", as: Int64.self))
            }
        }
    }
}
