import Foundation
import OmniaCore
import Testing

/// Midnight UTC, 2026-03-01, and a day, in milliseconds.
private let midnight: Int64 = 1_772_323_200_000
private let day: Int64 = 86_400_000

private func close(_ value: Double?, _ expected: Double, within tolerance: Double = 1e-9) -> Bool {
    value.map { abs($0 - expected) < tolerance } ?? false
}

private let shop: [String: CatalogueItem] = [
    "JER": CatalogueItem(name: "Wool jersey", category: "women/knitwear"),
    "SCF": CatalogueItem(name: "Wool scarf", category: "accessories/scarves"),
    "JNS": CatalogueItem(name: "Slim jeans", category: "women/denim"),
    "MUG": CatalogueItem(name: "Coffee mug", category: "home/kitchen"),
    "COF": CatalogueItem(name: "Ground coffee", category: "grocery/coffee"),
]

/// Five baskets: the jersey with the scarf twice in store, with the jeans once in store and once
/// online; a mug with a scarf on an anonymous receipt; coffee with the mug online.
private let tinyBaskets = [
    Basket(customerID: "c1", time: midnight, channelKind: "store", skus: ["JER", "SCF"]),
    Basket(customerID: "c2", time: midnight + day, channelKind: "store", skus: ["JER", "SCF", "JNS", "JER"]),
    Basket(customerID: "c3", time: midnight + 2 * day, channelKind: "web", skus: ["JER", "JNS"]),
    Basket(customerID: nil, time: midnight + 3 * day, channelKind: "store", skus: ["SCF", "MUG"]),
    Basket(customerID: "c1", time: midnight + 4 * day, channelKind: "web", skus: ["COF", "MUG"]),
]

private func profile(_ sku: String, consumable: Bool = false, popularity: Double = 1) -> ItemProfile {
    ItemProfile(sku: sku, name: shop[sku]?.name ?? sku, category: shop[sku]?.category ?? "", baskets: 1, buyers: 1, popularity: popularity,
                repeatRate: consumable ? 0.5 : 0, repeatIntervalDays: nil, isConsumable: consumable)
}

@Suite("Recommendations: the item model")
struct ItemSimilarityModelTests {
    @Test("neighbour scores are the cosine of basket counts, shrunk for rare pairs, with the channel they were bought together in")
    func cooccurrence() throws {
        let plain = ItemSimilarityParameters(shrinkage: 0, customerWeight: 0)
        let model = ItemSimilarityModel.build(baskets: tinyBaskets, catalogue: shop, parameters: plain, now: midnight + 4 * day)
        // Baskets: JER 3, SCF 3, JNS 2, MUG 2, COF 1 (the repeated JER counts once).
        #expect(model.profile("JER")?.baskets == 3)
        let jersey = model.neighbours(of: "JER")
        #expect(jersey.map(\.sku) == ["JNS", "SCF"])
        #expect(close(jersey.first?.score, 2 / 6.0.squareRoot()), "2 co-baskets / √(3 × 2)")
        #expect(jersey.first?.coBaskets == 2)
        #expect(jersey.first?.channelKind == "store", "once in store, once online: the tie goes to the first name")
        #expect(jersey.first?.category == "women/denim")
        #expect(close(jersey.last?.score, 2 / 3.0), "2 / √(3 × 3)")
        let scarf = model.neighbours(of: "SCF")
        #expect(scarf.map(\.sku) == ["JER", "JNS", "MUG"], "equal scores in SKU order")
        #expect(close(scarf[1].score, 1 / 6.0.squareRoot()) && close(scarf[2].score, 1 / 6.0.squareRoot()))
        let coffee = model.neighbours(of: "COF")
        #expect(coffee.map(\.sku) == ["MUG"] && close(coffee.first?.score, 1 / 2.0.squareRoot()) && coffee.first?.channelKind == "web")

        let shrunk = ItemSimilarityModel.build(baskets: tinyBaskets, catalogue: shop, parameters: .init(shrinkage: 5, customerWeight: 0),
                                               now: midnight + 4 * day)
        #expect(close(shrunk.neighbours(of: "JER").first?.score, 2 / 6.0.squareRoot() * 2 / 7), "× 2 / (2 + 5)")
        let kept = ItemSimilarityModel.build(baskets: tinyBaskets, catalogue: shop, parameters: .init(neighbours: 1, shrinkage: 0, customerWeight: 0),
                                             now: midnight + 4 * day)
        #expect(kept.neighbours(of: "SCF").map(\.sku) == ["JER"], "only the best neighbour is kept")
        #expect(kept.neighbours(of: "unknown").isEmpty)
    }

