import Foundation

/// Recommendations for one customer from their own history and a handful of model rows: items
/// often bought with what they bought (recent purchases and the current cart weigh more), the
/// items they buy regularly and are due to buy again, and popular items to fill the list.
/// Pure and cheap (about 0.2 ms for a history with 50 anchors of 30 neighbours), so it runs per request.
public enum RecommendationBlender {
    /// How the three sources mix. `blended` is the product; the other two are the baselines the
    /// offline evaluation compares it with.
    public struct Weights: Codable, Hashable, Sendable {
        /// Multiplies the anchors' weighted mean neighbour score (0…1) of an item.
        public var similar: Double
        /// An anchor bought this many days ago counts half as much as one bought today; nil: every
        /// anchor counts fully, however old.
        public var anchorHalfLifeDays: Double?
        /// The least an old anchor counts, as a share of a new one.
        public var anchorFloor: Double
        /// The share (0…1) of the similar part that the context's items take together when there is
        /// also a history; the history's anchors share the rest. Alone, either takes it all.
        public var context: Double
        /// Multiplies how due a regularly bought item is (0…1) by its habit's confidence.
        public var repeatPurchase: Double
        /// Multiplies an item's popularity relative to the most popular (0…1).
        public var popular: Double
        /// Raises a popular item by this much times the customer's affinity to it: the share of their
        /// purchases in its category plus half the share in its department ("women" of
        /// "women/knitwear"), so the fallback leans to what they shop for.
        public var popularAffinity: Double

        public init(similar: Double = 1, anchorHalfLifeDays: Double? = 60, anchorFloor: Double = 0.2, context: Double = 0.75,
                    repeatPurchase: Double = 1, popular: Double = 0.05, popularAffinity: Double = 2) {
            self.similar = similar
            self.anchorHalfLifeDays = anchorHalfLifeDays
            self.anchorFloor = anchorFloor
            self.context = context
            self.repeatPurchase = repeatPurchase
            self.popular = popular
            self.popularAffinity = popularAffinity
        }

        /// The product: all three sources.
        public static let blended = Weights()
        /// Neighbours of everything bought, every purchase alike: the item-to-item baseline.
        public static let itemItemOnly = Weights(anchorHalfLifeDays: nil, anchorFloor: 1, repeatPurchase: 0, popular: 0, popularAffinity: 0)
        /// The most popular items: the popularity baseline.
        public static let popularityOnly = Weights(similar: 0, context: 0, repeatPurchase: 0, popular: 1, popularAffinity: 0)
    }

    /// At most this many of the customer's items anchor the similar-items part.
    public static let maximumAnchors = 50

    /// The SKUs whose neighbour lists a request needs: the context's, then the customer's most
    /// recently bought distinct items, up to `limit` in all. The server reads only these rows.
    public static func anchors(history: [PurchaseRecord], context: RecommendationContext? = nil, limit: Int = maximumAnchors) -> [String] {
        anchors(last: lastPurchases(history), context: context, limit: limit)
    }

    /// `anchors(history:context:limit:)` from each SKU's last purchase.
    static func anchors(last: [String: PurchaseRecord], context: RecommendationContext?, limit: Int) -> [String] {
        var anchors = context?.skus ?? []
        var seen = Set(anchors)
        let recent = last.sorted { $0.value.time != $1.value.time ? $0.value.time > $1.value.time : $0.key < $1.key }
        for (sku, _) in recent where anchors.count < limit && seen.insert(sku).inserted { anchors.append(sku) }
        return Array(anchors.prefix(max(0, limit)))
    }

    /// The customer's most bought categories, most first (then by path): the server may add the
    /// popular head of each to `popular`, so the fallback has something in what they shop for
    /// even when the chain-wide head has not.
    public static func favouriteCategories(history: [PurchaseRecord], profiles: [String: ItemProfile], limit: Int = 3) -> [String] {
        var counts: [String: Int] = [:]
        for record in history {
            if let category = profiles[record.sku]?.category, !category.isEmpty { counts[category, default: 0] += 1 }
        }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(max(0, limit)).map(\.key)
    }

    /// The SKUs the owned filter takes out: bought before, not a consumable by the model, and not
    /// bought by this customer on two different days (their own habit says it is one for them).
    public static func ownedNonConsumables(history: [PurchaseRecord], profiles: [String: ItemProfile],
                                           repeats: [String: RepeatPattern]? = nil) -> Set<String> {
        let repeats = repeats ?? RepeatPattern.detect(in: history)
        var owned = Set<String>()
        for record in history where profiles[record.sku]?.isConsumable != true && repeats[record.sku] == nil { owned.insert(record.sku) }
        return owned
    }

