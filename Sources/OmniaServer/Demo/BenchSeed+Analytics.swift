import Foundation
import HTTPTypes
import OmniaCore
import SQLKit

/// The analytics benchmark's data and its in-process measurements (`omnia bench --scenario
/// analytics` and `recommendations`): a chain's history with the structure real ones have
/// (`SyntheticBaskets`: repeat buyers, staples on intervals, items bought together, store and
/// online habits, anonymous till receipts), imported through the real import code so every
/// aggregate is what the API keeps, plus the journey events the reports read.
public enum AnalyticsBench {
    /// What was seeded.
    public struct Seeded: Sendable {
        public let customers: Int
        public let transactions: Int
        public let lines: Int
        public let events: Int
        public let seconds: Double
    }

    /// What each analytic took, in seconds, and the process's peak memory.
    public struct Figures: Sendable {
        public var rfm = 0.0
        public var rfmCustomers = 0
        public var clv = 0.0
        public var clvCustomers = 0
        public var segmentsFirst = 0.0
        public var segmentsAgain = 0.0
        public var segmentCustomers = 0
        public var recommendationsRebuild = 0.0
        public var recommendationLines = 0
        /// Microseconds one sale's profile upkeep (its aggregates' upserts) takes, averaged over many.
        public var profileUpkeepMicroseconds = 0.0
    }

    static let channelsByKind = ["web": "web", "app": "app"]
    static let stores = ["store-madrid-01", "store-barcelona-01"]

