import Foundation
import OmniaCore
import SQLKit

/// Journey analytics over a period: each report is one to three aggregate queries (`GROUP BY` in
/// the database, never every row into Swift), with transitions between purchases counted by a
/// `LAG` window. Transactions are found by `transactions_by_time`; a customer is their cluster
/// (`CustomerClusters`), so a merged customer's history counts as one journey.
///
/// Channels: "store" is the physical channel kind; every other kind (web, app, call centre,
/// marketplace, social) is "online" where a report opposes the two.
struct JourneyAnalytics: Sendable {
    let services: AppServices

    private var dialect: JourneyAnalyticsSQL { JourneyAnalyticsSQL(dialect: services.database.dialect) }

    // MARK: Channel mix

    func channelMix(_ query: JourneyAnalyticsQuery, tenantID: String) async throws -> ChannelMixReport {
        struct Cell: Decodable, Sendable {
            let localDay: Int64
            let grp: String
            let txnKind: String
            let n: Int64
            let amount: Int64
        }
        let group = query.grouping == .kind ? "c.kind" : "c.code"
        let cells = try await services.database.read { sql in
            try await sql.raw("""
                SELECT x.local_day, x.grp, x.txn_kind, COUNT(*) AS n, CAST(SUM(x.total) AS BIGINT) AS amount
                FROM (SELECT (t.occurred_at + \(bind: query.offsetMilliseconds)) / 86400000 AS local_day, \(unsafeRaw: group) AS grp,
                        t.kind AS txn_kind, t.total
                      FROM transactions t JOIN channels c ON c.tenant_id = t.tenant_id AND c.id = t.channel_id
                      WHERE t.tenant_id = \(bind: tenantID) AND t.occurred_at >= \(bind: query.from) AND t.occurred_at <= \(bind: query.to)
                        AND t.currency = \(bind: query.currency)\(query.channelFilter(row: "t", channelAlias: "c"))) x
                GROUP BY x.local_day, x.grp, x.txn_kind
                """).rows(Cell.self)
        }
        let seen = Set(cells.map(\.grp))
        let series = query.grouping == .kind ? AnalyticsFigures.kindOrder(seen).filter(seen.contains) : seen.sorted()
        let starts = query.bucketStarts()
        let position = Dictionary(uniqueKeysWithValues: starts.enumerated().map { ($1, $0) })
        var grid = starts.map { _ in series.map { ChannelMixReport.Figures(channel: $0) } }
        var totals = series.map { ChannelMixReport.Figures(channel: $0) }
        let column = Dictionary(uniqueKeysWithValues: series.enumerated().map { ($1, $0) })
        for cell in cells {
            guard let row = position[query.bucketStart(cell.localDay)], let index = column[cell.grp] else { continue }
            func add(_ figures: inout ChannelMixReport.Figures) {
                if cell.txnKind == TransactionKind.sale.rawValue {
                    figures.sales += cell.n
                    figures.revenue += cell.amount
                } else {
                    figures.returns += cell.n
                    figures.refunded += cell.amount
                }
            }
            add(&grid[row][index])
            add(&totals[index])
        }
        func shared(_ figures: [ChannelMixReport.Figures]) -> (sales: Int64, revenue: Int64, figures: [ChannelMixReport.Figures]) {
            let sales = figures.reduce(0) { $0 + $1.sales }
            let revenue = figures.reduce(0) { $0 + $1.revenue }
            return (sales, revenue, figures.map { entry -> ChannelMixReport.Figures in
                var withShares = entry
                withShares.salesShare = AnalyticsFigures.ratio(entry.sales, sales)
                withShares.revenueShare = AnalyticsFigures.ratio(entry.revenue, revenue)
                return withShares
            })
        }
        let buckets: [ChannelMixReport.Bucket] = zip(starts, grid).map { start, figures in
            let (sales, revenue, shares) = shared(figures)
            return ChannelMixReport.Bucket(start: RuleCalendar.text(day: Int32(clamping: start)), sales: sales, revenue: revenue, channels: shares)
        }
        let (sales, revenue, overall) = shared(totals)
        return ChannelMixReport(
            from: StoredTime(milliseconds: query.from), to: StoredTime(milliseconds: query.to), timeZone: query.timeZone,
            interval: query.interval.rawValue, by: query.grouping.rawValue, currency: query.currency, channel: query.channel?.code,
            channelKind: query.channelKind, series: series, sales: sales, revenue: revenue, totals: overall, buckets: buckets)
    }

