import Foundation

/// A reproducible retailer's history with the structure real ones have, for tests, demos and
/// benchmarks of recommendations: departments of fashion, home and consumables; customers who
/// prefer two or three categories and one style, shop in store or online by habit, and buy their
/// staples (coffee, shampoo, nappies…) at their own interval; items that go together (a dress and
/// its shoes, coffee and a mug) bought in one basket — more often in store than online — or on a
/// later trip; new items launched and old ones retired during the period; and anonymous till
/// receipts. The same seed gives the same history.
public struct SyntheticBaskets: Sendable {
    public var catalogue: [String: CatalogueItem]
    /// In time order.
    public var baskets: [Basket]

    public var lineCount: Int { baskets.reduce(0) { $0 + $1.skus.count } }

    /// A category of the synthetic chain: a SKU prefix, item names, the categories whose items go
    /// with its items, and for a consumable the days one unit lasts.
    struct Category {
        let path: String
        let code: String
        let stems: [String]
        let complements: [String]
        let lastsDays: Double?
    }

    static let categories: [Category] = [
        Category(path: "women/knitwear", code: "KNW", stems: ["Wool jersey", "Merino jumper", "Cotton cardigan", "Cable knit", "Roll neck"],
                 complements: ["women/denim", "accessories/scarves"], lastsDays: nil),
        Category(path: "women/dresses", code: "DRS", stems: ["Linen dress", "Midi dress", "Wrap dress", "Shirt dress"],
                 complements: ["women/shoes", "accessories/bags"], lastsDays: nil),
        Category(path: "women/denim", code: "DNM", stems: ["Slim jeans", "Wide jeans", "Denim skirt", "Straight jeans"],
                 complements: ["women/knitwear", "women/shoes"], lastsDays: nil),
        Category(path: "women/shoes", code: "WSH", stems: ["Ankle boots", "Ballet flats", "Heeled sandals", "White trainers"],
                 complements: ["accessories/bags"], lastsDays: nil),
        Category(path: "men/shirts", code: "MSH", stems: ["Oxford shirt", "Linen shirt", "Flannel shirt", "Polo shirt"],
                 complements: ["men/trousers"], lastsDays: nil),
        Category(path: "men/trousers", code: "MTR", stems: ["Chinos", "Cargo trousers", "Suit trousers", "Joggers"],
                 complements: ["men/shoes", "men/shirts"], lastsDays: nil),
        Category(path: "men/shoes", code: "MSO", stems: ["Leather sneakers", "Derby shoes", "Loafers", "Chelsea boots"],
                 complements: ["men/trousers"], lastsDays: nil),
        Category(path: "accessories/bags", code: "BAG", stems: ["Tote bag", "Crossbody bag", "Backpack", "Clutch"],
                 complements: ["women/dresses"], lastsDays: nil),
        Category(path: "accessories/scarves", code: "SCF", stems: ["Wool scarf", "Silk scarf", "Beanie", "Gloves"],
                 complements: ["women/knitwear"], lastsDays: nil),
        Category(path: "kids/clothing", code: "KID", stems: ["Basic tee", "Pyjamas", "Hoodie", "Leggings"],
                 complements: ["kids/clothing"], lastsDays: nil),
        Category(path: "home/kitchen", code: "KIT", stems: ["Coffee mug", "French press", "Tea towel", "Milk frother"],
                 complements: ["grocery/coffee"], lastsDays: nil),
        Category(path: "grocery/coffee", code: "COF", stems: ["Ground coffee", "Coffee beans", "Decaf capsules", "Espresso capsules"],
                 complements: ["home/kitchen"], lastsDays: 14),
        Category(path: "beauty/skincare", code: "SKN", stems: ["Face cream", "Cleanser", "Sun cream", "Serum"],
                 complements: ["beauty/haircare"], lastsDays: 35),
        Category(path: "beauty/haircare", code: "HAI", stems: ["Shampoo", "Conditioner", "Hair mask"],
                 complements: ["beauty/skincare"], lastsDays: 28),
        Category(path: "pet/food", code: "PET", stems: ["Dry dog food", "Cat food", "Dog treats"], complements: ["pet/food"], lastsDays: 21),
        Category(path: "baby/nappies", code: "BAB", stems: ["Nappies", "Baby wipes", "Nappy cream"], complements: ["baby/nappies"], lastsDays: 10),
    ]
    static let styles = 4
    static let colours = ["navy", "black", "ecru", "grey", "camel", "green", "red", "blue", "white", "pink", "olive", "sand"]
    static let sizes = ["", "large", "organic", "family pack", "sensitive", "refill", "travel size", "value pack"]

