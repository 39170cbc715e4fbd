import Foundation
import HTTPTypes
import OmniaCore
import SQLKit

/// `GET /v1/customers/{id}/recommendations`: the items for one customer, best first.
struct CustomerRecommendations: Encodable, Sendable {
    /// The customer recommended for: the survivor of a merged cluster.
    let customerId: String
    let modelBuiltAt: String
    let data: [RecommendationView]
}

/// `GET /v1/products/{sku}/related`: a product's related items, best first.
struct RelatedProducts: Encodable, Sendable {
    let sku: String
    let modelBuiltAt: String
    let data: [RecommendationView]
}

/// One recommended item and why it is there.
struct RecommendationView: Encodable, Sendable {
    let sku: String
    let name: String
    let category: String
    let score: Double
    let reason: Reason

    /// `RecommendationReason` as the API shows it: empty parts left out.
    struct Reason: Encodable, Sendable {
        let code: String
        let text: String
        let anchorSku: String?
        let anchorName: String?
        let channelKind: String?
        let intervalDays: Int?
    }

    init(_ item: RecommendedItem, name: String?, category: String?) {
        sku = item.sku
        self.name = name ?? item.sku
        self.category = category ?? ""
        // Four decimals: enough to rank by, without the noise of the model's arithmetic.
        score = (item.score * 10_000).rounded() / 10_000
        let reason = item.reason
        self.reason = Reason(code: reason.code.rawValue, text: reason.text, anchorSku: reason.anchorSKU, anchorName: reason.anchorName,
                             channelKind: reason.channelKind.flatMap { $0.isEmpty ? nil : $0 }, intervalDays: reason.intervalDays)
    }
}

/// Recommendations per request from the stored model (`RecommendationModelStore`), reading only
/// what the request needs, each in one indexed query — never one per item:
///
/// 1. the customer's cluster: the survivor of the id and every customer merged into it
///    (`customers_by_canonical`), with the model's time (`analytics_models`, by primary key) —
///    the popular head is held per tenant under it (`RecommendationModelCache`), read again (two
///    queries) only after a rebuild;
/// 2. the cluster's last 100 sales' kept lines, at most 200, newest first, with their channels'
///    kinds (`transactions_by_customer`, then the lines' and channels' primary keys);
/// 3. the neighbour lists of the anchors (the context's items, then the 50 most recently bought),
///    by primary-key prefix;
/// 4. the profiles of the items bought and in the context, by primary key;
/// 5. only when a recommended item is in none of those, the profiles of such items (at most `limit`).
///
/// Steps 3 to 5 read only the SKUs no earlier request read under the same model: the rest come
/// from `RecommendationModelCache`, so a warm server answers most requests with two queries.
///
/// `RecommendationBlender` does the rest in memory. Without a model the answer is 404
/// `not_computed`, saying how to build one: the model is rebuilt daily, and a lazy build inside a
/// request would take seconds of the request's time and of a server's CPU.
struct RecommendationService: Sendable {
    let services: AppServices
    var cache: RecommendationModelCache = .shared
    static let defaultLimit = 10
    static let maximumLimit = 50
    /// The customer's own history the blender sees: habits and anchors come from recent purchases.
    static let historySales = 100
    static let historyLines = 200
    /// The popular head blended in and filling short lists, as the offline evaluation gives it.
    static let popularCount = 200
    static let itemColumns = "sku, name, category, baskets, buyers, popularity, repeat_rate, repeat_interval_days, consumable"

    static let notComputed = Problem(
        .notFound, code: "not_computed",
        detail: "the tenant's recommendation model has not been built yet; it is rebuilt daily, or now with POST /v1/recommendations/model/rebuild")