    // MARK: Channel transitions

    func channelTransitions(_ query: JourneyAnalyticsQuery, tenantID: String) async throws -> ChannelTransitionReport {
        struct Transition: Decodable, Sendable {
            let fromChannel: String
            let toChannel: String
            let n: Int
        }
        let grouping = query.grouping
        let order = dialect.binary("p.grp")
        let (transitions, buyers) = try await services.database.read { sql in
            let clusters = try await CustomerClusters.load(on: sql, tenantID: tenantID)
            let purchases = Self.purchases(clusters: clusters, tenantID: tenantID, from: query.from, to: query.to, grouping: grouping)
            let transitions = try await sql.raw("""
                SELECT w.prev AS from_channel, w.grp AS to_channel, COUNT(*) AS n
                FROM (SELECT p.grp, LAG(p.grp) OVER (PARTITION BY p.ckey ORDER BY p.occurred_at, \(unsafeRaw: order)) AS prev
                      FROM (\(purchases)) p) w
                WHERE w.prev IS NOT NULL
                GROUP BY w.prev, w.grp
                """).rows(Transition.self)
            let buyers = try await Self.buyers(on: sql, purchases: purchases)
            return (transitions, buyers)
        }
        let seen = Set(transitions.flatMap { [$0.fromChannel, $0.toChannel] })
        let channels = grouping == .kind ? AnalyticsFigures.kindOrder(seen) : seen.sorted()
        let index = Dictionary(uniqueKeysWithValues: channels.enumerated().map { ($1, $0) })
        var counts = channels.map { _ in channels.map { _ in 0 } }
        for transition in transitions {
            guard let row = index[transition.fromChannel], let column = index[transition.toChannel] else { continue }
            counts[row][column] += transition.n
        }
        let matrix = ChannelTransitionMatrix(channels: channels, counts: counts, customers: buyers.customers, crossChannelCustomers: buyers.crossChannel)
        return ChannelTransitionReport(from: StoredTime(milliseconds: query.from), to: StoredTime(milliseconds: query.to), by: grouping.rawValue,
                                       matrix: matrix)
    }

    /// Identified sales between `from` and `to` in any currency, one row each: the customer's
    /// cluster (`ckey`), its channel kind or code (`grp`) and its time.
    static func purchases(clusters: CustomerClusters, tenantID: String, from: Int64, to: Int64,
                          grouping: JourneyAnalyticsQuery.Grouping) -> SQLQueryString {
        let group = grouping == .kind ? "c.kind" : "c.code"
        return """
            SELECT \(clusters.key("t", "k")) AS ckey, \(unsafeRaw: group) AS grp, t.occurred_at
            FROM transactions t JOIN channels c ON c.tenant_id = t.tenant_id AND c.id = t.channel_id\(clusters.join("t", as: "k", tenantID: tenantID))
            WHERE t.tenant_id = \(bind: tenantID) AND t.kind = 'sale' AND t.customer_id IS NOT NULL
              AND t.occurred_at >= \(bind: from) AND t.occurred_at <= \(bind: to)
            """
    }

    /// Customers with a purchase among `purchases`, and those with purchases in two or more of its channels.
    static func buyers(on sql: any SQLDatabase, purchases: SQLQueryString) async throws -> (customers: Int, crossChannel: Int) {
        let row = try await sql.raw("""
            SELECT COUNT(*) AS customers, COALESCE(SUM(CASE WHEN g.spread > 1 THEN 1 ELSE 0 END), 0) AS cross_channel
            FROM (SELECT p.ckey, COUNT(DISTINCT p.grp) AS spread FROM (\(purchases)) p GROUP BY p.ckey) g
            """).first()
        return (try row?.decode(column: "customers", as: Int.self) ?? 0, try row?.decode(column: "cross_channel", as: Int.self) ?? 0)
    }

    // MARK: Cross-channel customers