    /// Up to `limit` recommendations, best first (score, then SKU).
    /// - history: the customer's purchases in every channel (empty for a new or anonymous shopper);
    /// - neighbours: the neighbour lists of `anchors(history:context:)`, by SKU (missing ones are skipped);
    /// - popular: the most popular items (a few hundred), most popular first;
    /// - profiles: the profiles of the history and context items (names, categories, consumable flags);
    /// - now: the time "due" and recency are judged at.
    public static func recommend(history: [PurchaseRecord], neighbours: [String: [Neighbour]], popular: [ItemProfile],
                                 profiles: [String: ItemProfile], context: RecommendationContext? = nil,
                                 filters: RecommendationFilters = .init(), limit: Int, now: Int64,
                                 weights: Weights = .blended) -> [RecommendedItem] {
        recommend(history: history, neighbours: neighbours, popular: PopularItems(popular), profiles: profiles, context: context,
                  filters: filters, limit: limit, now: now, weights: weights)
    }

    /// `recommend(history:neighbours:popular:…)` with the popular head prepared once for many requests.
    public static func recommend(history: [PurchaseRecord], neighbours: [String: [Neighbour]], popular: PopularItems,
                                 profiles: [String: ItemProfile], context: RecommendationContext? = nil,
                                 filters: RecommendationFilters = .init(), limit: Int, now: Int64,
                                 weights: Weights = .blended) -> [RecommendedItem] {
        guard limit > 0 else { return [] }
        let last = lastPurchases(history)
        let repeats = RepeatPattern.detect(in: history)
        var excluded = Set(context?.skus ?? [])
        if filters.excludeOwnedNonConsumables { excluded.formUnion(ownedNonConsumables(history: history, profiles: profiles, repeats: repeats)) }
        // The stock and category filters are checked as candidates come (nearly every request has
        // neither, and then they cost nothing); the excluded items only when a candidate would make
        // the list, as few do of the thousand or more gathered.
        let filtersStock = !filters.outOfStock.isEmpty, filtersCategories = !filters.excludedCategories.isEmpty
        func allowed(_ sku: String, category: String?) -> Bool {
            !(filtersStock && filters.outOfStock.contains(sku))
                && !(filtersCategories && filters.excludes(category: category ?? profiles[sku]?.category ?? ""))
        }
        var candidates: [String: Candidate] = [:]
        candidates.reserveCapacity(min(maximumAnchors, last.count + (context?.skus.count ?? 0)) * 30 + popular.items.count)

        // (1) Neighbours of the anchors: the context's, then what was bought, by recency. Each
        // anchor's share of the anchors' total weight scales its neighbours' scores, so the part
        // stays within 0…1 however long the history, and comparable with the other two.
        if weights.similar > 0 {
            let halfLife = weights.anchorHalfLifeDays.map { max(0.001, $0) * Double(RecommendationTime.day) }
            var weighted: [(sku: String, weight: Double, isContext: Bool, list: [Neighbour])] = []
            var contextTotal = 0.0, historyTotal = 0.0
            for sku in anchors(last: last, context: context, limit: maximumAnchors + (context?.skus.count ?? 0)) {
                guard let list = neighbours[sku], !list.isEmpty else { continue }
                if context?.skus.contains(sku) == true {
                    weighted.append((sku, 1, true, list))
                    contextTotal += 1
                } else if let purchase = last[sku] {
                    let recency = halfLife.map { exp2(-Double(max(0, now - purchase.time)) / $0) } ?? 1
                    let weight = weights.anchorFloor + (1 - weights.anchorFloor) * recency
                    guard weight > 0 else { continue }
                    weighted.append((sku, weight, false, list))
                    historyTotal += weight
                }
            }
            let contextShare = historyTotal == 0 ? 1 : contextTotal == 0 ? 0 : min(1, max(0, weights.context))
            for anchor in weighted {
                let share = weights.similar * (anchor.isContext ? contextShare / contextTotal : (1 - contextShare) * anchor.weight / historyTotal)
                guard share > 0 else { continue }
                for neighbour in anchor.list where neighbour.score > 0 && allowed(neighbour.sku, category: neighbour.category) {
                    candidates[neighbour.sku, default: Candidate()]
                        .add(similar: share * neighbour.score, anchor: anchor.sku, isContext: anchor.isContext)
                }
            }
        }
        // (2) What the customer buys regularly and is due to buy again.
        if weights.repeatPurchase > 0 {
            for (sku, pattern) in repeats where allowed(sku, category: nil) {
                let due = pattern.dueness(at: now) * pattern.confidence * weights.repeatPurchase
                if due > 0 { candidates[sku, default: Candidate()].repeatScore = due }
            }
        }
        // (3) Popular items, leaning to the customer's categories and departments; they also fill a short list.
        if weights.popular > 0, popular.top > 0 {
            // The customer's share of purchases in each of the head's categories and departments, by slot.
            var shares = [Double](repeating: 0, count: popular.slots.count)
            if weights.popularAffinity > 0 && !history.isEmpty {
                let unit = 1 / Double(history.count)
                for record in history {
                    let category = profiles[record.sku]?.category ?? ""
                    guard !category.isEmpty else { continue }
                    if let slot = popular.slots[Substring(category)] { shares[slot] += unit }
                    let top = department(category)
                    if top.endIndex < category.endIndex, let slot = popular.slots[top] { shares[slot] += unit / 2 }
                }
            }
            for index in popular.items.indices {
                let sku = popular.items[index].sku
                guard allowed(sku, category: popular.items[index].category) else { continue }
                let categorySlot = popular.categorySlot[index], departmentSlot = popular.departmentSlot[index]
                let affinity = (categorySlot < 0 ? 0 : shares[categorySlot]) + (departmentSlot < 0 ? 0 : shares[departmentSlot])
                candidates[sku, default: Candidate()].popularScore =
                    weights.popular * popular.items[index].popularity / popular.top * (1 + weights.popularAffinity * affinity)
            }
        }

        // The best `limit`, kept in order as they come: cheaper than sorting every candidate.
        var best: [(sku: String, score: Double, candidate: Candidate)] = []
        best.reserveCapacity(limit + 1)
        func ranksBefore(_ score: Double, _ sku: String, _ other: (sku: String, score: Double, candidate: Candidate)) -> Bool {
            score > other.score || (score == other.score && sku < other.sku)
        }
        for (sku, candidate) in candidates {
            let score = candidate.similar + candidate.repeatScore + candidate.popularScore
            guard score > 0 else { continue }
            if best.count == limit, let worst = best.last, !ranksBefore(score, sku, worst) { continue }
            if excluded.contains(sku) { continue }
            var position = best.count
            while position > 0 && ranksBefore(score, sku, best[position - 1]) { position -= 1 }
            best.insert((sku, score, candidate), at: position)
            if best.count > limit { best.removeLast() }
        }
        return best.map { entry in
            RecommendedItem(sku: entry.sku, score: entry.score,
                            reason: reason(entry.candidate, sku: entry.sku, repeats: repeats, lastBought: last, profiles: profiles, context: context))
        }
    }