    /// Up to `limit` items for the customer `customerID` names (or the survivor it was merged into).
    func recommend(tenantID: String, customerID: String, context: RecommendationContext?, excludedCategories: [String],
                   limit: Int) async throws -> CustomerRecommendations {
        let now = services.nowMilliseconds
        return try await services.database.read { sql in
            guard let customer = try await self.cluster(on: sql, tenantID: tenantID, id: customerID) else { throw Problem.notFound("customer") }
            let model = try await self.head(on: sql, tenantID: tenantID, fittedAt: customer.modelFittedAt)
            let purchases = try await self.history(on: sql, tenantID: tenantID, members: customer.members)
            // The blender reads the context's anchors on top of its 50 from the history.
            let anchors = RecommendationBlender.anchors(history: purchases, context: context,
                                                        limit: RecommendationBlender.maximumAnchors + (context?.skus.count ?? 0))
            let lists = try await self.neighbours(on: sql, tenantID: tenantID, model: model.fittedAt, of: anchors)
            var wanted = Set(purchases.map(\.sku))
            wanted.formUnion(context?.skus ?? [])
            let profiles = try await self.profiles(on: sql, tenantID: tenantID, model: model.fittedAt, wanted)
            let filters = RecommendationFilters(outOfStock: Self.outOfStock(tenantID: tenantID), excludedCategories: excludedCategories)
            let items = RecommendationBlender.recommend(history: purchases, neighbours: lists, popular: model.popular, profiles: profiles,
                                                        context: context, filters: filters, limit: limit, now: now)
            func known(_ sku: String) -> ItemProfile? { profiles[sku] ?? model.popularBySKU[sku] }
            let missing = Set(items.map(\.sku).filter { known($0) == nil })
            let more = missing.isEmpty ? [:] : try await self.profiles(on: sql, tenantID: tenantID, model: model.fittedAt, missing)
            return CustomerRecommendations(customerId: customer.canonicalID, modelBuiltAt: model.builtAt, data: items.map { item in
                let profile = known(item.sku) ?? more[item.sku]
                return RecommendationView(item, name: profile?.name, category: profile?.category)
            })
        }
    }

    /// A product's related items: its neighbour list (one query, with the neighbours' names), filtered.
    func related(tenantID: String, sku: String, excludedCategories: [String], limit: Int) async throws -> RelatedProducts {
        try await services.database.read { sql in
            let model = try await self.head(on: sql, tenantID: tenantID)
            var neighbours: [Neighbour] = []
            var names: [String: String] = [:]
            for row in try await sql.raw("""
                SELECT n.neighbour_sku, n.score, n.co_baskets, n.channel_kind, n.category, i.name FROM recommendation_neighbours n
                LEFT JOIN recommendation_items i ON i.tenant_id = n.tenant_id AND i.sku = n.neighbour_sku
                WHERE n.tenant_id = \(bind: tenantID) AND n.sku = \(bind: sku) ORDER BY n.rank
                """).all() {
                let neighbour = try Self.neighbour(row)
                neighbours.append(neighbour)
                names[neighbour.sku] = try row.decode(column: "name", as: String?.self)
            }
            let categories = Dictionary(neighbours.map { ($0.sku, $0.category) }) { first, _ in first }
            let filters = RecommendationFilters(outOfStock: Self.outOfStock(tenantID: tenantID), excludedCategories: excludedCategories)
            let items = RecommendationBlender.related(to: sku, neighbours: neighbours, filters: filters, limit: limit)
            return RelatedProducts(sku: sku, modelBuiltAt: model.builtAt, data: items.map { item in
                RecommendationView(item, name: names[item.sku], category: categories[item.sku])
            })
        }
    }

    /// What cannot be sold now. There is no inventory capability yet, so nothing is out of stock;
    /// when there is, the stock view of the customer's store or web shop is read here.
    static func outOfStock(tenantID _: String) -> Set<String> { [] }

    // MARK: Reads

    /// A customer's merged cluster: its survivor and every member whose history is the cluster's,
    /// with the build time of the tenant's recommendation model read in the same statement.
    struct Cluster: Sendable {
        let canonicalID: String
        let members: [String]
        /// nil: the model was never built.
        let modelFittedAt: Int64?
    }

