import Foundation
import OmniaCore
import SQLKit
import Synchronization

/// What a rebuild of the recommendation model read and made: stored as the model's report in
/// `analytics_models` and answered by `POST /v1/recommendations/model/rebuild` and
/// `GET /v1/recommendations/model`.
struct RecommendationModelReport: Codable, Sendable {
    /// When the model was built (RFC 3339): popularity decays from this moment.
    let builtAt: String
    /// Sales with at least one line kept (a wholly returned line is left out).
    let baskets: Int
    /// Sale lines read.
    let lines: Int
    /// Identified customers, a merged cluster counted once.
    let customers: Int
    /// SKUs in the model.
    let items: Int
    /// Rows of the items' neighbour lists.
    let neighbours: Int
    /// The whole rebuild, and its parts: reading the sales, building the model, replacing the tables.
    let milliseconds: Int
    let readMilliseconds: Int
    let buildMilliseconds: Int
    let writeMilliseconds: Int
    let parameters: ItemSimilarityParameters
}

/// Every kept line of a tenant's sales as baskets, with the catalogue the lines name.
struct SalesHistory: Sendable {
    var baskets: [Basket]
    var catalogue: [String: CatalogueItem]
    var lines: Int
}

/// The tenant's recommendation model in SQL: built from every sale of every channel
/// (`ItemSimilarityModel`) into `recommendation_items` and `recommendation_neighbours`, of which a
/// request reads a few rows (`RecommendationService`). Rebuilt whole — daily by `AnalyticsWorker`
/// and on demand — under the `recs` lease of `analytics_models`, so one server rebuilds a tenant at
/// a time, and a failed rebuild keeps the previous model.
struct RecommendationModelStore: Sendable {
    let services: AppServices
    static let kind = "recs"
    /// Rows per multi-row insert: 2,200 bound values at most, far below PostgreSQL's 65,535.
    static let insertChunk = 200

    /// Rebuilds the tenant's model now; nil when another server holds the lease.
    func rebuild(tenantID: String) async throws -> RecommendationModelReport? {
        let jobs = AnalyticsJobs(services: services)
        guard let token = try await jobs.claim(tenantID: tenantID, kind: Self.kind) else { return nil }
        do {
            let report = try await build(tenantID: tenantID, token: token, jobs: jobs)
            RecommendationModelCache.shared.forget(tenantID: tenantID)
            return report
        } catch {
            try? await services.database.transaction { sql in
                try await jobs.finish(on: sql, tenantID: tenantID, kind: Self.kind, token: token, model: nil, error: String(describing: error))
            }
            throw error
        }
    }

    private func build(tenantID: String, token: String, jobs: AnalyticsJobs) async throws -> RecommendationModelReport {
        let clock = ContinuousClock()
        let started = clock.now
        let history = try await services.database.read { sql in try await Self.history(on: sql, tenantID: tenantID) }
        let read = clock.now
        let now = services.nowMilliseconds
        // Seconds of arithmetic for a large tenant: not on one of the few threads that serve requests.
        let model = await MatchJobs.offCooperativePool {
            ItemSimilarityModel.build(baskets: history.baskets, catalogue: history.catalogue, now: now)
        }
        let built = clock.now
        let items = Array(model.items.enumerated())
        var neighbours: [NeighbourRow] = []
        neighbours.reserveCapacity(model.neighbours.reduce(0) { $0 + $1.neighbours.count })
        for list in model.neighbours {
            for (rank, neighbour) in list.neighbours.enumerated() { neighbours.append(NeighbourRow(sku: list.sku, rank: rank + 1, neighbour: neighbour)) }
        }
        let rows = neighbours
        let lines = history.lines
        return try await services.database.transaction { sql in
            try await sql.raw("DELETE FROM recommendation_neighbours WHERE tenant_id = \(bind: tenantID)").run()
            try await sql.raw("DELETE FROM recommendation_items WHERE tenant_id = \(bind: tenantID)").run()
            for (number, batch) in items.chunks(of: Self.insertChunk).enumerated() {
                try await Self.sendHeldWrites(on: sql, after: number)
                try await sql.insertRows(into: "recommendation_items", columns: [
                    "tenant_id", "sku", "name", "category", "baskets", "buyers", "popularity", "repeat_rate", "repeat_interval_days", "consumable",
                    "popularity_rank",
                ], Array(batch)) { entry, values in
                    let item = entry.element
                    values.add(tenantID)
                    values.add(item.sku)
                    values.add(item.name)
                    values.add(item.category)
                    values.add(item.baskets)
                    values.add(item.buyers)
                    values.add(Self.finite(item.popularity))
                    values.add(Self.finite(item.repeatRate))
                    if let interval = item.repeatIntervalDays, interval.isFinite {
                        values.add(interval)
                    } else {
                        // No customer bought it twice: no interval.
                        values.add(Int64?.none)
                    }
                    values.add(Int64(item.isConsumable ? 1 : 0))
                    values.add(entry.offset)
                }
            }
            for (number, batch) in rows.chunks(of: Self.insertChunk).enumerated() {
                try await Self.sendHeldWrites(on: sql, after: number)
                try await sql.insertRows(into: "recommendation_neighbours", columns: [
                    "tenant_id", "sku", "rank", "neighbour_sku", "score", "co_baskets", "channel_kind", "category",
                ], Array(batch)) { row, values in
                    values.add(tenantID)
                    values.add(row.sku)
                    values.add(row.rank)
                    values.add(row.neighbour.sku)
                    values.add(Self.finite(row.neighbour.score))
                    values.add(row.neighbour.coBaskets)
                    values.add(row.neighbour.channelKind)
                    values.add(row.neighbour.category)
                }
            }
            // Held inserts go out before a statement that runs at once: the write time then counts them.
            try await sql.raw("SELECT 1").run()
            let written = clock.now
            let report = RecommendationModelReport(
                builtAt: Timestamp.text(now), baskets: model.basketCount, lines: lines, customers: model.customerCount, items: model.items.count,
                neighbours: rows.count, milliseconds: Self.milliseconds(written - started), readMilliseconds: Self.milliseconds(read - started),
                buildMilliseconds: Self.milliseconds(built - read), writeMilliseconds: Self.milliseconds(written - built), parameters: model.parameters)
            try await jobs.finish(on: sql, tenantID: tenantID, kind: Self.kind, token: token, model: try JSONCoding.text(report), error: nil)
            return report
        }
    }