    /// A product's related items: its neighbour list, filtered, best first.
    public static func related(to sku: String, neighbours: [Neighbour], filters: RecommendationFilters = .init(), limit: Int) -> [RecommendedItem] {
        neighbours
            .filter { $0.sku != sku && $0.score > 0 && !filters.outOfStock.contains($0.sku) && !filters.excludes(category: $0.category) }
            .sorted { $0.score != $1.score ? $0.score > $1.score : $0.sku < $1.sku }
            .prefix(max(0, limit))
            .map { neighbour in
                let reason: RecommendationReason = neighbour.coBaskets > 0
                    ? .boughtTogether(anchorSKU: sku, channelKind: neighbour.channelKind) : .alsoBought(anchorSKU: sku)
                return RecommendedItem(sku: neighbour.sku, score: neighbour.score, reason: reason)
            }
    }

    // MARK: Parts

    /// What one candidate gathered from each source, and its strongest anchor.
    struct Candidate {
        var similar = 0.0
        var bestAnchor = ""
        var bestAnchorScore = 0.0
        var bestAnchorIsContext = false
        var repeatScore = 0.0
        var popularScore = 0.0

        mutating func add(similar score: Double, anchor: String, isContext: Bool) {
            similar += score
            // Anchors come in a fixed order, so ties keep the first: the context, then the most recent.
            if score > bestAnchorScore {
                bestAnchorScore = score
                bestAnchor = anchor
                bestAnchorIsContext = isContext
            }
        }
    }

    /// The reason of the source that gave the candidate most of its score.
    static func reason(_ candidate: Candidate, sku: String, repeats: [String: RepeatPattern], lastBought: [String: PurchaseRecord],
                       profiles: [String: ItemProfile], context: RecommendationContext?) -> RecommendationReason {
        if candidate.repeatScore > 0, candidate.repeatScore >= candidate.similar, candidate.repeatScore >= candidate.popularScore,
           let pattern = repeats[sku] {
            return .repeatPurchase(intervalDays: pattern.intervalDays, channelKind: pattern.lastChannelKind)
        }
        if candidate.similar > 0 && candidate.similar >= candidate.popularScore {
            let name = profiles[candidate.bestAnchor]?.name ?? candidate.bestAnchor
            if candidate.bestAnchorIsContext, let context {
                return .goesWith(anchorSKU: candidate.bestAnchor, anchorName: name, context: context.kind)
            }
            return .boughtWith(anchorSKU: candidate.bestAnchor, anchorName: name, channelKind: lastBought[candidate.bestAnchor]?.channelKind ?? "")
        }
        return .popular
    }

    /// Each SKU's latest purchase (ties: the first given).
    static func lastPurchases(_ history: [PurchaseRecord]) -> [String: PurchaseRecord] {
        var last: [String: PurchaseRecord] = [:]
        for record in history where last[record.sku].map({ record.time > $0.time }) ?? true { last[record.sku] = record }
        return last
    }

    /// The first segment of a category path: "women" of "women/knitwear".
    static func department(_ category: String) -> Substring {
        category[..<(category.utf8.firstIndex(of: UInt8(ascii: "/")) ?? category.endIndex)]
    }
}