    /// The cluster of the customer `id` names, in one query; nil when no customer of the tenant has that id.
    func cluster(on sql: any SQLDatabase, tenantID: String, id: String) async throws -> Cluster? {
        let rows = try await sql.raw("""
            SELECT id, canonical_id, (\(Self.fittedAtQuery(tenantID: tenantID))) AS model_fitted_at FROM customers WHERE tenant_id = \(bind: tenantID)
              AND canonical_id = (SELECT canonical_id FROM customers WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id))
            """).all()
        guard let first = rows.first else { return nil }
        return Cluster(canonicalID: try first.decode(column: "canonical_id", as: String.self),
                       members: try rows.map { try $0.decode(column: "id", as: String.self) }.sorted(),
                       modelFittedAt: try first.decode(column: "model_fitted_at", as: Int64?.self))
    }

    /// The build time of the tenant's stored recommendation model (no row: never built).
    static func fittedAtQuery(tenantID: String) -> SQLQueryString {
        """
        SELECT fitted_at FROM analytics_models
        WHERE tenant_id = \(bind: tenantID) AND kind = \(bind: RecommendationModelStore.kind) AND model IS NOT NULL AND fitted_at IS NOT NULL
        """
    }

    /// The model's build time and popular head, from memory unless the model was rebuilt since;
    /// 404 `not_computed` when it was never built.
    func head(on sql: any SQLDatabase, tenantID: String) async throws -> RecommendationModelCache.Head {
        let fittedAt = try await sql.raw(Self.fittedAtQuery(tenantID: tenantID)).first(decodingColumn: "fitted_at", as: Int64.self)
        return try await head(on: sql, tenantID: tenantID, fittedAt: fittedAt)
    }

    /// The head of the model stored at `fittedAt` (nil: never built, 404 `not_computed`).
    func head(on sql: any SQLDatabase, tenantID: String, fittedAt: Int64?) async throws -> RecommendationModelCache.Head {
        guard let fittedAt else { throw Self.notComputed }
        if let cached = cache.head(tenantID: tenantID, fittedAt: fittedAt) { return cached }
        guard let stored = try await AnalyticsJobs(services: services).stored(RecommendationModelReport.self, on: sql, tenantID: tenantID,
                                                                               kind: RecommendationModelStore.kind) else { throw Self.notComputed }
        let popular = try await sql.raw("""
            SELECT \(unsafeRaw: Self.itemColumns) FROM recommendation_items
            WHERE tenant_id = \(bind: tenantID) AND popularity_rank < \(bind: Self.popularCount) ORDER BY popularity_rank
            """).all().map(Self.profile)
        let head = RecommendationModelCache.Head(fittedAt: stored.fittedAt, builtAt: stored.model.builtAt, popular: popular)
        cache.store(head, tenantID: tenantID)
        return head
    }

    /// The kept lines of the cluster's last `historySales` sales (at most `historyLines`), newest
    /// first, with the kind of channel each was bought in. One member — nearly every customer —
    /// reads `transactions_by_customer` backwards and stops at the limit.
    func history(on sql: any SQLDatabase, tenantID: String, members: [String]) async throws -> [PurchaseRecord] {
        let rows = try await sql.raw(Self.historyQuery(tenantID: tenantID, members: members)).all()
        return try rows.map { row in
            let kept = try row.decode(column: "quantity", as: Int64.self) - row.decode(column: "returned_quantity", as: Int64.self)
            return PurchaseRecord(sku: try row.decode(column: "sku", as: String.self), time: try row.decode(column: "occurred_at", as: Int64.self),
                                  channelKind: try row.decode(column: "channel_kind", as: String.self), quantity: Int(max(1, kept)))
        }
    }

    /// The statement of `history`: the sales come from `transactions_by_customer` alone, which
    /// carries their ids (migration 23), and only their lines are looked up.
    static func historyQuery(tenantID: String, members: [String]) -> SQLQueryString {
        let owner: SQLQueryString
        if let only = members.first, members.count == 1 {
            owner = "customer_id = \(bind: only)"
        } else {
            owner = "customer_id IN (\(binds: Array(members.prefix(500))))"
        }
        return """
            SELECT s.occurred_at, c.kind AS channel_kind, l.sku, l.quantity, l.returned_quantity
            FROM (SELECT id, channel_id, occurred_at FROM transactions WHERE tenant_id = \(bind: tenantID) AND \(owner) AND kind = 'sale'
                  ORDER BY occurred_at DESC LIMIT \(literal: historySales)) s
            JOIN transaction_lines l ON l.tenant_id = \(bind: tenantID) AND l.transaction_id = s.id
            JOIN channels c ON c.tenant_id = \(bind: tenantID) AND c.id = s.channel_id
            WHERE l.returned_quantity < l.quantity
            ORDER BY s.occurred_at DESC, s.id, l.line_number LIMIT \(literal: historyLines)
            """
    }