    /// One row of `recommendation_neighbours`: an item's neighbour at `rank` (1 is the best).
    private struct NeighbourRow: Sendable {
        let sku: String
        let rank: Int
        let neighbour: Neighbour
    }

    /// On PostgreSQL the inserts are held and sent at commit (`PostgresTransaction`); they go out
    /// before any statement that runs at once, so one such every 50 chunks (10,000 rows) keeps a
    /// large model's bound values from piling up in memory until the commit.
    private static func sendHeldWrites(on sql: any SQLDatabase, after chunks: Int) async throws {
        guard chunks > 0, chunks.isMultiple(of: 50) else { return }
        try await sql.raw("SELECT 1").run()
    }

    /// The model's doubles are finite by construction; a NaN would fail the insert on PostgreSQL and mean nothing anyway.
    private static func finite(_ value: Double) -> Double { value.isFinite ? value : 0 }

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds) * 1_000 + Int(duration.components.attoseconds / 1_000_000_000_000_000)
    }

    /// Every sale of the tenant as a basket of the lines kept (a line returned in full is left
    /// out), its customer mapped to the cluster's survivor and its channel to the channel's kind,
    /// with the name and category each SKU was last sold under. Three queries: the channels, the
    /// merged customers, and the lines joined to their sales — streamed, in the lines' primary-key
    /// order, which groups each sale's lines and needs no sort on SQLite (the query alone took 0.8 s
    /// for a million lines in SQLite's shell on the 2-core machines).
    static func history(on sql: any SQLDatabase, tenantID: String) async throws -> SalesHistory {
        let channelKinds = try await TenantChannels.load(on: sql, tenantID: tenantID).byID.mapValues(\.kind)
        var canonical: [String: String] = [:]
        for row in try await sql.raw("SELECT id, canonical_id FROM customers WHERE tenant_id = \(bind: tenantID) AND id <> canonical_id").all() {
            canonical[try row.decode(column: "id", as: String.self)] = try row.decode(column: "canonical_id", as: String.self)
        }
        let collector = BasketCollector(channelKinds: channelKinds, canonical: canonical)
        // Nullable columns come COALESCEd to text: a non-optional String decodes without a generic decoder on SQLite.
        try await sql.raw("""
            SELECT l.transaction_id, COALESCE(t.customer_id, '') AS customer_id, t.channel_id, t.occurred_at, l.sku,
              COALESCE(l.name, '') AS name, COALESCE(l.category, '') AS category
            FROM transaction_lines l JOIN transactions t ON t.tenant_id = l.tenant_id AND t.id = l.transaction_id
            WHERE l.tenant_id = \(bind: tenantID) AND t.tenant_id = \(bind: tenantID) AND t.kind = 'sale' AND l.returned_quantity < l.quantity
            ORDER BY l.transaction_id, l.line_number
            """).run { row in collector.add(row) }
        return try collector.finish()
    }
}

/// A row of the sales read could not be decoded; the rebuild stops and keeps the previous model.
struct RecommendationHistoryUnreadable: Error, CustomStringConvertible {
    let detail: String
    var description: String { "a sale line could not be read: \(detail)" }
}

/// Folds the streamed lines of `RecommendationModelStore.history` into baskets as they arrive, so a
/// million lines never sit in memory as rows. The lines come ordered by sale, so a sale's lines are
/// adjacent and a new transaction id starts a new basket.
private final class BasketCollector: Sendable {
    /// The name and category a SKU was last sold under, and when.
    private struct CatalogueEntry: Sendable {
        var time: Int64
        var item: CatalogueItem
    }