    /// One item of the chain: where it sits, how much it sells within its category, when it is on
    /// sale, and what goes with it.
    struct Item {
        let sku: String
        let category: Int
        /// One of `styles` looks (classic, sporty…): shoppers keep mostly to theirs.
        let style: Int
        let weight: Double
        let firstDay: Int
        let lastDay: Int
        var partner: Int?
    }

    /// `customers` identified shoppers over `days` days ending at `end` (milliseconds since 1970),
    /// `itemsPerCategory` items in each of 16 categories, and anonymous store baskets as
    /// `anonymousShare` of the identified ones.
    public init(seed: UInt64, customers: Int, days: Int = 365, itemsPerCategory: Int = 20, endingAt end: Int64, anonymousShare: Double = 0.15) {
        var random = SplitMix64(seed: seed)
        let days = max(30, days)
        let start = end - Int64(days) * RecommendationTime.day
        let perCategory = max(1, itemsPerCategory)
        let categories = Self.categories

        // The catalogue: a long tail within each category, a quarter of the fashion launched during
        // the period and a fifth retired, each item with a partner from a complementary category.
        var items: [Item] = []
        var catalogue: [String: CatalogueItem] = [:]
        var byCategory: [[Int]] = Array(repeating: [], count: categories.count)
        for (index, category) in categories.enumerated() {
            for number in 0..<perCategory {
                let sku = "\(category.code)-\(String(format: "%03d", number + 1))"
                let stem = category.stems[number % category.stems.count]
                let round = number / category.stems.count
                let fashion = category.lastsDays == nil
                let variants = fashion ? Self.colours : Self.sizes
                let edition = round >= variants.count ? String(round / variants.count + 1) : ""
                let name = [stem, variants[round % variants.count], edition].filter { !$0.isEmpty }.joined(separator: " ")
                let launched = fashion && random.unit() < 0.25 ? random.below(days) : 0
                let retired = fashion && random.unit() < 0.2 ? launched + random.below(days - launched) + 1 : days
                byCategory[index].append(items.count)
                items.append(Item(sku: sku, category: index, style: random.below(Self.styles), weight: 1 / pow(Double(number + 1), 0.9),
                                  firstDay: launched, lastDay: retired))
                catalogue[sku] = CatalogueItem(name: name, category: category.path)
            }
        }
        let categoryIndex = Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($0.element.path, $0.offset) })
        let unpartnered = Shelf(items: items, byCategory: byCategory)
        for index in items.indices {
            let complements = categories[items[index].category].complements.compactMap { categoryIndex[$0] }
            guard !complements.isEmpty else { continue }
            let partner = unpartnered.pick(category: complements[random.below(complements.count)], day: nil, random: &random)
            if partner != index { items[index].partner = partner }
        }

        var baskets: [Basket] = []
        let draft = Draft(shelf: Shelf(items: items, byCategory: byCategory), categories: categories)
        for number in 0..<max(0, customers) {
            draft.customer(id: "cus_\(String(format: "%06d", number))", days: days, start: start, random: &random, into: &baskets)
        }
        // Anonymous till receipts: popular items and their partners, in store.
        let identified = baskets.count
        for _ in 0..<Int(Double(identified) * max(0, anonymousShare)) {
            let day = random.below(days)
            var skus: [String] = []
            for _ in 0..<(1 + random.below(3)) {
                guard let item = draft.anyItem(day: day, random: &random) else { continue }
                skus.append(items[item].sku)
                if let partner = items[item].partner, random.unit() < 0.45, items[partner].firstDay <= day, day < items[partner].lastDay {
                    skus.append(items[partner].sku)
                }
            }
            let unique = skus.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            if !unique.isEmpty {
                let time = Self.time(day: day, store: true, start: start, random: &random)
                baskets.append(Basket(customerID: nil, time: time, channelKind: "store", skus: unique))
            }
        }
        baskets.sort { $0.time != $1.time ? $0.time < $1.time : ($0.customerID ?? "") < ($1.customerID ?? "") }
        self.catalogue = catalogue
        self.baskets = baskets
    }

    /// A time on `day`: store hours for a till, any hour online.
    static func time(day: Int, store: Bool, start: Int64, random: inout SplitMix64) -> Int64 {
        let minute = store ? 9 * 60 + random.below(12 * 60) : random.below(24 * 60)
        return start + Int64(day) * RecommendationTime.day + Int64(minute) * 60_000 + Int64(random.below(60_000))
    }

    /// The catalogue as the shoppers see it: items by category, drawn by weight among those on sale.
    struct Shelf {
        let items: [Item]
        /// Items by category, then by category and style.
        let pools: [[Int]]
        let stylePools: [[[Int]]]
        /// Running sums of the weights of each pool, for drawing by binary search.
        let sums: [[Double]]
        let styleSums: [[[Double]]]

        init(items: [Item], byCategory: [[Int]]) {
            func running(_ pool: [Int]) -> [Double] {
                var sum = 0.0
                return pool.map { sum += items[$0].weight; return sum }
            }
            self.items = items
            pools = byCategory
            stylePools = byCategory.map { pool in (0..<SyntheticBaskets.styles).map { style in pool.filter { items[$0].style == style } } }
            sums = pools.map(running)
            styleSums = stylePools.map { $0.map(running) }
        }

        /// An item of `category` (and `style`, when given) by weight, on sale on `day` (any day
        /// when nil); nil when a few draws find nothing on sale.
        func pick(category: Int, style: Int? = nil, day: Int?, random: inout SplitMix64) -> Int? {
            let pool = style.map { stylePools[category][$0] } ?? pools[category]
            let sums = style.map { styleSums[category][$0] } ?? sums[category]
            guard let total = sums.last, total > 0 else { return nil }
            for _ in 0..<8 {
                let target = random.unit() * total
                var low = 0, high = sums.count - 1
                while low < high {
                    let middle = (low + high) / 2
                    if sums[middle] > target { high = middle } else { low = middle + 1 }
                }
                let item = pool[low]
                if let day, items[item].firstDay > day || day >= items[item].lastDay { continue }
                return item
            }
            return nil
        }
    }

    /// What one shopper does over the period.
    struct Draft {
        let shelf: Shelf
        let categories: [Category]
        let fashion: [Int]
        let consumables: [Int]
        let categoryWeights: [Double]

        var items: [Item] { shelf.items }

        init(shelf: Shelf, categories: [Category]) {
            self.shelf = shelf
            self.categories = categories
            fashion = categories.indices.filter { categories[$0].lastsDays == nil }
            consumables = categories.indices.filter { categories[$0].lastsDays != nil }
            categoryWeights = categories.indices.map { 1 / pow(Double($0 % 7 + 1), 0.5) }
        }

        /// An item of any category, the chain's own popularity deciding.
        func anyItem(day: Int, random: inout SplitMix64) -> Int? {
            let total = categoryWeights.reduce(0, +)
            var left = random.unit() * total
            var category = categories.count - 1
            for (index, weight) in categoryWeights.enumerated() {
                left -= weight
                if left < 0 {
                    category = index
                    break
                }
            }
            return shelf.pick(category: category, day: day, random: &random)
        }

        func customer(id: String, days: Int, start: Int64, random: inout SplitMix64, into baskets: inout [Basket]) {
            // Tastes: two or three preferred categories; maybe staples at their own interval.
            var preferred: [(category: Int, weight: Double)] = []
            for _ in 0..<(2 + random.below(2)) {
                let category = fashion[random.below(fashion.count)]
                if !preferred.contains(where: { $0.category == category }) { preferred.append((category, 0.3 + random.unit())) }
            }
            var staples: [(item: Int, every: Double)] = []
            if random.unit() < 0.6 {
                for _ in 0..<(1 + random.below(2)) {
                    let category = consumables[random.below(consumables.count)]
                    guard let lasts = categories[category].lastsDays,
                          let item = shelf.pick(category: category, day: nil, random: &random),
                          !staples.contains(where: { $0.item == item }) else { continue }
                    staples.append((item, lasts * (0.75 + 0.6 * random.unit())))
                    if random.unit() < 0.5 { preferred.append((category, 0.3)) }
                }
            }
            let style = random.below(SyntheticBaskets.styles)
            let storeShare = [0.85, 0.5, 0.15][random.below(3)]
            let joined = random.below(days * 7 / 10)
            let left = random.unit() < 0.7 ? days : joined + 1 + random.below(days - joined)
            let meanGap = 10 + 80 * pow(random.unit(), 2)

            // The trips: staples when they run out (sometimes bought elsewhere), and browsing.
            var trips: [(day: Double, staple: Int?)] = []
            for (index, staple) in staples.enumerated() {
                var day = Double(joined) + random.unit() * staple.every
                while day < Double(left) {
                    if random.unit() < 0.9 { trips.append((day, index)) }
                    day += staple.every * (0.85 + 0.3 * random.unit())
                }
            }
            var day = Double(joined) + -meanGap * log(1 - random.unit())
            while day < Double(left) {
                trips.append((day, nil))
                day += -meanGap * log(1 - random.unit())
            }
            trips.sort { $0.day != $1.day ? $0.day < $1.day : ($0.staple ?? -1) < ($1.staple ?? -1) }

            var owned = Set<Int>()
            // Partners not bought at once, which some shoppers come back for on a later trip.
            var wanted: [Int] = []
            var index = 0
            while index < trips.count {
                // A staple running out within three days is bought on this trip too.
                let first = Int(trips[index].day)
                var chosen: [Int] = []
                var browsing = 0
                while index < trips.count && trips[index].day < Double(first) + 3 {
                    if let staple = trips[index].staple { chosen.append(staples[staple].item) } else { browsing += 1 }
                    index += 1
                }
                let store = random.unit() < storeShare
                if browsing > 0 {
                    for partner in wanted where !owned.contains(partner) && items[partner].firstDay <= first && first < items[partner].lastDay
                        && random.unit() < 0.5 {
                        chosen.append(partner)
                        owned.insert(partner)
                    }
                    wanted.removeAll { owned.contains($0) }
                }
                for _ in 0..<browsing {
                    let count = 1 + (random.unit() < 0.45 ? 1 : 0) + (random.unit() < 0.15 ? 1 : 0)
                    for _ in 0..<count {
                        guard let item = draw(preferred: preferred, style: style, owned: owned, day: first, random: &random) else { continue }
                        chosen.append(item)
                        if categories[items[item].category].lastsDays == nil { owned.insert(item) }
                        // Complements go in the same basket, more often with a shop assistant at hand.
                        if let partner = items[item].partner, !owned.contains(partner) {
                            if random.unit() < (store ? 0.45 : 0.3), items[partner].firstDay <= first, first < items[partner].lastDay {
                                chosen.append(partner)
                                if categories[items[partner].category].lastsDays == nil { owned.insert(partner) }
                            } else if random.unit() < 0.35 {
                                wanted.append(partner)
                            }
                        }
                    }
                }
                let unique = chosen.reduce(into: [Int]()) { if !$0.contains($1) { $0.append($1) } }
                guard !unique.isEmpty else { continue }
                let channel = store ? "store" : (random.unit() < 0.65 ? "web" : "app")
                baskets.append(Basket(customerID: id, time: SyntheticBaskets.time(day: first, store: store, start: start, random: &random),
                                      channelKind: channel, skus: unique.map { items[$0].sku }))
            }
        }

        /// A browsing pick: mostly from the preferred categories in the shopper's style, sometimes
        /// anything; rarely a second one of something owned (a favourite tee), otherwise something new.
        func draw(preferred: [(category: Int, weight: Double)], style: Int, owned: Set<Int>, day: Int, random: inout SplitMix64) -> Int? {
            for _ in 0..<4 {
                var item: Int?
                if random.unit() < 0.75, !preferred.isEmpty {
                    var left = random.unit() * preferred.reduce(0) { $0 + $1.weight }
                    var category = preferred[preferred.count - 1].category
                    for entry in preferred {
                        left -= entry.weight
                        if left < 0 {
                            category = entry.category
                            break
                        }
                    }
                    let fashion = categories[category].lastsDays == nil
                    item = shelf.pick(category: category, style: fashion && random.unit() < 0.75 ? style : nil, day: day, random: &random)
                } else {
                    item = anyItem(day: day, random: &random)
                }
                if let item, !owned.contains(item) || random.unit() < 0.03 { return item }
            }
            return nil
        }
    }
}