    @Test("items one customer bought on different occasions become neighbours at the customer weight")
    func customerLevel() {
        let model = ItemSimilarityModel.build(baskets: tinyBaskets, catalogue: shop, parameters: .init(shrinkage: 0, customerWeight: 0.5),
                                              now: midnight + 4 * day)
        // c1 bought the jersey, then coffee: buyers JER {c1, c2, c3}, COF {c1}, one in common.
        let coffee = model.neighbours(of: "JER").first { $0.sku == "COF" }
        #expect(close(coffee?.score, 0.5 * 1 / 3.0.squareRoot()))
        #expect(coffee?.coBaskets == 0 && coffee?.channelKind == "")
        // Jersey and scarf: 2 co-baskets of 3 and 3, and 2 common buyers of 3 (c1, c2) and 3 (c1, c2, the anonymous receipt).
        #expect(close(model.neighbours(of: "JER").first { $0.sku == "SCF" }?.score, 0.5 * 2 / 3 + 0.5 * 2 / 3))
    }

    @Test("popularity counts buyers decayed by the age of their last purchase; repeat rate and interval make a consumable")
    func itemProfiles() throws {
        let now = midnight + 40 * day
        let baskets = [
            Basket(customerID: "a", time: midnight, channelKind: "store", skus: ["COF"]),
            Basket(customerID: "a", time: midnight + 20 * day, channelKind: "web", skus: ["COF"]),
            Basket(customerID: "a", time: midnight + 40 * day, channelKind: "web", skus: ["COF"]),
            Basket(customerID: "b", time: midnight + 10 * day, channelKind: "store", skus: ["COF", "MUG"]),
            Basket(customerID: "b", time: midnight + 10 * day, channelKind: "store", skus: ["COF"]),
            Basket(customerID: nil, time: midnight + 30 * day, channelKind: "store", skus: ["MUG"]),
        ]
        let parameters = ItemSimilarityParameters(popularityHalfLifeDays: 10, consumableRepeatRate: 0.5, consumableMinBuyers: 2)
        let model = ItemSimilarityModel.build(baskets: baskets, catalogue: shop, parameters: parameters, now: now)
        let coffee = try #require(model.profile("COF"))
        #expect(coffee.buyers == 2 && coffee.baskets == 5)
        #expect(close(coffee.popularity, 1 + 0.125), "a bought today, b last 30 days ago: 1 + 2^-3")
        #expect(close(coffee.repeatRate, 0.5), "a bought on three days; b twice on one day, which is not a repeat")
        #expect(coffee.repeatIntervalDays == 20 && coffee.isConsumable)
        #expect(coffee.name == "Ground coffee" && coffee.category == "grocery/coffee")
        let mug = try #require(model.profile("MUG"))
        #expect(mug.buyers == 2, "b and the anonymous receipt")
        #expect(close(mug.popularity, 0.125 + 0.5))
        #expect(!mug.isConsumable && mug.repeatIntervalDays == nil)
        #expect(model.popular(limit: 1).map(\.sku) == ["COF"])
        #expect(model.basketCount == 6 && model.lineCount == 7 && model.customerCount == 2)
        let unnamed = ItemSimilarityModel.build(baskets: [Basket(customerID: nil, time: now, channelKind: "app", skus: ["NEW"])], catalogue: [:], now: now)
        #expect(unnamed.profile("NEW")?.name == "NEW" && unnamed.profile("NEW")?.category == "")
    }