    private struct State: Sendable {
        var baskets: [Basket] = []
        var transaction = ""
        var catalogue: [String: CatalogueEntry] = [:]
        var lines = 0
        var failure: String?
    }

    private let channelKinds: [String: String]
    private let canonical: [String: String]
    private let state = Mutex(State())

    init(channelKinds: [String: String], canonical: [String: String]) {
        self.channelKinds = channelKinds
        self.canonical = canonical
    }

    func add(_ row: any SQLRow) {
        state.withLock { state in
            guard state.failure == nil else { return }
            do {
                let transaction = try row.decode(column: "transaction_id", as: String.self)
                if state.baskets.isEmpty || transaction != state.transaction {
                    let customer = try row.decode(column: "customer_id", as: String.self)
                    let channel = try row.decode(column: "channel_id", as: String.self)
                    state.baskets.append(Basket(customerID: customer.isEmpty ? nil : canonical[customer] ?? customer,
                                                time: try row.decode(column: "occurred_at", as: Int64.self),
                                                channelKind: channelKinds[channel] ?? "", skus: []))
                    state.transaction = transaction
                }
                let last = state.baskets.count - 1
                let time = state.baskets[last].time
                var sku = try row.decode(column: "sku", as: String.self)
                if let index = state.catalogue.index(forKey: sku) {
                    // The stored key: every basket holding the SKU shares one copy of its text.
                    sku = state.catalogue.keys[index]
                    let known = state.catalogue.values[index]
                    if known.time < time {
                        let name = try row.decode(column: "name", as: String.self)
                        let category = try row.decode(column: "category", as: String.self)
                        state.catalogue.values[index] = CatalogueEntry(
                            time: time, item: CatalogueItem(name: name.isEmpty ? known.item.name : name, category: category.isEmpty ? known.item.category : category))
                    }
                } else {
                    let name = try row.decode(column: "name", as: String.self)
                    state.catalogue[sku] = CatalogueEntry(time: time, item: CatalogueItem(name: name.isEmpty ? sku : name,
                                                                                          category: try row.decode(column: "category", as: String.self)))
                }
                state.baskets[last].skus.append(sku)
                state.lines += 1
            } catch {
                state.failure = String(describing: error)
            }
        }
    }

    func finish() throws -> SalesHistory {
        try state.withLock { state in
            if let failure = state.failure { throw RecommendationHistoryUnreadable(detail: failure) }
            return SalesHistory(baskets: state.baskets, catalogue: state.catalogue.mapValues { $0.item }, lines: state.lines)
        }
    }
}

/// One tenant's offline evaluation (`omnia recs evaluate`): the leave-last-basket-out scores of the
/// blended recommender and of its popularity and item-to-item baselines.
public struct RecommendationEvaluationReport: Encodable, Sendable {
    public let tenantId: String
    /// Sales read (with at least one line kept), and their lines.
    public let baskets: Int
    public let lines: Int
    public let milliseconds: Int
    public let evaluation: RecommendationEvaluation
}

/// `omnia recs evaluate`: reads each tenant's baskets in time order, as the model rebuild reads
/// them, and runs `RecommendationEvaluation` on them.
public struct RecommendationEvaluationRun: Sendable {
    let services: AppServices

    public init(services: AppServices) {
        self.services = services
    }

    /// Evaluates `tenant` (an id or exact name), or every tenant with sales when nil. With more
    /// eligible customers than `maximumCustomers`, an evenly spaced sample of them is evaluated.
    public func run(tenant: String?, k: Int = 10, maximumCustomers: Int? = 5_000) async throws -> [RecommendationEvaluationReport] {
        let tenantIDs: [String]
        if let tenant {
            tenantIDs = [try await OperatorTools(services: services).resolveTenantID(tenant)]
        } else {
            tenantIDs = try await services.database.read { sql in
                try await sql.raw("""
                    SELECT t.id FROM tenants t WHERE EXISTS (SELECT 1 FROM transactions x WHERE x.tenant_id = t.id AND x.kind = 'sale') ORDER BY t.id
                    """).all(decodingColumn: "id", as: String.self)
            }
        }
        var reports: [RecommendationEvaluationReport] = []
        for tenantID in tenantIDs {
            let started = ContinuousClock.now
            var history = try await services.database.read { sql in try await RecommendationModelStore.history(on: sql, tenantID: tenantID) }
            history.baskets.sort { ($0.time, $0.customerID ?? "") < ($1.time, $1.customerID ?? "") }
            let ordered = history
            let evaluation = await MatchJobs.offCooperativePool {
                RecommendationEvaluation.run(baskets: ordered.baskets, catalogue: ordered.catalogue, k: k, maximumCustomers: maximumCustomers)
            }
            reports.append(RecommendationEvaluationReport(
                tenantId: tenantID, baskets: ordered.baskets.count, lines: ordered.lines,
                milliseconds: RecommendationModelStore.milliseconds(ContinuousClock.now - started), evaluation: evaluation))
        }
        return reports
    }
}