    /// The neighbour lists of `skus`, best first, by SKU (empty, or absent, for a SKU without
    /// neighbours; the blender skips both): those earlier requests read under the model stored at
    /// `model` from memory, the rest in one query.
    func neighbours(on sql: any SQLDatabase, tenantID: String, model: Int64, of skus: [String]) async throws -> [String: [Neighbour]] {
        var lookup = cache.neighbours(of: skus, tenantID: tenantID, fittedAt: model)
        guard !lookup.missing.isEmpty else { return lookup.found }
        var read: [String: [Neighbour]] = [:]
        for batch in lookup.missing.chunks(of: 500) {
            for row in try await sql.raw("""
                SELECT sku, neighbour_sku, score, co_baskets, channel_kind, category FROM recommendation_neighbours
                WHERE tenant_id = \(bind: tenantID) AND sku IN (\(binds: Array(batch))) ORDER BY sku, rank
                """).all() {
                read[try row.decode(column: "sku", as: String.self), default: []].append(try Self.neighbour(row))
            }
        }
        cache.remember(neighbours: read, requested: lookup.missing, tenantID: tenantID, fittedAt: model)
        lookup.found.merge(read) { held, _ in held }
        return lookup.found
    }

    /// The profiles of those of `skus` the model stored at `model` knows, by SKU: those earlier
    /// requests read from memory, the rest in one query.
    func profiles(on sql: any SQLDatabase, tenantID: String, model: Int64, _ skus: Set<String>) async throws -> [String: ItemProfile] {
        var lookup = cache.profiles(of: skus, tenantID: tenantID, fittedAt: model)
        guard !lookup.missing.isEmpty else { return lookup.found }
        var read: [String: ItemProfile] = [:]
        for batch in lookup.missing.sorted().chunks(of: 500) {
            for row in try await sql.raw("""
                SELECT \(unsafeRaw: Self.itemColumns) FROM recommendation_items WHERE tenant_id = \(bind: tenantID) AND sku IN (\(binds: Array(batch)))
                """).all() {
                let profile = try Self.profile(row)
                read[profile.sku] = profile
            }
        }
        cache.remember(profiles: read, requested: lookup.missing, tenantID: tenantID, fittedAt: model)
        lookup.found.merge(read) { held, _ in held }
        return lookup.found
    }

    static func profile(_ row: any SQLRow) throws -> ItemProfile {
        let interval: Double? = try row.decodeNil(column: "repeat_interval_days") ? nil : row.decode(column: "repeat_interval_days", as: Double.self)
        return ItemProfile(
            sku: try row.decode(column: "sku", as: String.self), name: try row.decode(column: "name", as: String.self),
            category: try row.decode(column: "category", as: String.self), baskets: try row.decode(column: "baskets", as: Int.self),
            buyers: try row.decode(column: "buyers", as: Int.self), popularity: try row.decode(column: "popularity", as: Double.self),
            repeatRate: try row.decode(column: "repeat_rate", as: Double.self), repeatIntervalDays: interval,
            isConsumable: try row.decode(column: "consumable", as: Int.self) != 0)
    }

    static func neighbour(_ row: any SQLRow) throws -> Neighbour {
        Neighbour(sku: try row.decode(column: "neighbour_sku", as: String.self), score: try row.decode(column: "score", as: Double.self),
                  coBaskets: try row.decode(column: "co_baskets", as: Int.self), channelKind: try row.decode(column: "channel_kind", as: String.self),
                  category: try row.decode(column: "category", as: String.self))
    }
}