    @Test("the model is plain rows: it round-trips through JSON and answers the same lookups")
    func serialisation() throws {
        let model = ItemSimilarityModel.build(baskets: tinyBaskets, catalogue: shop, now: midnight + 4 * day)
        let decoded = try JSONDecoder().decode(ItemSimilarityModel.self, from: JSONEncoder().encode(model))
        #expect(decoded.items == model.items && decoded.neighbours == model.neighbours && decoded.parameters == model.parameters)
        #expect(decoded.neighbours(of: "JER") == model.neighbours(of: "JER"))
        #expect(decoded.profiles(for: ["SCF", "nope"]).keys.sorted() == ["SCF"])
        #expect(decoded.neighbourLists(for: ["COF", "JER"]).count == 2)
        let rebuilt = ItemSimilarityModel(builtAt: model.builtAt, parameters: model.parameters, basketCount: 5, lineCount: 11, customerCount: 3,
                                          items: model.items, neighbours: model.neighbours)
        #expect(rebuilt.profile("MUG") == model.profile("MUG"))
    }
}

@Suite("Recommendations: blending, filters and reasons")
struct RecommendationBlenderTests {
    let popular = [profile("JER", popularity: 10), profile("SCF", popularity: 8), profile("COF", consumable: true, popularity: 6),
                   profile("MUG", popularity: 4)]

    @Test("a customer with no history gets the popular items, most popular first, each saying so")
    func newCustomer() {
        let list = RecommendationBlender.recommend(history: [], neighbours: [:], popular: popular, profiles: [:], limit: 3, now: midnight)
        #expect(list.map(\.sku) == ["JER", "SCF", "COF"])
        #expect(list.allSatisfy { $0.reason.code == .popular && $0.reason.text == "popular right now" })
        #expect(list.map(\.score) == list.map(\.score).sorted(by: >))
        #expect(RecommendationBlender.recommend(history: [], neighbours: [:], popular: popular, profiles: [:], limit: 0, now: midnight).isEmpty)
    }

