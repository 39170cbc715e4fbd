import Foundation
import OmniaCore
import SQLKit

/// Journey analytics over a period: each report is one to three aggregate queries (`GROUP BY` in
/// the database, never every row into Swift), with transitions between purchases counted from
/// each customer's purchases in order, one row per customer (`paths`). Sales are read through
/// `transactions_by_time` and `transactions_by_customer`, which hold every column the reports read
/// (migration 21); a customer is their cluster (`CustomerClusters`), so a merged customer's
/// history counts as one journey.
///
/// Channels: "store" is the physical channel kind; every other kind (web, app, call centre,
/// marketplace, social) is "online" where a report opposes the two.
struct JourneyAnalytics: Sendable {
    let services: AppServices
    /// The ranges of customers reports grouped by customer are read in; nil: the tenant's, by its size.
    var ranges: CustomerKeyRanges?
    /// The most channels a report names one by one instead of joining `channels` (tests of both ways).
    var channelsSpelledOut = JourneyAnalytics.channelsSpelledOut

    private var dialect: JourneyAnalyticsSQL { JourneyAnalyticsSQL(dialect: services.database.dialect) }

    // MARK: Channel mix

    func channelMix(_ query: JourneyAnalyticsQuery, tenantID: String) async throws -> ChannelMixReport {
        let (cells, channels) = try await services.database.read { sql in
            (try await TransactionHours.cells(on: sql, tenantID: tenantID, from: query.from, to: query.to, currency: query.currency,
                                              dayOffset: query.offsetMilliseconds),
             try await TenantChannels.load(on: sql, tenantID: tenantID))
        }
        let kept = cells.compactMap { cell in
            channels.kept(cell.channelId, by: query).map { (cell: cell, group: query.grouping == .kind ? $0.kind : $0.code) }
        }
        let seen = Set(kept.map(\.group))
        let series = query.grouping == .kind ? AnalyticsFigures.kindOrder(seen).filter(seen.contains) : seen.sorted()
        let starts = query.bucketStarts()
        let position = Dictionary(uniqueKeysWithValues: starts.enumerated().map { ($1, $0) })
        var grid = starts.map { _ in series.map { ChannelMixReport.Figures(channel: $0) } }
        var totals = series.map { ChannelMixReport.Figures(channel: $0) }
        let column = Dictionary(uniqueKeysWithValues: series.enumerated().map { ($1, $0) })
        for (cell, group) in kept {
            guard let row = position[query.bucketStart(query.localDay(cell.at))], let index = column[group] else { continue }
            func add(_ figures: inout ChannelMixReport.Figures) {
                if cell.kind == TransactionKind.sale.rawValue {
                    figures.sales += cell.transactions
                    figures.revenue += cell.total
                } else {
                    figures.returns += cell.transactions
                    figures.refunded += cell.total
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
        let grouping = query.grouping
        let basis = try await Self.basis(in: services.database, tenantID: tenantID, ranges: ranges)
        let paths = try await Self.paths(in: services.database, basis: basis, tenantID: tenantID, from: query.from, to: query.to, grouping: grouping)
        // The channels of some transition, in the report's order.
        var seen = Set<String>()
        for (row, name) in paths.groups.enumerated() {
            for (column, other) in paths.groups.enumerated() where paths.counts[row][column] > 0 {
                seen.insert(name)
                seen.insert(other)
            }
        }
        let channels = grouping == .kind ? AnalyticsFigures.kindOrder(seen) : seen.sorted()
        let position = Dictionary(uniqueKeysWithValues: paths.groups.enumerated().map { ($1, $0) })
        let counts = channels.map { from in
            channels.map { to in position[from].flatMap { row in position[to].map { paths.counts[row][$0] } } ?? 0 }
        }
        let matrix = ChannelTransitionMatrix(channels: channels, counts: counts, customers: paths.customers, crossChannelCustomers: paths.crossChannel)
        return ChannelTransitionReport(from: StoredTime(milliseconds: query.from), to: StoredTime(milliseconds: query.to), by: grouping.rawValue,
                                       matrix: matrix)
    }

    /// What the reports that follow customers start from: whether the tenant has merged customers,
    /// its customers cut in ranges, and its channels.
    struct Basis: Sendable {
        let clusters: CustomerClusters
        let ranges: CustomerKeyRanges
        let channels: TenantChannels
    }

    /// The tenant's `Basis`, in one read; `given` ranges instead of the tenant's own (tests).
    static func basis(in database: any Database, tenantID: String, ranges given: CustomerKeyRanges? = nil) async throws -> Basis {
        try await database.read { sql in
            let clusters = try await CustomerClusters.load(on: sql, tenantID: tenantID)
            let channels = try await TenantChannels.load(on: sql, tenantID: tenantID)
            if let given { return Basis(clusters: clusters, ranges: given, channels: channels) }
            return Basis(clusters: clusters, ranges: try await CustomerKeyRanges.load(on: sql, tenantID: tenantID), channels: channels)
        }
    }

    /// Each buying cluster's sales of a period as the path of their channels' groups, and what the
    /// paths hold: the transitions from each group to the next purchase's, how many clusters bought
    /// and how many of them in more than one group.
    struct PurchasePaths: Sendable {
        /// The groups met, in the order met; `counts[i][j]` transitions from `groups[i]` to `groups[j]`.
        var groups: [String] = []
        var counts: [[Int]] = []
        var customers = 0
        var crossChannel = 0

        /// Adds the paths of other clusters.
        mutating func add(_ other: PurchasePaths) {
            let mapped = other.groups.map { name -> Int in
                if let known = groups.firstIndex(of: name) { return known }
                groups.append(name)
                for row in counts.indices { counts[row].append(0) }
                counts.append(Array(repeating: 0, count: groups.count))
                return groups.count - 1
            }
            for (row, counts) in other.counts.enumerated() {
                for (column, count) in counts.enumerated() { self.counts[mapped[row]][mapped[column]] += count }
            }
            customers += other.customers
            crossChannel += other.crossChannel
        }

        /// Adds one cluster's path: its groups in purchase order, comma-separated.
        mutating func add(path: String, index: inout [Substring: Int]) {
            var previous: Int?
            var first: Int?
            var spread = false
            for group in path.split(separator: ",") {
                let at: Int
                if let known = index[group] {
                    at = known
                } else {
                    at = groups.count
                    index[group] = at
                    groups.append(String(group))
                    for row in counts.indices { counts[row].append(0) }
                    counts.append(Array(repeating: 0, count: groups.count))
                }
                if let previous { counts[previous][at] += 1 }
                if let first { spread = spread || first != at } else { first = at }
                previous = at
            }
            guard first != nil else { return }
            customers += 1
            if spread { crossChannel += 1 }
        }
    }

    /// The identified sales of a period (any currency) as one ordered path per cluster: each
    /// cluster's purchases by time, ties broken by group byte by byte. One grouped read through
    /// `transactions_by_customer`, which holds all it needs, instead of a window sorted over every
    /// sale of the period and a second grouping for the buyers; each range of customers
    /// (`CustomerKeyRanges`) on a reader of its own.
    static func paths(in database: any Database, basis: Basis, tenantID: String, from: Int64, to: Int64,
                      grouping: JourneyAnalyticsQuery.Grouping, channelsSpelledOut: Int = channelsSpelledOut) async throws -> PurchasePaths {
        let dialect = JourneyAnalyticsSQL(dialect: database.dialect)
        let path = dialect.orderedList("p.grp", orderBy: "p.occurred_at, \(dialect.binary("p.grp"))")
        let (clusters, ranges, channels) = (basis.clusters, basis.ranges, basis.channels)
        let parts = try await ranges.each(in: database) { sql, index in
            let purchases = Self.purchases(clusters: clusters, channels: channels, tenantID: tenantID, from: from, to: to, grouping: grouping,
                                           range: ranges.condition(index, key: clusters.key("t", "k")), spelledOut: channelsSpelledOut)
            var paths = PurchasePaths()
            var groups: [Substring: Int] = [:]
            for row in try await sql.raw("SELECT p.ckey, \(unsafeRaw: path) AS path FROM (\(purchases)) p GROUP BY p.ckey").all() {
                paths.add(path: try row.decode(column: "path", as: String.self), index: &groups)
            }
            return paths
        }
        var paths = PurchasePaths()
        for part in parts { paths.add(part) }
        return paths
    }

    /// The clusters that bought in a period (in any currency): how many, how many of them in more
    /// than one channel kind, and how many were reached (`Reached`; the maturity scorecard's
    /// personalization coverage). No path is built: a cluster bought in several kinds when its
    /// sales' least and greatest kinds differ, so nobody's sales are sorted (a third of the paths'
    /// time on PostgreSQL). Each range of customers on a reader of its own.
    struct Buyers: Sendable, Equatable {
        var customers: Int64 = 0
        var crossChannel: Int64 = 0
        var reached: Int64 = 0
    }

    /// How `buyers` tells a reached buyer.
    enum Reached: Sendable {
        /// A condition over the cluster's key `g.ckey`, run per buyer: on SQLite, a few primary-key probes each.
        case condition(SQLQueryString)
        /// The reached customers' ids, a query of one column `customer_id` without repeats, given a
        /// function that limits a column to the range of customers read: joined with the buyers by
        /// hash. PostgreSQL, given the condition, chose by its estimates between probing per buyer
        /// and hashing every reached customer for each range, both slower (452 against 338 ms a range).
        case set(@Sendable (_ inRange: (_ column: String) -> SQLQueryString) -> SQLQueryString)
    }

    static func buyers(in database: any Database, basis: Basis, tenantID: String, from: Int64, to: Int64, reached: Reached,
                       channelsSpelledOut: Int = channelsSpelledOut) async throws -> Buyers {
        let kind = JourneyAnalyticsSQL(dialect: database.dialect).binary("p.grp")
        let (clusters, ranges, channels) = (basis.clusters, basis.ranges, basis.channels)
        let parts = try await ranges.each(in: database) { sql, index in
            let purchases = Self.purchases(clusters: clusters, channels: channels, tenantID: tenantID, from: from, to: to, grouping: .kind,
                                           range: ranges.condition(index, key: clusters.key("t", "k")), spelledOut: channelsSpelledOut)
            let grouped: SQLQueryString = """
                SELECT p.ckey, CASE WHEN MIN(\(unsafeRaw: kind)) <> MAX(\(unsafeRaw: kind)) THEN 1 ELSE 0 END AS cross_channel
                FROM (\(purchases)) p GROUP BY p.ckey
                """
            let query: SQLQueryString
            switch reached {
            case .set(let set):
                let reachedSet = set { column in ranges.condition(index, key: "\(unsafeRaw: column)") }
                query = """
                    SELECT COUNT(*) AS customers, COALESCE(SUM(g.cross_channel), 0) AS cross_channel, COUNT(r.customer_id) AS reached
                    FROM (\(grouped)) g LEFT JOIN (\(reachedSet)) r ON r.customer_id = g.ckey
                    """
            case .condition(let condition):
                query = """
                    SELECT COUNT(*) AS customers, COALESCE(SUM(b.cross_channel), 0) AS cross_channel, COALESCE(SUM(b.reached), 0) AS reached
                    FROM (SELECT g.cross_channel, CASE WHEN \(condition) THEN 1 ELSE 0 END AS reached FROM (\(grouped)) g) b
                    """
            }
            let row = try await sql.raw(query).first()
            return Buyers(customers: try row?.decode(column: "customers", as: Int64.self) ?? 0,
                          crossChannel: try row?.decode(column: "cross_channel", as: Int64.self) ?? 0,
                          reached: try row?.decode(column: "reached", as: Int64.self) ?? 0)
        }
        return parts.reduce(into: Buyers()) { sum, part in
            sum.customers += part.customers
            sum.crossChannel += part.crossChannel
            sum.reached += part.reached
        }
    }

    /// The most channels `purchases` names one by one instead of joining `channels`.
    static let channelsSpelledOut = 32

    /// A sale's channel group (`t.channel_id`'s kind or code), and the join it needs: spelled out as
    /// a `CASE` over the channel ids when the tenant has few channels — a third cheaper than looking
    /// each sale's channel up, on both databases — or, past a few dozen, `channels c` joined.
    static func channelGroup(_ channels: TenantChannels, grouping: JourneyAnalyticsQuery.Grouping,
                             spelledOut: Int = channelsSpelledOut) -> (group: SQLQueryString, join: SQLQueryString) {
        guard !channels.byID.isEmpty && channels.byID.count <= spelledOut else {
            return (grouping == .kind ? "c.kind" : "c.code", " JOIN channels c ON c.tenant_id = t.tenant_id AND c.id = t.channel_id")
        }
        var group: SQLQueryString = "CASE t.channel_id"
        for entry in channels.byID.values.sorted(by: { $0.id < $1.id }) {
            group += " WHEN \(bind: entry.id) THEN \(literal: grouping == .kind ? entry.kind : entry.code)"
        }
        group += " END"
        return (group, "")
    }

    /// Identified sales between `from` and `to` in any currency, one row each: the customer's
    /// cluster (`ckey`), its channel kind or code (`grp`) and its time.
    static func purchases(clusters: CustomerClusters, channels: TenantChannels, tenantID: String, from: Int64, to: Int64,
                          grouping: JourneyAnalyticsQuery.Grouping, range: SQLQueryString = "", spelledOut: Int = channelsSpelledOut) -> SQLQueryString {
        let (group, channelJoin) = channelGroup(channels, grouping: grouping, spelledOut: spelledOut)
        return """
            SELECT \(clusters.key("t", "k")) AS ckey, \(group) AS grp, t.occurred_at
            FROM transactions t\(channelJoin)\(clusters.join("t", as: "k", tenantID: tenantID))
            WHERE t.tenant_id = \(bind: tenantID) AND t.kind = 'sale' AND t.customer_id IS NOT NULL
              AND t.occurred_at >= \(bind: from) AND t.occurred_at <= \(bind: to)\(range)
            """
    }

    // MARK: Cross-channel customers

    func crossChannel(_ query: JourneyAnalyticsQuery, tenantID: String) async throws -> CrossChannelReport {
        struct Group: Decodable, Sendable {
            let crossChannel: Int64
            let customers: Int64
            let orders: Int64
            let revenue: Int64
        }
        let basis = try await Self.basis(in: services.database, tenantID: tenantID, ranges: ranges)
        let (clusters, ranges, channels) = (basis.clusters, basis.ranges, basis.channels)
        let (kind, channelJoin) = Self.channelGroup(channels, grouping: .kind, spelledOut: channelsSpelledOut)
        // A channel filter keeps the customers who bought there at least once, with all their sales.
        var filters: [SQLQueryString] = []
        if let id = query.channel?.id { filters.append("SUM(CASE WHEN s.channel_id = \(bind: id) THEN 1 ELSE 0 END) > 0") }
        if let wanted = query.channelKind { filters.append("SUM(CASE WHEN s.kind = \(bind: wanted) THEN 1 ELSE 0 END) > 0") }
        var condition: SQLQueryString = ""
        for (index, part) in filters.enumerated() {
            if index == 0 { condition += " HAVING \(part)" } else { condition += " AND \(part)" }
        }
        let database = services.database, having = condition
        let binaryKind = dialect.binary("s.kind")
        // The anonymous sales (from the hourly sums), and each range of customers, on readers of their own at once.
        async let anonymousRead = database.read { sql in
            let cells = try await TransactionHours.cells(on: sql, tenantID: tenantID, from: query.from, to: query.to, kind: TransactionKind.sale.rawValue,
                                                         currency: query.currency)
            let kept = cells.filter { channels.kept($0.channelId, by: query) != nil }
            return CrossChannelReport.Anonymous(orders: kept.reduce(0) { $0 + $1.transactions - $1.identified },
                                                revenue: kept.reduce(0) { $0 + $1.total - $1.identifiedTotal })
        }
        // A customer bought in more than one kind when their sales' least and greatest kinds differ:
        // no count of distinct kinds, which sorts each customer's sales.
        let parts = try await ranges.each(in: database) { sql, index in
            try await sql.raw("""
                SELECT g.cross_channel, COUNT(*) AS customers, CAST(SUM(g.orders) AS BIGINT) AS orders, CAST(SUM(g.revenue) AS BIGINT) AS revenue
                FROM (SELECT CASE WHEN MIN(\(unsafeRaw: binaryKind)) <> MAX(\(unsafeRaw: binaryKind)) THEN 1 ELSE 0 END AS cross_channel,
                        COUNT(*) AS orders, SUM(s.total) AS revenue
                      FROM (SELECT \(clusters.key("t", "k")) AS ckey, \(kind) AS kind, t.channel_id, t.total
                            FROM transactions t\(channelJoin)\(clusters.join("t", as: "k", tenantID: tenantID))
                            WHERE t.tenant_id = \(bind: tenantID) AND t.kind = 'sale' AND t.customer_id IS NOT NULL AND t.currency = \(bind: query.currency)
                              AND t.occurred_at >= \(bind: query.from) AND t.occurred_at <= \(bind: query.to)\(ranges.condition(index, key: clusters.key("t", "k")))) s
                      GROUP BY s.ckey\(having)) g
                GROUP BY g.cross_channel
                """).rows(Group.self)
        }
        var sums: [Int64: Group] = [:]
        for group in parts.joined() {
            let sum = sums[group.crossChannel]
            sums[group.crossChannel] = Group(crossChannel: group.crossChannel, customers: (sum?.customers ?? 0) + group.customers,
                                             orders: (sum?.orders ?? 0) + group.orders, revenue: (sum?.revenue ?? 0) + group.revenue)
        }
        let groups = Array(sums.values)
        let anonymous = try await anonymousRead
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
            anonymous: anonymous)
    }

    // MARK: Research online, purchase offline

    static let ropoDefinition = "store sales whose customer viewed one of the sale's products (product_viewed with that sku) in a channel other "
        + "than a store, at most `days` days before the sale"
    static let reverseDefinition = "online sales (any channel but a store) whose customer visited a store (store_visited) at most `days` days before the sale"

    /// Which side a ROPO match is read from: the smaller (the report's), or one forced (tests of both ways).
    enum MatchDrive: Sendable {
        case smaller, events, sales
    }

    func ropo(_ query: JourneyAnalyticsQuery, tenantID: String, drive: MatchDrive = .smaller) async throws -> ROPOReport {
        struct Side: Sendable {
            let sales: Int64
            let identified: Int64
        }
        let sku = dialect.jsonText("e.properties", "sku")
        let database = services.database
        // The period's sales by channel from the hourly sums: the identified ones in any currency, which the matches weigh their events
        // against to pick the side to read from, and each side's in the report's currency.
        let basis = try await Self.basis(in: database, tenantID: tenantID, ranges: ranges)
        let (clusters, ranges, channels) = (basis.clusters, basis.ranges, basis.channels)
        let cells = try await database.read { sql in
            try await TransactionHours.cells(on: sql, tenantID: tenantID, from: query.from, to: query.to, kind: TransactionKind.sale.rawValue)
        }
        let identified = cells.reduce(0) { $0 + $1.identified }
        var sides: [String: Side] = [:]
        for cell in cells where cell.currency == query.currency {
            let side = channels.isStore(cell.channelId) ? "store" : "online"
            let sum = sides[side]
            sides[side] = Side(sales: (sum?.sales ?? 0) + cell.transactions, identified: (sum?.identified ?? 0) + cell.identified)
        }
        // Each direction's matches, on readers of their own at once.
        async let researchedOnlineRead = Self.matched(
            in: database, ranges: ranges, clusters: clusters, tenantID: tenantID, query: query, saleSide: "c.kind = 'store'", identifiedSales: identified,
            eventType: "product_viewed", eventChannel: "(ec.kind IS NULL OR ec.kind <> 'store')", sameProduct: sku, drive: drive)
        let visitedStore = try await Self.matched(
            in: database, ranges: ranges, clusters: clusters, tenantID: tenantID, query: query, saleSide: "c.kind <> 'store'", identifiedSales: identified,
            eventType: "store_visited", eventChannel: nil, sameProduct: nil, drive: drive)
        let researchedOnline = try await researchedOnlineRead
        func direction(_ side: String, _ matched: ROPOMatched?, definition: String) -> ROPOReport.Direction {
            let figures = sides[side]
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

    /// Sales matched by an earlier event of their customer: how many, their revenue and their customers.
    struct ROPOMatched: Decodable, Sendable {
        let sales: Int64
        let revenue: Int64
        let customers: Int64
    }

    /// The identified sales of the period on one side (`saleSide`, over the sale's channel `c`) that
    /// their customer's cluster had an `eventType` event (in a channel `eventChannel` allows, over
    /// `ec`; of one of the sale's products when `sameProduct` gives the event's SKU) at most
    /// `query.window` before. Read from whichever side is smaller: each event looks for the sales
    /// of its window when the period has fewer such events than `identifiedSales` (the period's
    /// identified sales; a chain's store visits and views are often fewer), each sale for an event
    /// of its window otherwise.
    /// Each range of customers (`ranges`) is read on a reader of its own, at once: a cluster's
    /// events and sales fall in one range, so the ranges' figures add up.
    static func matched(in database: any Database, ranges: CustomerKeyRanges, clusters: CustomerClusters, tenantID: String,
                        query: JourneyAnalyticsQuery, saleSide: String, identifiedSales: Int64, eventType: String, eventChannel: String?,
                        sameProduct: String?, drive: MatchDrive) async throws -> ROPOMatched {
        let earliest = query.from - query.window
        let events = try await database.read { sql in
            try await sql.raw("""
                SELECT COUNT(*) AS n FROM journey_events e
                WHERE e.tenant_id = \(bind: tenantID) AND e.type = \(bind: eventType) AND e.occurred_at >= \(bind: earliest) AND e.occurred_at <= \(bind: query.to)
                """).first(decodingColumn: "n", as: Int64.self) ?? 0
        }
        let fromEvents = drive == .events || (drive == .smaller && events <= identifiedSales)
        let parts = try await ranges.each(in: database) { sql, index in
            try await matched(on: sql, range: ranges.condition(index, key: clusters.key(fromEvents ? "e" : "t", fromEvents ? "ek" : "k")),
                              fromEvents: fromEvents, clusters: clusters, tenantID: tenantID, query: query, saleSide: saleSide, eventType: eventType,
                              eventChannel: eventChannel, sameProduct: sameProduct)
        }
        return parts.reduce(ROPOMatched(sales: 0, revenue: 0, customers: 0)) { sum, part in
            ROPOMatched(sales: sum.sales + (part?.sales ?? 0), revenue: sum.revenue + (part?.revenue ?? 0), customers: sum.customers + (part?.customers ?? 0))
        }
    }

    /// `matched(in:…)` of the customers `range` keeps, read from the events or from the sales.
    private static func matched(on sql: any SQLDatabase, range: SQLQueryString, fromEvents: Bool, clusters: CustomerClusters, tenantID: String,
                                query: JourneyAnalyticsQuery, saleSide: String, eventType: String, eventChannel: String?,
                                sameProduct: String?) async throws -> ROPOMatched? {
        let earliest = query.from - query.window
        let eventChannelJoin: SQLQueryString = eventChannel == nil ? "" : " LEFT JOIN channels ec ON ec.tenant_id = e.tenant_id AND ec.id = e.channel_id"
        let eventChannelFilter: SQLQueryString = eventChannel.map { " AND \(unsafeRaw: $0)" } ?? ""
        if fromEvents {
            // The sales of each event's window, of its customer's cluster (each member's, after a merge) and of the period and side, then
            // each sale once by its id. `CROSS JOIN` holds SQLite to that order: from a sale first, it would scan every line of the tenant.
            // The period is `occurred_at + 0`, which no index serves: SQLite would otherwise read each event's sales through the period's
            // index by time — every sale of the period for each event — instead of the buyer's (`transactions_by_customer`).
            let buyer: SQLQueryString = clusters.merged
                ? " JOIN customers ek ON ek.tenant_id = \(bind: tenantID) AND ek.id = e.customer_id JOIN customers m ON m.tenant_id = \(bind: tenantID) AND m.canonical_id = ek.canonical_id"
                : ""
            let product: SQLQueryString = sameProduct.map {
                " CROSS JOIN transaction_lines l WHERE l.tenant_id = \(bind: tenantID) AND l.transaction_id = s.id AND l.sku = \(unsafeRaw: $0) AND"
            } ?? " WHERE"
            return try await sql.raw("""
                SELECT COUNT(*) AS sales, CAST(COALESCE(SUM(matched.total), 0) AS BIGINT) AS revenue, COUNT(DISTINCT matched.ckey) AS customers
                FROM (SELECT DISTINCT s.id, s.total, \(clusters.key("s", "ek")) AS ckey
                      FROM journey_events e\(eventChannelJoin)\(buyer) CROSS JOIN transactions s CROSS JOIN channels c\(product)
                        s.tenant_id = \(bind: tenantID) AND s.customer_id = \(unsafeRaw: clusters.merged ? "m.id" : "e.customer_id")
                        AND s.occurred_at >= e.occurred_at AND s.occurred_at <= e.occurred_at + \(bind: query.window)
                        AND s.kind = 'sale' AND s.currency = \(bind: query.currency) AND s.occurred_at + 0 >= \(bind: query.from) AND s.occurred_at + 0 <= \(bind: query.to)
                        AND c.tenant_id = \(bind: tenantID) AND c.id = s.channel_id AND \(unsafeRaw: saleSide)
                        AND e.tenant_id = \(bind: tenantID) AND e.type = \(bind: eventType) AND e.customer_id IS NOT NULL
                        AND e.occurred_at >= \(bind: earliest) AND e.occurred_at <= \(bind: query.to)\(eventChannelFilter)\(range)) matched
                """).row(ROPOMatched.self)
        }
        let sales: SQLQueryString = """
            SELECT COUNT(*) AS sales, CAST(COALESCE(SUM(t.total), 0) AS BIGINT) AS revenue, COUNT(DISTINCT \(clusters.key("t", "k"))) AS customers
            FROM transactions t JOIN channels c ON c.tenant_id = t.tenant_id AND c.id = t.channel_id\(clusters.join("t", as: "k", tenantID: tenantID))
            WHERE t.tenant_id = \(bind: tenantID) AND t.kind = 'sale' AND \(unsafeRaw: saleSide) AND t.customer_id IS NOT NULL
              AND t.currency = \(bind: query.currency) AND t.occurred_at >= \(bind: query.from) AND t.occurred_at <= \(bind: query.to)\(range)
            """
        // The event is looked up by the buyer (`journey_events_by_customer`), never by type: `type || ''` keeps the planner off
        // the by-type index, through which each sale would read every event of its week (minutes at a million sales).
        let product: SQLQueryString = sameProduct.map {
            " JOIN transaction_lines l ON l.tenant_id = \(bind: tenantID) AND l.transaction_id = t.id AND l.sku = \(unsafeRaw: $0)"
        } ?? ""
        return try await sql.raw("""
            \(sales) AND EXISTS (
              SELECT 1 FROM journey_events e\(clusters.join("e", as: "ek", tenantID: tenantID))\(eventChannelJoin)\(product)
              WHERE e.tenant_id = \(bind: tenantID) AND e.type || '' = \(bind: eventType) AND \(clusters.key("e", "ek")) = \(clusters.key("t", "k"))
                AND e.occurred_at <= t.occurred_at AND e.occurred_at >= t.occurred_at - \(bind: query.window)\(eventChannelFilter))
            """).row(ROPOMatched.self)
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
        struct Row: Sendable {
            let channel: String
            let location: String?
            let locationName: String?
            var sales: Int64 = 0
            var identified: Int64 = 0
            var revenue: Int64 = 0
            var identifiedRevenue: Int64 = 0
        }
        let (cells, channels) = try await services.database.read { sql in
            (try await TransactionHours.cells(on: sql, tenantID: tenantID, from: query.from, to: query.to, kind: TransactionKind.sale.rawValue,
                                              currency: query.currency),
             try await TenantChannels.load(on: sql, tenantID: tenantID))
        }
        var byChannel: [String: Row] = [:]
        for cell in cells {
            guard let channel = channels.kept(cell.channelId, by: query), channel.kind == ChannelKind.store.rawValue else { continue }
            var row = byChannel[channel.id] ?? Row(channel: channel.code, location: channel.location, locationName: channel.locationName)
            row.sales += cell.transactions
            row.identified += cell.identified
            row.revenue += cell.total
            row.identifiedRevenue += cell.identifiedTotal
            byChannel[channel.id] = row
        }
        let rows = Array(byChannel.values)
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