    /// `customers` identified shoppers over `days` days (about ten sales each a year), imported from an NDJSON file in `folder`.
    public static func seed(_ services: AppServices, tenantID: String, customers: Int, days: Int, folder: URL) async throws -> Seeded {
        let started = Date()
        let history = SyntheticBaskets(seed: 7, customers: customers, days: days, endingAt: services.nowMilliseconds - 3_600_000)
        try await BenchSeed.customers(services, tenantID: tenantID, count: customers)
        var numbers: [String: Int] = [:]
        let path = folder.appendingPathComponent("analytics.ndjson").path
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw Problem(.internalServerError, code: "bench_file", detail: "cannot write \(path)") }
        var buffer = ""
        var lines = 0
        for (index, basket) in history.baskets.enumerated() {
            var customer = ""
            var number = index
            if let id = basket.customerID {
                number = numbers[id] ?? numbers.count
                numbers[id] = number
                customer = ",\"customer\":{\"email\":\"\(BenchSeed.email(number))\"}"
            }
            let channel = basket.channelKind == "store" ? stores[number % stores.count] : channelsByKind[basket.channelKind] ?? "call-center"
            let items = basket.skus.map { sku in
                let item = history.catalogue[sku]
                return "{\"sku\":\"\(sku)\",\"name\":\"\(item?.name ?? sku)\",\"category\":\"\(item?.category ?? "other")\",\"quantity\":1,\"unit_price\":\(price(of: item?.category ?? ""))}"
            }
            lines += items.count
            buffer += "{\"external_id\":\"A-\(index)\",\"channel\":\"\(channel)\",\"occurred_at\":\"\(Timestamp.text(basket.time))\",\"currency\":\"EUR\"\(customer),"
                + "\"lines\":[\(items.joined(separator: ","))]}\n"
            if buffer.utf8.count > 1 << 20 {
                handle.write(Data(buffer.utf8))
                buffer = ""
            }
        }
        handle.write(Data(buffer.utf8))
        try handle.close()
        let report = try await OperatorTools(services: services).importFile(.transactions, path: path, format: .ndjson, tenant: tenantID, atomic: false) { _ in }
        let events = try await journeyEvents(services, tenantID: tenantID, history: history, numbers: numbers)
        return Seeded(customers: customers, transactions: report.created, lines: lines, events: events, seconds: Date().timeIntervalSince(started))
    }

    /// A price per category, minor units: staples cheap, fashion dear.
    static func price(of category: String) -> Int {
        let hash = category.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xffff }
        return category.hasPrefix("grocery") || category.hasPrefix("beauty") || category.hasPrefix("pet") || category.hasPrefix("baby")
            ? 395 + hash % 1_200 : 1_995 + hash % 8_000
    }

    /// Views online two days before one store basket in ten (research online, purchase offline), and an abandoned cart the day
    /// before one online basket in twenty: written straight to the table, as the reports read them.
    static func journeyEvents(_ services: AppServices, tenantID: String, history: SyntheticBaskets, numbers: [String: Int]) async throws -> Int {
        let (webID, customerIDs) = try await services.database.read { sql in
            let web = try await sql.raw("SELECT id FROM channels WHERE tenant_id = \(bind: tenantID) AND code = 'web'").first(decodingColumn: "id", as: String.self)
            var ids: [String: String] = [:]
            for row in try await sql.raw("""
                SELECT i.value, i.customer_id FROM customer_identifiers i WHERE i.tenant_id = \(bind: tenantID) AND i.kind = 'email'
                """).all() {
                ids[try row.decode(column: "value", as: String.self)] = try row.decode(column: "customer_id", as: String.self)
            }
            return (web, ids)
        }
        var rows: [(type: String, customerID: String, at: Int64, properties: String)] = []
        for (index, basket) in history.baskets.enumerated() {
            guard let id = basket.customerID, let number = numbers[id], let customerID = customerIDs[BenchSeed.email(number)] else { continue }
            if basket.channelKind == "store" && index % 10 == 0, let sku = basket.skus.first {
                rows.append(("product_viewed", customerID, basket.time - 2 * 86_400_000, "{\"sku\":\"\(sku)\"}"))
            } else if basket.channelKind != "store" && index % 20 == 0 {
                rows.append(("cart_abandoned", customerID, basket.time - 86_400_000, "{}"))
            }
        }
        let now = services.nowMilliseconds
        for chunk in rows.chunks(of: 50_000) {
            try await services.database.transaction { sql in
                for batch in Array(chunk).chunks(of: 200) {
                    try await sql.insertRows(into: "journey_events", columns: [
                        "tenant_id", "id", "type", "customer_id", "anonymous_id", "channel_id", "occurred_at", "properties", "created_at",
                    ], Array(batch)) { row, values in
                        values.add(tenantID)
                        values.add(services.ids.make(.journeyEvent))
                        values.add(row.type)
                        values.add(row.customerID)
                        values.add(String?.none)
                        values.add(webID)
                        values.add(row.at)
                        values.add(row.properties)
                        values.add(now)
                    }
                }
            }
        }
        await services.database.refreshPlannerStatistics(["journey_events", "transactions", "transaction_lines", "customer_channel_stats"],
                                                         vacuum: true, logger: services.logger)
        return rows.count
    }

    /// Times RFM, lifetime value, five dynamic segments (their first computation and a refresh after), the recommendation model's
    /// rebuild, and one sale's profile upkeep, all in this process as the jobs run them.
    public static func measure(_ services: AppServices, tenantID: String) async throws -> Figures {
        var figures = Figures()
        func timed<T>(_ body: () async throws -> T) async throws -> (T, Double) {
            let started = DispatchTime.now().uptimeNanoseconds
            let value = try await body()
            return (value, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        }
        let (rfm, rfmSeconds) = try await timed { try await RFMService(services: services).run(tenantID: tenantID) }
        (figures.rfm, figures.rfmCustomers) = (rfmSeconds, rfm?.customers ?? 0)
        let (clv, clvSeconds) = try await timed { try await LifetimeValueService(services: services).run(tenantID: tenantID, LifetimeValueRunRequest()) }
        (figures.clv, figures.clvCustomers) = (clvSeconds, clv?.distribution.customers ?? 0)

        let rules = [
            "customer.channel_mix == \"omnichannel\"",
            "customer.rfm.group in [\"champions\", \"loyal_customers\"]",
            "customer.days_since_last_purchase > 90 and customer.orders >= 3",
            "customer.clv.probability_alive < 0.5 and customer.lifetime_spend >= 200.00 EUR",
            "any(customer.channels, .kind == \"app\" and .orders >= 2) or \"grocery/coffee\" in customer.top_categories",
        ]
        let now = services.nowMilliseconds
        try await services.database.transaction { sql in
            for (index, rule) in rules.enumerated() {
                try await sql.raw("""
                    INSERT INTO segments (tenant_id, id, code, name, kind, rule, status, version, size, created_at, updated_at)
                    VALUES (\(bind: tenantID), \(bind: services.ids.make(.segment)), \(bind: "bench_\(index)"), \(bind: "Bench \(index)"), 'dynamic',
                            \(bind: try RuleProgram(rule, schema: ProfileSchema.segment(attributes: [])).text), 'active', 1, 0, \(bind: now), \(bind: now))
                    """).run()
            }
        }
        let refresher = SegmentRefresher(services: services)
        let (first, firstSeconds) = try await timed { try await refresher.refresh(tenantID: tenantID) }
        let (_, againSeconds) = try await timed { try await refresher.refresh(tenantID: tenantID) }
        (figures.segmentsFirst, figures.segmentsAgain, figures.segmentCustomers) = (firstSeconds, againSeconds, first?.customers ?? 0)

        let (rebuilt, rebuildSeconds) = try await timed { try await RecommendationModelStore(services: services).rebuild(tenantID: tenantID) }
        (figures.recommendationsRebuild, figures.recommendationLines) = (rebuildSeconds, rebuilt?.lines ?? 0)
        figures.profileUpkeepMicroseconds = try await profileUpkeep(services, tenantID: tenantID)
        return figures
    }

    /// Runs the tenant's daily jobs now — RFM, lifetime value and the recommendation model — so a
    /// server started on the data finds them done, as it would any day but the first, rather than
    /// running them in the measured seconds; the lines the model was built from.
    public static func runDailyJobs(_ services: AppServices, tenantID: String) async throws -> Int {
        _ = try await RFMService(services: services).run(tenantID: tenantID)
        _ = try await LifetimeValueService(services: services).run(tenantID: tenantID, LifetimeValueRunRequest())
        return try await RecommendationModelStore(services: services).rebuild(tenantID: tenantID)?.lines ?? 0
    }

    /// The profile's share of a sale's ingest: the aggregates one sale adds to (its channel, categories and store), upserted as a
    /// sale's transaction upserts them, 2,000 sales of different customers in a row within one transaction (no commit in the time).
    static func profileUpkeep(_ services: AppServices, tenantID: String) async throws -> Double {
        let sample = try await services.database.read { sql in
            try await sql.raw("""
                SELECT t.id, t.customer_id FROM transactions t WHERE t.tenant_id = \(bind: tenantID) AND t.customer_id IS NOT NULL AND t.kind = 'sale'
                ORDER BY t.id DESC LIMIT 2000
                """).all().map { (try $0.decode(column: "id", as: String.self), try $0.decode(column: "customer_id", as: String.self)) }
        }
        let store = TransactionStore(tenantID: tenantID)
        let deltas = try await services.database.read { sql in
            let lines = try await store.lines(on: sql, of: sample.map(\.0))
            var deltas: [CustomerStatsDelta] = []
            for (transactionID, customerID) in sample {
                guard let row = try await store.row(on: sql, id: transactionID) else { continue }
                var delta = CustomerStatsDelta()
                delta.add(row, lines: lines[transactionID] ?? [], customerID: customerID)
                deltas.append(delta)
            }
            return deltas
        }
        let stats = CustomerStatsStore(tenantID: tenantID, dialect: services.database.dialect)
        let prepared = deltas
        let started = DispatchTime.now().uptimeNanoseconds
        // Rolled back: the measurement must not double the figures it measured.
        _ = try? await services.database.transaction { sql -> Int in
            for delta in prepared { try await stats.record(on: sql, delta) }
            throw RolledBack()
        }
        return Double(DispatchTime.now().uptimeNanoseconds - started) / 1_000 / Double(max(prepared.count, 1))
    }

    private struct RolledBack: Error {}
}