    @Test("coffee bought every 21 days is due three weeks later, not the day after, and says 'you buy this every 3 weeks'")
    func repeatPurchases() throws {
        let history = (0..<4).map { PurchaseRecord(sku: "COF", time: midnight + Int64($0) * 21 * day, channelKind: $0 == 3 ? "web" : "store") }
        let pattern = try #require(RepeatPattern.detect(in: history)["COF"])
        #expect(pattern.purchaseDays == 4 && pattern.intervalDays == 21 && pattern.lastChannelKind == "web")
        let lastTime = midnight + 63 * day
        #expect(pattern.dueness(at: lastTime + day) == 0)
        #expect(pattern.dueness(at: lastTime + 21 * day) == 1)
        #expect(pattern.dueness(at: lastTime + 15 * day) > 0 && pattern.dueness(at: lastTime + 15 * day) < 1)
        #expect(pattern.dueness(at: lastTime + 84 * day) < 0.5, "a habit missed for four intervals fades")

        let profiles = ["COF": profile("COF")]
        let due = RecommendationBlender.recommend(history: history, neighbours: [:], popular: popular, profiles: profiles, limit: 3,
                                                  now: lastTime + 21 * day)
        #expect(due.first?.sku == "COF")
        #expect(due.first?.reason == RecommendationReason(code: .repeatPurchase, text: "you buy this every 3 weeks", channelKind: "web", intervalDays: 21))
        let early = RecommendationBlender.recommend(history: history, neighbours: [:], popular: popular, profiles: profiles, limit: 4,
                                                    now: lastTime + day)
        let coffee = try #require(early.first { $0.sku == "COF" }, "still allowed: the customer's own habit makes it a consumable")
        #expect(coffee.reason.code == .popular && coffee.score < (due.first?.score ?? 0), "just bought: not due yet")

        // Two units last time, one as a rule: the pack lasts twice as long.
        var doubled = history
        doubled.append(PurchaseRecord(sku: "COF", time: lastTime + 60_000, channelKind: "web"))
        let stretched = try #require(RepeatPattern.detect(in: doubled)["COF"])
        #expect(stretched.lastQuantity == 2 && stretched.typicalQuantity == 1 && stretched.purchaseDays == 4)
        #expect(stretched.dueness(at: lastTime + 21 * day) == 0)
        #expect(RepeatPattern.detect(in: [PurchaseRecord(sku: "X", time: midnight, channelKind: "store"),
                                          PurchaseRecord(sku: "X", time: midnight + 3_600_000, channelKind: "web")]).isEmpty,
                "twice on one day is not a habit")
    }

    @Test("the popular fallback leans to the categories and departments the customer buys in")
    func popularAffinity() {
        // Half the purchases in women/knitwear, half in grocery/coffee: shares women/knitwear ½,
        // women ¼ (half a department's weight), grocery/coffee ½, grocery ¼.
        let items = ["KNT": "women/knitwear", "POT": "home/kitchen", "WMN": "women", "DNM": "women/denim", "OWN": "women/knitwear", "BEAN": "grocery/coffee"]
        func item(_ sku: String, _ popularity: Double) -> ItemProfile {
            ItemProfile(sku: sku, name: sku, category: items[sku] ?? "", baskets: 1, buyers: 1, popularity: popularity, repeatRate: 0,
                        repeatIntervalDays: nil, isConsumable: false)
        }
        let history = [PurchaseRecord(sku: "OWN", time: midnight, channelKind: "store"), PurchaseRecord(sku: "BEAN", time: midnight, channelKind: "web")]
        let profiles = ["OWN": item("OWN", 1), "BEAN": item("BEAN", 1)]
        let head = PopularItems([item("KNT", 10), item("POT", 10), item("WMN", 10), item("DNM", 5)])
        let list = RecommendationBlender.recommend(history: history, neighbours: [:], popular: head, profiles: profiles, limit: 10, now: midnight + day)
        #expect(list.map(\.sku) == ["KNT", "WMN", "POT", "DNM"])
        let scores = Dictionary(uniqueKeysWithValues: list.map { ($0.sku, $0.score) })
        #expect(close(scores["KNT"], 0.05 * (1 + 2 * 0.75)), "its category ½ and its department ¼")
        #expect(close(scores["WMN"], 0.05 * (1 + 2 * 0.25)), "a category without a department part is the department's key")
        #expect(close(scores["POT"], 0.05), "no affinity")
        #expect(close(scores["DNM"], 0.05 * 0.5 * (1 + 2 * 0.25)), "half as popular, its department ¼")
        let plain = RecommendationBlender.recommend(history: history, neighbours: [:], popular: head.items, profiles: profiles, limit: 10,
                                                    now: midnight + day)
        #expect(plain == list, "the prepared head and the plain list give the same answer")
    }

    @Test("intervals read in the unit a person would use")
    func intervalPhrases() {
        let cases: [(Double, String)] = [(1, "every day"), (3, "every 3 days"), (7, "every week"), (10, "every 10 days"), (14, "every 2 weeks"),
                                         (20.6, "every 3 weeks"), (21, "every 3 weeks"), (30, "every 4 weeks"), (45, "every 6 weeks"),
                                         (61, "every 2 months"), (91, "every 3 months"), (365, "every year"), (800, "every 2 years"), (0.2, "every day")]
        for (days, phrase) in cases { #expect(RecommendationReason.intervalPhrase(days: days) == phrase, "\(days)") }
    }

    @Test("filters drop owned non-consumables, out-of-stock SKUs and excluded categories, and keep owned consumables")
    func filters() {
        // Bought the jersey once and coffee once; the model knows coffee is a consumable.
        let history = [PurchaseRecord(sku: "JER", time: midnight, channelKind: "store"), PurchaseRecord(sku: "COF", time: midnight, channelKind: "web")]
        let profiles = ["JER": profile("JER"), "COF": profile("COF", consumable: true)]
        let neighbours = ["JER": [Neighbour(sku: "SCF", score: 0.5, coBaskets: 4, channelKind: "store", category: "accessories/scarves"),
                                  Neighbour(sku: "JNS", score: 0.4, coBaskets: 3, channelKind: "web", category: "women/denim")]]
        let now = midnight + day
        let all = RecommendationBlender.recommend(history: history, neighbours: neighbours, popular: popular, profiles: profiles, limit: 10, now: now)
        #expect(Set(all.map(\.sku)) == ["SCF", "JNS", "COF", "MUG"], "the jersey is owned; coffee is bought again")
        #expect(RecommendationBlender.ownedNonConsumables(history: history, profiles: profiles) == ["JER"])

        let filtered = RecommendationBlender.recommend(
            history: history, neighbours: neighbours, popular: popular, profiles: profiles,
            filters: RecommendationFilters(outOfStock: ["SCF"], excludedCategories: ["women/"]), limit: 10, now: now)
        #expect(Set(filtered.map(\.sku)) == ["COF", "MUG"])
        let unfiltered = RecommendationBlender.recommend(history: history, neighbours: neighbours, popular: popular, profiles: profiles,
                                                         filters: RecommendationFilters(excludeOwnedNonConsumables: false), limit: 10, now: now)
        #expect(unfiltered.contains { $0.sku == "JER" })

        let categories = RecommendationFilters(excludedCategories: ["women", "home/kitchen/"])
        #expect(categories.excludes(category: "women/knitwear") && categories.excludes(category: "women"))
        #expect(categories.excludes(category: "home/kitchen") && categories.excludes(category: "home/kitchen/mugs"))
        #expect(!categories.excludes(category: "womenswear") && !categories.excludes(category: "home/textiles") && !categories.excludes(category: ""))
        #expect(!RecommendationFilters(excludedCategories: ["", "/"]).excludes(category: "women"))
    }

    @Test("an item bought with something the customer bought says what and where, and the cart outweighs the history")
    func reasons() {
        let history = [PurchaseRecord(sku: "JER", time: midnight, channelKind: "store"),
                       PurchaseRecord(sku: "MUG", time: midnight - 200 * day, channelKind: "app")]
        let profiles = ["JER": profile("JER"), "MUG": profile("MUG"), "COF": profile("COF", consumable: true)]
        let neighbours = ["JER": [Neighbour(sku: "SCF", score: 0.3, coBaskets: 5, channelKind: "web", category: "accessories/scarves")],
                          "MUG": [Neighbour(sku: "COF", score: 0.6, coBaskets: 9, channelKind: "store", category: "grocery/coffee")],
                          "JNS": [Neighbour(sku: "SCF", score: 0.1, coBaskets: 1, channelKind: "store", category: "accessories/scarves"),
                                  Neighbour(sku: "MUG", score: 0.2, coBaskets: 2, channelKind: "web", category: "home/kitchen")]]
        let list = RecommendationBlender.recommend(history: history, neighbours: neighbours, popular: [], profiles: profiles, limit: 5,
                                                   now: midnight + day)
        #expect(list.map(\.sku) == ["SCF", "COF"], "the recent jersey's neighbour outranks the old mug's stronger one")
        #expect(list.first?.reason == RecommendationReason(code: .boughtWith, text: "bought with Wool jersey in store", anchorSKU: "JER",
                                                           anchorName: "Wool jersey", channelKind: "store"))
        #expect(list.last?.reason.text == "bought with Coffee mug in the app")

        let cart = RecommendationContext(kind: .cart, skus: ["JNS"])
        #expect(RecommendationBlender.anchors(history: history, context: cart) == ["JNS", "JER", "MUG"])
        let withCart = RecommendationBlender.recommend(history: history, neighbours: neighbours, popular: [], profiles: profiles, context: cart,
                                                       limit: 5, now: midnight + day)
        #expect(withCart.map(\.sku) == ["SCF", "COF"], "the owned mug stays out even though the cart points to it")
        #expect(withCart.first?.reason.code == .goesWith && withCart.first?.reason.text == "goes with JNS in your cart",
                "an anchor without a profile is named by its SKU")
        let viewing = RecommendationBlender.recommend(history: [], neighbours: neighbours, popular: [], profiles: ["JNS": profile("JNS")],
                                                      context: RecommendationContext(kind: .product, skus: ["JNS"]), limit: 5, now: midnight)
        #expect(viewing.map(\.sku) == ["MUG", "SCF"] && viewing.first?.reason.text == "often bought with Slim jeans")

        #expect(RecommendationReason.channelPhrase("web") == "online" && RecommendationReason.channelPhrase("call_center") == "by phone")
        #expect(RecommendationReason.boughtWith(anchorSKU: "X", anchorName: "Tote", channelKind: "kiosk").text == "bought with Tote")
    }

    @Test("a product's related items are its neighbours, filtered, saying where they are bought together")
    func related() {
        let neighbours = [Neighbour(sku: "SCF", score: 0.5, coBaskets: 4, channelKind: "store", category: "accessories/scarves"),
                          Neighbour(sku: "JNS", score: 0.4, coBaskets: 3, channelKind: "web", category: "women/denim"),
                          Neighbour(sku: "COF", score: 0.3, coBaskets: 0, channelKind: "", category: "grocery/coffee"),
                          Neighbour(sku: "MUG", score: 0.2, coBaskets: 1, channelKind: "app", category: "home/kitchen")]
        let related = RecommendationBlender.related(to: "JER", neighbours: neighbours, filters: RecommendationFilters(outOfStock: ["MUG"]), limit: 3)
        #expect(related.map(\.sku) == ["SCF", "JNS", "COF"])
        #expect(related.map(\.reason.text) == ["often bought together in store", "often bought together online", "customers who bought this also bought"])
        #expect(related.map(\.reason.code) == [.boughtTogether, .boughtTogether, .alsoBought])
        let model = ItemSimilarityModel.build(baskets: tinyBaskets, catalogue: shop, now: midnight + 4 * day)
        #expect(RecommendationBlender.related(to: "COF", neighbours: model.neighbours(of: "COF"), limit: 10).first?.reason.text
            == "often bought together online")
    }

    @Test("the context parameter reads cart and product SKUs and rejects what it cannot read")
    func contextParsing() throws {
        let cart = try RecommendationContext(parsing: "cart:SKU-1, SKU-2,,SKU-1")
        #expect(cart == RecommendationContext(kind: .cart, skus: ["SKU-1", "SKU-2"]))
        #expect(try RecommendationContext(parsing: "product:JER") == RecommendationContext(kind: .product, skus: ["JER"]))
        for bad in ["", "cart", "basket:JER", "cart:", "cart: , ", "product:A,B", "cart:" + (0...50).map { "S\($0)" }.joined(separator: ",")] {
            #expect(throws: RecommendationContextError.self, "\(bad)") { try RecommendationContext(parsing: bad) }
        }
    }

    @Test("the favourite categories are the most bought ones")
    func favourites() {
        let history = ["JER", "JNS", "JER", "COF", "JNS", "JNS"].map { PurchaseRecord(sku: $0, time: midnight, channelKind: "store") }
        let profiles = ["JER": profile("JER"), "JNS": profile("JNS"), "COF": profile("COF")]
        #expect(RecommendationBlender.favouriteCategories(history: history, profiles: profiles, limit: 2) == ["women/denim", "women/knitwear"])
    }
}

