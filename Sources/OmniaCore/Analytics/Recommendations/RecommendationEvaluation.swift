import Foundation

/// Offline evaluation by leaving out each customer's last basket: the model is built from every
/// other basket, each customer with an earlier basket is recommended `k` items from their earlier
/// history at the moment of their last basket, and the lists are scored against what that basket
/// held — for the blended recommender and the popularity and item-to-item baselines alike.
///
/// The truth leaves out items of the last basket that the customer already owned and that are not
/// consumables (to the model, or by their own habit): every recommender is built never to show
/// them, so counting them would only lower all scores alike and blur the comparison. Customers
/// whose last basket holds nothing else are skipped, and counted. Other customers' baskets later
/// than a customer's last one stay in the model, as in any leave-last-out evaluation.
public struct RecommendationEvaluation: Codable, Hashable, Sendable {
    /// One recommender's mean scores over the evaluated customers.
    public struct Row: Codable, Hashable, Sendable {
        public var recommender: String
        public var precision: Double
        public var hitRate: Double
        public var ndcg: Double

        public init(recommender: String, precision: Double, hitRate: Double, ndcg: Double) {
            self.recommender = recommender
            self.precision = precision
            self.hitRate = hitRate
            self.ndcg = ndcg
        }
    }

    public var k: Int
    public var trainingBaskets: Int
    public var evaluatedCustomers: Int
    /// Customers with two baskets or more whose last one held only items they already owned.
    public var skippedCustomers: Int
    /// Popularity, item-to-item, blended — in that order.
    public var rows: [Row]

    public init(k: Int, trainingBaskets: Int, evaluatedCustomers: Int, skippedCustomers: Int, rows: [Row]) {
        self.k = k
        self.trainingBaskets = trainingBaskets
        self.evaluatedCustomers = evaluatedCustomers
        self.skippedCustomers = skippedCustomers
        self.rows = rows
    }

    public static let recommenders: [(name: String, weights: RecommendationBlender.Weights)] = [
        ("popularity", .popularityOnly), ("item_item", .itemItemOnly), ("blended", .blended),
    ]

    /// Evaluates on `baskets` (any order). `popularCount` is the head of the popular list the
    /// blender is given, as the server would read it. With more eligible customers than
    /// `maximumCustomers`, an evenly spaced sample of them (by customer id) is evaluated and only
    /// their last baskets are held out, so a large tenant's evaluation takes bounded time.
    public static func run(baskets: [Basket], catalogue: [String: CatalogueItem], k: Int = 10,
                           parameters: ItemSimilarityParameters = .init(), blended: RecommendationBlender.Weights = .blended,
                           popularCount: Int = 200, maximumCustomers: Int? = nil) -> RecommendationEvaluation {
        // Each customer's last basket (latest time; of equal times, the later given) is held out.
        var last: [String: Int] = [:]
        var basketCount: [String: Int] = [:]
        for (index, basket) in baskets.enumerated() {
            guard let customer = basket.customerID else { continue }
            basketCount[customer, default: 0] += 1
            if let held = last[customer], baskets[held].time > basket.time { continue }
            last[customer] = index
        }
        var eligible = last.keys.filter { basketCount[$0, default: 0] >= 2 }.sorted()
        if let maximum = maximumCustomers, eligible.count > max(0, maximum) {
            let step = Double(eligible.count) / Double(max(0, maximum))
            eligible = (0..<max(0, maximum)).map { eligible[Int(Double($0) * step)] }
        }
        let heldOut = Set(eligible.compactMap { last[$0] })
        var training: [Basket] = []
        training.reserveCapacity(baskets.count)
        var histories: [String: [PurchaseRecord]] = [:]
        var trainingEnd = Int64.min
        for (index, basket) in baskets.enumerated() where !heldOut.contains(index) {
            training.append(basket)
            trainingEnd = max(trainingEnd, basket.time)
            if let customer = basket.customerID, last[customer].map(heldOut.contains) == true {
                histories[customer, default: []].append(
                    contentsOf: basket.skus.map { PurchaseRecord(sku: $0, time: basket.time, channelKind: basket.channelKind) })
            }
        }
        let model = ItemSimilarityModel.build(baskets: training, catalogue: catalogue, parameters: parameters, now: trainingEnd)
        let popular = PopularItems(model.popular(limit: popularCount))
        let recommenders = recommenders.map { $0.name == "blended" ? ($0.name, blended) : $0 }

        var sums = [(precision: Double, hit: Double, ndcg: Double)](repeating: (0, 0, 0), count: recommenders.count)
        var evaluated = 0, skipped = 0
        for index in heldOut.sorted() {
            let target = baskets[index]
            guard let customer = target.customerID else { continue }
            let history = histories[customer] ?? []
            let profiles = model.profiles(for: Set(history.map(\.sku)))
            let owned = RecommendationBlender.ownedNonConsumables(history: history, profiles: profiles)
            let relevant = Set(target.skus).subtracting(owned)
            guard !relevant.isEmpty else {
                skipped += 1
                continue
            }
            evaluated += 1
            let neighbours = model.neighbourLists(for: RecommendationBlender.anchors(history: history))
            for (position, recommender) in recommenders.enumerated() {
                let list = RecommendationBlender.recommend(history: history, neighbours: neighbours, popular: popular, profiles: profiles,
                                                           limit: k, now: target.time, weights: recommender.1).map(\.sku)
                sums[position].precision += RankingMetrics.precision(at: k, recommended: list, relevant: relevant)
                sums[position].hit += RankingMetrics.hit(at: k, recommended: list, relevant: relevant)
                sums[position].ndcg += RankingMetrics.ndcg(at: k, recommended: list, relevant: relevant)
            }
        }
        let count = Double(max(1, evaluated))
        let rows = zip(recommenders, sums).map { recommender, sum in
            Row(recommender: recommender.0, precision: sum.precision / count, hitRate: sum.hit / count, ndcg: sum.ndcg / count)
        }
        return RecommendationEvaluation(k: k, trainingBaskets: training.count, evaluatedCustomers: evaluated, skippedCustomers: skipped, rows: rows)
    }

    public func row(_ recommender: String) -> Row? { rows.first { $0.recommender == recommender } }

    /// The scores as a plain-text table, for the command line.
    public var table: String {
        var lines = ["recommender   precision@\(k)  hit-rate@\(k)  ndcg@\(k)"]
        for row in rows {
            lines.append(row.recommender.padding(toLength: 14, withPad: " ", startingAt: 0)
                + String(format: "%12.4f  %11.4f  %7.4f", row.precision, row.hitRate, row.ndcg))
        }
        lines.append("\(evaluatedCustomers) customers evaluated, \(skippedCustomers) skipped (last basket only items they owned), "
            + "model from \(trainingBaskets) baskets")
        return lines.joined(separator: "\n")
    }
}