    func crossChannel(_ query: JourneyAnalyticsQuery, tenantID: String) async throws -> CrossChannelReport {
        struct Group: Decodable, Sendable {
            let crossChannel: Int64
            let customers: Int64
            let orders: Int64
            let revenue: Int64
        }
        let (groups, anonymous) = try await services.database.read { sql in
            let clusters = try await CustomerClusters.load(on: sql, tenantID: tenantID)
            // A channel filter keeps the customers who bought there at least once, with all their sales.
            var having: [SQLQueryString] = []
            if let id = query.channel?.id { having.append("SUM(CASE WHEN t.channel_id = \(bind: id) THEN 1 ELSE 0 END) > 0") }
            if let kind = query.channelKind { having.append("SUM(CASE WHEN c.kind = \(bind: kind) THEN 1 ELSE 0 END) > 0") }
            var condition: SQLQueryString = ""
            for (index, part) in having.enumerated() {
                if index == 0 { condition += " HAVING \(part)" } else { condition += " AND \(part)" }
            }
            let groups = try await sql.raw("""
                SELECT CASE WHEN g.kinds > 1 THEN 1 ELSE 0 END AS cross_channel, COUNT(*) AS customers,
                  CAST(SUM(g.orders) AS BIGINT) AS orders, CAST(SUM(g.revenue) AS BIGINT) AS revenue
                FROM (SELECT \(clusters.key("t", "k")) AS ckey, COUNT(DISTINCT c.kind) AS kinds, COUNT(*) AS orders, SUM(t.total) AS revenue
                      FROM transactions t JOIN channels c ON c.tenant_id = t.tenant_id AND c.id = t.channel_id\(clusters.join("t", as: "k", tenantID: tenantID))
                      WHERE t.tenant_id = \(bind: tenantID) AND t.kind = 'sale' AND t.customer_id IS NOT NULL AND t.currency = \(bind: query.currency)
                        AND t.occurred_at >= \(bind: query.from) AND t.occurred_at <= \(bind: query.to)
                      GROUP BY \(clusters.key("t", "k"))\(condition)) g
                GROUP BY CASE WHEN g.kinds > 1 THEN 1 ELSE 0 END
                """).rows(Group.self)
            let anonymous = try await sql.raw("""
                SELECT COUNT(*) AS orders, CAST(COALESCE(SUM(t.total), 0) AS BIGINT) AS revenue
                FROM transactions t JOIN channels c ON c.tenant_id = t.tenant_id AND c.id = t.channel_id
                WHERE t.tenant_id = \(bind: tenantID) AND t.kind = 'sale' AND t.customer_id IS NULL AND t.currency = \(bind: query.currency)
                  AND t.occurred_at >= \(bind: query.from) AND t.occurred_at <= \(bind: query.to)\(query.channelFilter(row: "t", channelAlias: "c"))
                """).row(CrossChannelReport.Anonymous.self)
            return (groups, anonymous)
        }
        let single = groups.first { $0.crossChannel == 0 }
        let cross = groups.first { $0.crossChannel != 0 }
        let customers = (single?.customers ?? 0) + (cross?.customers ?? 0)
        let revenue = (single?.revenue ?? 0) + (cross?.revenue ?? 0)
        func figures(_ group: Group?) -> CrossChannelReport.Group {
            let customersInGroup = group?.customers ?? 0, orders = group?.orders ?? 0, groupRevenue = group?.revenue ?? 0
            return CrossChannelReport.Group(
                customers: customersInGroup, customerShare: AnalyticsFigures.ratio(customersInGroup, customers), orders: orders, revenue: groupRevenue,
                revenueShare: AnalyticsFigures.ratio(groupRevenue, revenue), ordersPerCustomer: AnalyticsFigures.ratio(orders, customersInGroup),
                averageOrderValue: AnalyticsFigures.perUnit(groupRevenue, orders), revenuePerCustomer: AnalyticsFigures.perUnit(groupRevenue, customersInGroup))
        }
        // Revenue per customer of each group from the exact sums, not the rounded ones.
        var valueRatio: Double?
        if let single, let cross, single.customers > 0, single.revenue > 0, cross.customers > 0 {
            valueRatio = AnalyticsFigures.ratio(Double(cross.revenue) * Double(single.customers), Double(single.revenue) * Double(cross.customers))
        }
        return CrossChannelReport(
            from: StoredTime(milliseconds: query.from), to: StoredTime(milliseconds: query.to), currency: query.currency, channel: query.channel?.code,
            channelKind: query.channelKind, customers: customers, crossChannelShare: AnalyticsFigures.ratio(cross?.customers ?? 0, customers),
            singleChannel: figures(single), crossChannel: figures(cross), valueRatio: valueRatio,
            anonymous: anonymous ?? CrossChannelReport.Anonymous(orders: 0, revenue: 0))
    }