@Suite("Recommendations: offline evaluation")
struct RecommendationEvaluationTests {
    @Test("precision, hit rate and NDCG at k follow their definitions")
    func metrics() {
        let relevant: Set<String> = ["a", "b", "c"]
        #expect(RankingMetrics.precision(at: 5, recommended: ["a", "x", "b"], relevant: relevant) == 0.4)
        #expect(RankingMetrics.hit(at: 2, recommended: ["x", "y", "a"], relevant: relevant) == 0)
        #expect(RankingMetrics.hit(at: 3, recommended: ["x", "y", "a"], relevant: relevant) == 1)
        // Hits at ranks 1 and 3: (1 + 1/2) over the ideal 1 + 1/log2(3) + 1/2.
        #expect(close(RankingMetrics.ndcg(at: 5, recommended: ["a", "x", "b"], relevant: relevant), 1.5 / (1.5 + 1 / log2(3.0))))
        // Only two of three relevant fit in k = 2: the ideal is two hits.
        #expect(RankingMetrics.ndcg(at: 2, recommended: ["c", "a"], relevant: relevant) == 1)
        #expect(RankingMetrics.ndcg(at: 10, recommended: ["a"], relevant: []) == 0)
    }

    @Test("leave-last-basket-out scores each recommender as worked out by hand")
    func handExample() throws {
        let catalogue = ["P1": CatalogueItem(name: "Mug", category: "home/kitchen"), "P2": CatalogueItem(name: "Kettle", category: "home/kitchen"),
                         "P3": CatalogueItem(name: "Teapot", category: "home/kitchen"), "P4": CatalogueItem(name: "Towel", category: "home/textiles")]
        func at(_ days: Int64) -> Int64 { midnight + days * day }
        let baskets = [
            Basket(customerID: "c1", time: at(0), channelKind: "store", skus: ["P1"]),
            Basket(customerID: "c1", time: at(10), channelKind: "web", skus: ["P2"]),
            Basket(customerID: "c2", time: at(1), channelKind: "store", skus: ["P1", "P3"]),
            Basket(customerID: "c2", time: at(11), channelKind: "store", skus: ["P4"]),
            Basket(customerID: "c3", time: at(2), channelKind: "store", skus: ["P2"]),
            Basket(customerID: nil, time: at(3), channelKind: "store", skus: ["P2", "P3"]),
            Basket(customerID: "c4", time: at(4), channelKind: "app", skus: ["P4"]),
            Basket(customerID: "c4", time: at(12), channelKind: "app", skus: ["P4"]),
        ]
        let report = RecommendationEvaluation.run(baskets: baskets, catalogue: catalogue)
        // c3 has one basket; c4's last basket holds only the towel it already owns.
        #expect(report.evaluatedCustomers == 2 && report.skippedCustomers == 1 && report.trainingBaskets == 5 && report.k == 10)
        #expect(report.rows.map(\.recommender) == ["popularity", "item_item", "blended"])
        // Popularity at day 4 (half-life 60 days): P2 1.966 > P3 1.954 > P1 1.921 > P4 1. c1 owns P1 and
        // gets [P2, P3, P4] (P2 relevant, rank 1); c2 owns P1 and P3 and gets [P2, P4] (P4 relevant, rank 2).
        let popularity = try #require(report.row("popularity"))
        #expect(close(popularity.precision, 0.1) && close(popularity.hitRate, 1) && close(popularity.ndcg, (1 + 1 / log2(3.0)) / 2))
        // Item to item: c1's mug leads only to the teapot, c2's teapot to the kettle: no hits.
        let itemItem = try #require(report.row("item_item"))
        #expect(itemItem.precision == 0 && itemItem.hitRate == 0 && itemItem.ndcg == 0)
        // Blended: the teapot (neighbour and popular) before the kettle for c1, the kettle before the towel for c2: both at rank 2.
        let blended = try #require(report.row("blended"))
        #expect(close(blended.precision, 0.1) && close(blended.hitRate, 1) && close(blended.ndcg, 1 / log2(3.0)))
        #expect(report.table.contains("popularity") && report.table.contains("2 customers evaluated"))

        let sampled = RecommendationEvaluation.run(baskets: baskets, catalogue: catalogue, maximumCustomers: 1)
        #expect(sampled.evaluatedCustomers + sampled.skippedCustomers == 1 && sampled.trainingBaskets == 7)
    }