    // MARK: Research online, purchase offline

    static let ropoDefinition = "store sales whose customer viewed one of the sale's products (product_viewed with that sku) in a channel other "
        + "than a store, at most `days` days before the sale"
    static let reverseDefinition = "online sales (any channel but a store) whose customer visited a store (store_visited) at most `days` days before the sale"

    func ropo(_ query: JourneyAnalyticsQuery, tenantID: String) async throws -> ROPOReport {
        struct Side: Decodable, Sendable {
            let side: String
            let sales: Int64
            let identified: Int64
        }
        struct Matched: Decodable, Sendable {
            let sales: Int64
            let revenue: Int64
            let customers: Int64
        }
        let sku = dialect.jsonText("e.properties", "sku")
        let (sides, researchedOnline, visitedStore) = try await services.database.read { sql in
            let clusters = try await CustomerClusters.load(on: sql, tenantID: tenantID)
            let sides = try await sql.raw("""
                SELECT CASE WHEN c.kind = 'store' THEN 'store' ELSE 'online' END AS side, COUNT(*) AS sales, COUNT(t.customer_id) AS identified
                FROM transactions t JOIN channels c ON c.tenant_id = t.tenant_id AND c.id = t.channel_id
                WHERE t.tenant_id = \(bind: tenantID) AND t.kind = 'sale' AND t.currency = \(bind: query.currency)
                  AND t.occurred_at >= \(bind: query.from) AND t.occurred_at <= \(bind: query.to)
                GROUP BY CASE WHEN c.kind = 'store' THEN 'store' ELSE 'online' END
                """).rows(Side.self)
            // The research is looked up by the buyer (`journey_events_by_customer`), never by type: `type || ''` keeps the planner
            // off the by-type index, through which each sale would read every view of its week (minutes at a million sales).
            let researchedOnline = try await sql.raw("""
                SELECT COUNT(*) AS sales, CAST(COALESCE(SUM(t.total), 0) AS BIGINT) AS revenue, COUNT(DISTINCT \(clusters.key("t", "k"))) AS customers
                FROM transactions t JOIN channels c ON c.tenant_id = t.tenant_id AND c.id = t.channel_id\(clusters.join("t", as: "k", tenantID: tenantID))
                WHERE t.tenant_id = \(bind: tenantID) AND t.kind = 'sale' AND c.kind = 'store' AND t.customer_id IS NOT NULL
                  AND t.currency = \(bind: query.currency) AND t.occurred_at >= \(bind: query.from) AND t.occurred_at <= \(bind: query.to)
                  AND EXISTS (
                    SELECT 1 FROM transaction_lines l
                    JOIN journey_events e ON e.tenant_id = \(bind: tenantID) AND e.type || '' = 'product_viewed' AND \(unsafeRaw: sku) = l.sku
                    \(clusters.join("e", as: "ek", tenantID: tenantID))
                    LEFT JOIN channels ec ON ec.tenant_id = e.tenant_id AND ec.id = e.channel_id
                    WHERE l.tenant_id = \(bind: tenantID) AND l.transaction_id = t.id AND \(clusters.key("e", "ek")) = \(clusters.key("t", "k"))
                      AND e.occurred_at <= t.occurred_at AND e.occurred_at >= t.occurred_at - \(bind: query.window)
                      AND (ec.kind IS NULL OR ec.kind <> 'store'))
                """).row(Matched.self)
            let visitedStore = try await sql.raw("""
                SELECT COUNT(*) AS sales, CAST(COALESCE(SUM(t.total), 0) AS BIGINT) AS revenue, COUNT(DISTINCT \(clusters.key("t", "k"))) AS customers
                FROM transactions t JOIN channels c ON c.tenant_id = t.tenant_id AND c.id = t.channel_id\(clusters.join("t", as: "k", tenantID: tenantID))
                WHERE t.tenant_id = \(bind: tenantID) AND t.kind = 'sale' AND c.kind <> 'store' AND t.customer_id IS NOT NULL
                  AND t.currency = \(bind: query.currency) AND t.occurred_at >= \(bind: query.from) AND t.occurred_at <= \(bind: query.to)
                  AND EXISTS (
                    SELECT 1 FROM journey_events e\(clusters.join("e", as: "ek", tenantID: tenantID))
                    WHERE e.tenant_id = \(bind: tenantID) AND e.type || '' = 'store_visited' AND \(clusters.key("e", "ek")) = \(clusters.key("t", "k"))
                      AND e.occurred_at <= t.occurred_at AND e.occurred_at >= t.occurred_at - \(bind: query.window))
                """).row(Matched.self)
            return (sides, researchedOnline, visitedStore)
        }
        func direction(_ side: String, _ matched: Matched?, definition: String) -> ROPOReport.Direction {
            let figures = sides.first { $0.side == side }
            let identified = figures?.identified ?? 0
            return ROPOReport.Direction(
                definition: definition, purchases: figures?.sales ?? 0, identifiedPurchases: identified, matchedPurchases: matched?.sales ?? 0,
                shareOfIdentified: AnalyticsFigures.ratio(matched?.sales ?? 0, identified), revenue: matched?.revenue ?? 0, customers: matched?.customers ?? 0)
        }
        return ROPOReport(
            from: StoredTime(milliseconds: query.from), to: StoredTime(milliseconds: query.to), currency: query.currency, days: query.days,
            researchOnlinePurchaseOffline: direction("store", researchedOnline, definition: Self.ropoDefinition),
            researchOfflinePurchaseOnline: direction("online", visitedStore, definition: Self.reverseDefinition))
    }

    // MARK: Abandoned carts

    static let recoveryDefinition = "an abandoned cart (cart_abandoned, raised when a cart sits idle past the tenant's threshold) is recovered "
        + "when its customer records a sale in any channel within `recovery_days` days (the `days` parameter) after it was abandoned; "
        + "the channel of recovery is that first sale's"

    func abandonedCarts(_ query: JourneyAnalyticsQuery, tenantID: String) async throws -> AbandonedCartReport {
        struct Cell: Decodable, Sendable {
            let cartChannel: String?
            let recoveredIn: String?
            let carts: Int64
            let identified: Int64
        }
        let cartGroup = query.channel == nil ? "ac.kind" : "ac.code"
        let (cells, orders) = try await services.database.read { sql in
            let clusters = try await CustomerClusters.load(on: sql, tenantID: tenantID)
            let filter = query.channelFilter(row: "e", channelAlias: "ac")
            let cells = try await sql.raw("""
                SELECT x.cart_channel, x.recovered_in, COUNT(*) AS carts, COUNT(x.customer_id) AS identified
                FROM (SELECT e.customer_id, \(unsafeRaw: cartGroup) AS cart_channel, (
                        SELECT rc.kind FROM transactions t JOIN channels rc ON rc.tenant_id = t.tenant_id AND rc.id = t.channel_id
                        \(clusters.join("t", as: "k", tenantID: tenantID))
                        WHERE t.tenant_id = \(bind: tenantID) AND t.kind = 'sale' AND \(clusters.key("t", "k")) = \(clusters.key("e", "ek"))
                          AND t.occurred_at >= e.occurred_at AND t.occurred_at <= e.occurred_at + \(bind: query.window)
                        ORDER BY t.occurred_at, t.id LIMIT 1) AS recovered_in
                      FROM journey_events e LEFT JOIN channels ac ON ac.tenant_id = e.tenant_id AND ac.id = e.channel_id
                      \(clusters.join("e", as: "ek", tenantID: tenantID, left: true))
                      WHERE e.tenant_id = \(bind: tenantID) AND e.type = 'cart_abandoned'
                        AND e.occurred_at >= \(bind: query.from) AND e.occurred_at <= \(bind: query.to)\(filter)) x
                GROUP BY x.cart_channel, x.recovered_in
                """).rows(Cell.self)
            let orders = try await sql.raw("""
                SELECT COUNT(*) AS n FROM journey_events e LEFT JOIN channels ac ON ac.tenant_id = e.tenant_id AND ac.id = e.channel_id
                WHERE e.tenant_id = \(bind: tenantID) AND e.type = 'order_placed'
                  AND e.occurred_at >= \(bind: query.from) AND e.occurred_at <= \(bind: query.to)\(filter)
                """).first(decodingColumn: "n", as: Int64.self) ?? 0
            return (cells, orders)
        }
        let abandoned = cells.reduce(0) { $0 + $1.carts }
        let identified = cells.reduce(0) { $0 + $1.identified }
        let recovered = cells.filter { $0.recoveredIn != nil }.reduce(0) { $0 + $1.carts }
        var byCart: [String: (abandoned: Int64, identified: Int64, recovered: Int64)] = [:]
        var byRecovery: [String: Int64] = [:]
        for cell in cells {
            let channel = cell.cartChannel ?? "unknown"
            var figures = byCart[channel] ?? (0, 0, 0)
            figures.abandoned += cell.carts
            figures.identified += cell.identified
            if let kind = cell.recoveredIn {
                figures.recovered += cell.carts
                byRecovery[kind, default: 0] += cell.carts
            }
            byCart[channel] = figures
        }
        let cartOrder = query.channel == nil ? AnalyticsFigures.kindOrder(Set(byCart.keys)) : byCart.keys.sorted()
        return AbandonedCartReport(
            from: StoredTime(milliseconds: query.from), to: StoredTime(milliseconds: query.to), channel: query.channel?.code, channelKind: query.channelKind,
            definition: Self.recoveryDefinition, recoveryDays: query.days, abandoned: abandoned, ordersPlaced: orders,
            abandonmentRate: AnalyticsFigures.ratio(abandoned, abandoned + orders), identified: identified, recovered: recovered,
            recoveryRate: AnalyticsFigures.ratio(recovered, abandoned), identifiedRecoveryRate: AnalyticsFigures.ratio(recovered, identified),
            byCartChannel: cartOrder.compactMap { channel in
                byCart[channel].map {
                    AbandonedCartReport.CartChannel(channel: channel, abandoned: $0.abandoned, identified: $0.identified, recovered: $0.recovered,
                                                    recoveryRate: AnalyticsFigures.ratio($0.recovered, $0.abandoned))
                }
            },
            recoveredIn: AnalyticsFigures.kindOrder(Set(byRecovery.keys)).compactMap { kind in
                byRecovery[kind].map { AbandonedCartReport.Recovery(channel: kind, recovered: $0, share: AnalyticsFigures.ratio($0, recovered)) }
            })
    }