    @Test("on a synthetic chain the blended model beats the popularity and item-to-item baselines on every metric")
    func syntheticChain() throws {
        let chain = SyntheticBaskets(seed: 2026, customers: 500, endingAt: midnight)
        #expect(chain.baskets == SyntheticBaskets(seed: 2026, customers: 500, endingAt: midnight).baskets, "the same seed, the same history")
        #expect(chain.baskets.map(\.time) == chain.baskets.map(\.time).sorted())
        #expect(Set(chain.baskets.map(\.channelKind)) == ["store", "web", "app"])
        #expect(chain.baskets.contains { $0.customerID == nil } && chain.lineCount > 5_000)

        let report = RecommendationEvaluation.run(baskets: chain.baskets, catalogue: chain.catalogue)
        #expect(report.evaluatedCustomers > 300)
        let blended = try #require(report.row("blended"))
        for baseline in ["popularity", "item_item"] {
            let row = try #require(report.row(baseline))
            #expect(blended.precision > row.precision && blended.hitRate > row.hitRate && blended.ndcg > row.ndcg, "\(report.table)")
        }

        // The model finds the structure: coffee is a consumable, a jersey is not, and reasons name items and channels.
        let model = ItemSimilarityModel.build(baskets: chain.baskets, catalogue: chain.catalogue, now: midnight)
        #expect(model.profile("COF-001")?.isConsumable == true)
        #expect(model.profile("KNW-001")?.isConsumable == false)
        #expect(model.neighbours.allSatisfy { $0.neighbours.count <= 30 && $0.neighbours.map(\.score) == $0.neighbours.map(\.score).sorted(by: >) })
    }
}