    // MARK: Identified store sales

    func storeIdentification(_ query: JourneyAnalyticsQuery, tenantID: String) async throws -> StoreIdentificationReport {
        struct Row: Decodable, Sendable {
            let channel: String
            let location: String?
            let locationName: String?
            let sales: Int64
            let identified: Int64
            let revenue: Int64
            let identifiedRevenue: Int64
        }
        let rows = try await services.database.read { sql in
            try await sql.raw("""
                SELECT c.code AS channel, l.code AS location, l.name AS location_name, COUNT(*) AS sales, COUNT(t.customer_id) AS identified,
                  CAST(SUM(t.total) AS BIGINT) AS revenue, CAST(SUM(CASE WHEN t.customer_id IS NULL THEN 0 ELSE t.total END) AS BIGINT) AS identified_revenue
                FROM transactions t JOIN channels c ON c.tenant_id = t.tenant_id AND c.id = t.channel_id
                LEFT JOIN locations l ON l.tenant_id = c.tenant_id AND l.id = c.location_id
                WHERE t.tenant_id = \(bind: tenantID) AND t.kind = 'sale' AND c.kind = 'store' AND t.currency = \(bind: query.currency)
                  AND t.occurred_at >= \(bind: query.from) AND t.occurred_at <= \(bind: query.to)\(query.channelFilter(row: "t", channelAlias: "c"))
                GROUP BY c.code, l.code, l.name
                """).rows(Row.self)
        }
        let stores = rows.sorted { $0.channel < $1.channel }.map { row in
            StoreIdentificationReport.Store(
                channel: row.channel, location: row.location, locationName: row.locationName, sales: row.sales, identified: row.identified,
                anonymous: row.sales - row.identified, identifiedShare: AnalyticsFigures.ratio(row.identified, row.sales), revenue: row.revenue,
                identifiedRevenue: row.identifiedRevenue, identifiedRevenueShare: AnalyticsFigures.ratio(row.identifiedRevenue, row.revenue))
        }
        let sales = rows.reduce(0) { $0 + $1.sales }, identified = rows.reduce(0) { $0 + $1.identified }
        let revenue = rows.reduce(0) { $0 + $1.revenue }, identifiedRevenue = rows.reduce(0) { $0 + $1.identifiedRevenue }
        return StoreIdentificationReport(
            from: StoredTime(milliseconds: query.from), to: StoredTime(milliseconds: query.to), currency: query.currency, channel: query.channel?.code,
            sales: sales, identified: identified, anonymous: sales - identified, identifiedShare: AnalyticsFigures.ratio(identified, sales),
            revenue: revenue, identifiedRevenue: identifiedRevenue, identifiedRevenueShare: AnalyticsFigures.ratio(identifiedRevenue, revenue), stores: stores)
    }

    // MARK: Returns across channels

    func returns(_ query: JourneyAnalyticsQuery, tenantID: String) async throws -> ReturnsReport {
        struct Row: Decodable, Sendable {
            let soldIn: String?
            let returnedIn: String
            let n: Int64
            let amount: Int64
        }
        let rows = try await services.database.read { sql in
            try await sql.raw("""
                SELECT oc.kind AS sold_in, rc.kind AS returned_in, COUNT(*) AS n, CAST(SUM(r.total) AS BIGINT) AS amount
                FROM transactions r JOIN channels rc ON rc.tenant_id = r.tenant_id AND rc.id = r.channel_id
                LEFT JOIN transactions o ON o.tenant_id = r.tenant_id AND o.id = r.original_id
                LEFT JOIN channels oc ON oc.tenant_id = o.tenant_id AND oc.id = o.channel_id
                WHERE r.tenant_id = \(bind: tenantID) AND r.kind = 'return' AND r.currency = \(bind: query.currency)
                  AND r.occurred_at >= \(bind: query.from) AND r.occurred_at <= \(bind: query.to)
                GROUP BY oc.kind, rc.kind
                """).rows(Row.self)
        }
        let channels = AnalyticsFigures.kindOrder(Set(rows.flatMap { [$0.soldIn, $0.returnedIn].compactMap { $0 } }))
        let index = Dictionary(uniqueKeysWithValues: channels.enumerated().map { ($1, $0) })
        var counts = channels.map { _ in channels.map { _ in Int64(0) } }
        var amounts = counts
        var linked: Int64 = 0, cross: Int64 = 0, crossAmount: Int64 = 0
        for row in rows {
            guard let soldIn = row.soldIn, let i = index[soldIn], let j = index[row.returnedIn] else { continue }
            counts[i][j] += row.n
            amounts[i][j] += row.amount
            linked += row.n
            if soldIn != row.returnedIn {
                cross += row.n
                crossAmount += row.amount
            }
        }
        let flows = rows.map { row in
            ReturnsReport.Flow(soldIn: row.soldIn ?? "unknown", returnedIn: row.returnedIn, returns: row.n, amount: row.amount,
                               crossChannel: row.soldIn.map { $0 != row.returnedIn } ?? false)
        }.sorted { ($0.soldIn, $0.returnedIn) < ($1.soldIn, $1.returnedIn) }
        let total = rows.reduce(0) { $0 + $1.n }
        return ReturnsReport(
            from: StoredTime(milliseconds: query.from), to: StoredTime(milliseconds: query.to), currency: query.currency, returns: total,
            amount: rows.reduce(0) { $0 + $1.amount }, linked: linked, unlinked: total - linked, crossChannel: cross, crossChannelAmount: crossAmount,
            crossChannelShare: AnalyticsFigures.ratio(cross, linked), flows: flows,
            matrix: ReturnsReport.Matrix(channels: channels, counts: counts, amounts: amounts))
    }
}
