import Foundation
import OmniaCore

extension DemoHistory {
    /// One demo shopper's habits, drawn once, and the trips they make.
    ///
    /// Shoppers join the chain at any time (most before the recorded history starts) and leave for
    /// good after an exponentially distributed stay, so some are still buying at the end and some
    /// stopped long ago. Their fashion trips come at a rate that differs from shopper to shopper
    /// as a gamma distribution (of shape 1) would have it, busier in the busy months; a quarter of
    /// them also buy a staple or two (socks, cosmetics, coffee) whenever it runs out. Each prefers
    /// two or three departments and one style, buys items that go together in one basket or
    /// comes back for the partner later, and buys in stores only, online only, or in both.
    struct Shopper: Sendable {
        enum Reach: Sendable {
            case storeOnly, onlineOnly, omnichannel
        }

        struct Taste: Sendable {
            let category: Int
            let weight: Double
        }

        struct Staple: Sendable {
            let item: Int
            /// Days between purchases.
            let every: Double
        }

        let reach: Reach
        /// For an omnichannel shopper, the chance that a trip goes to a store.
        let storeShare: Double
        /// The web shop or the app, whichever they use online.
        let online: String
        /// Days from the start of the recorded history (negative: before it).
        let joined: Double
        let leaves: Double
        /// Fashion trips a day in an ordinary month.
        let rate: Double
        /// The chance that a browsing trip takes a second item.
        let spree: Double
        /// Buys two of each staple at a time.
        let family: Bool
        let tastes: [Taste]
        let staples: [Staple]
        let style: Int
        let homeStore: String
        /// Looks at products online even when buying only in stores (research online, purchase offline).
        let browsesOnline: Bool

        /// Draws a shopper's habits; `homeStore` is the store nearest to them, and `onlineOnlyAllowed`
        /// is false for the shoppers the store CRM also knows by loyalty card (their cards are seen at a till).
        init(shelf: Shelf, homeStore: String, onlineOnlyAllowed: Bool, random: inout SplitMix64) {
            let categories = DemoCatalog.categories
            let roll = random.unit()
            var reach: Reach = roll < 0.45 ? .storeOnly : roll < 0.7 ? .onlineOnly : .omnichannel
            if reach == .onlineOnly && !onlineOnlyAllowed { reach = .omnichannel }
            self.reach = reach
            storeShare = [0.8, 0.5, 0.2][random.below(3)]
            online = random.unit() < 0.65 ? DemoCatalog.web : DemoCatalog.app
            joined = -Double(Plan.leadInDays) + random.unit() * Double(Plan.leadInDays + Plan.days)
            leaves = joined + Self.exponential(&random) * 500
            rate = Self.exponential(&random) / 55
            spree = 0.2 + 0.4 * random.unit()
            family = random.unit() < 0.25

            let fashion = categories.indices.filter { !categories[$0].isConsumable }
            let consumables = categories.indices.filter { categories[$0].isConsumable }
            var tastes: [Taste] = []
            for _ in 0..<(2 + random.below(2)) {
                let category = fashion[random.below(fashion.count)]
                if !tastes.contains(where: { $0.category == category }) { tastes.append(Taste(category: category, weight: 0.3 + random.unit())) }
            }
            var staples: [Staple] = []
            if random.unit() < 0.27 {
                for _ in 0..<(1 + random.below(2)) {
                    let category = consumables[random.below(consumables.count)]
                    guard let lasts = categories[category].lastsDays, let item = shelf.pick(category: category, day: nil, random: &random),
                          !staples.contains(where: { $0.item == item }) else { continue }
                    staples.append(Staple(item: item, every: lasts * (0.75 + 0.6 * random.unit())))
                    if random.unit() < 0.5 { tastes.append(Taste(category: category, weight: 0.3)) }
                }
            }
            self.tastes = tastes
            self.staples = staples
            style = random.below(DemoCatalog.styles)
            self.homeStore = homeStore
            browsesOnline = random.unit() < 0.4
        }

        static func exponential(_ random: inout SplitMix64) -> Double { -log(1 - random.unit()) }

        /// Whether the shopper ever looks at the web shop or the app.
        var isOnline: Bool { reach != .storeOnly || browsesOnline }

        /// A basket bought on one trip, before it is numbered: when, where, and items with quantities.
        struct Trip: Sendable {
            let at: Int64
            let channel: String
            let lines: [Line]
        }

        /// The shopper's purchases within the recorded history, which starts at `start` and lasts
        /// `Plan.days` days, in time order.
        func trips(shelf: Shelf, start: Int64, random: inout SplitMix64) -> [Trip] {
            let from = max(joined, 0), until = min(leaves, Double(Plan.days))
            guard from < until else { return [] }
            // When a staple runs out (sometimes bought elsewhere), and browsing in busy months more than in quiet ones.
            var occasions: [(day: Double, staple: Int?)] = []
            for (index, staple) in staples.enumerated() {
                var day = from + random.unit() * staple.every
                while day < until {
                    if random.unit() < 0.75 { occasions.append((day, index)) }
                    day += staple.every * (0.85 + 0.3 * random.unit())
                }
            }
            if rate > 0 {
                let peak = rate * DemoCatalog.peakSeason
                var day = from + Self.exponential(&random) / peak
                while day < until {
                    if random.unit() < DemoCatalog.season[Plan.month(start + Int64(day * Double(Plan.dayLength))) - 1] / DemoCatalog.peakSeason {
                        occasions.append((day, nil))
                    }
                    day += Self.exponential(&random) / peak
                }
            }
            occasions.sort { $0.day != $1.day ? $0.day < $1.day : ($0.staple ?? -1) < ($1.staple ?? -1) }

            var trips: [Trip] = []
            var owned = Set<Int>()
            // Partners not bought at once, which some shoppers come back for on a later trip.
            var wanted: [Int] = []
            var index = 0
            while index < occasions.count {
                // A staple running out within three days is bought on this trip too.
                let first = occasions[index].day
                let day = Int(first)
                var chosen: [Int] = []
                var browsing = 0
                while index < occasions.count && occasions[index].day < first + 3 {
                    if let staple = occasions[index].staple { chosen.append(staples[staple].item) } else { browsing += 1 }
                    index += 1
                }
                let store = switch reach {
                case .storeOnly: true
                case .onlineOnly: false
                case .omnichannel: random.unit() < storeShare
                }
                let shelfDay = Plan.leadInDays + day
                if browsing > 0 {
                    for partner in wanted where !owned.contains(partner) && shelf.isOnSale(partner, day: shelfDay) && random.unit() < 0.5 {
                        chosen.append(partner)
                        owned.insert(partner)
                    }
                    wanted.removeAll { owned.contains($0) }
                }
                for _ in 0..<browsing {
                    var count = random.unit() < spree ? 2 : 1
                    if count == 2 && random.unit() < 0.35 { count = 3 }
                    for _ in 0..<count {
                        guard let item = draw(shelf: shelf, owned: owned, day: shelfDay, random: &random) else { continue }
                        chosen.append(item)
                        if !shelf.isConsumable(item) { owned.insert(item) }
                        // Partners go in the same basket, more often with a shop assistant at hand.
                        if let partner = shelf.items[item].partner, !owned.contains(partner) {
                            if random.unit() < (store ? 0.45 : 0.3), shelf.isOnSale(partner, day: shelfDay) {
                                chosen.append(partner)
                                if !shelf.isConsumable(partner) { owned.insert(partner) }
                            } else if random.unit() < 0.35 {
                                wanted.append(partner)
                            }
                        }
                    }
                }
                let unique = chosen.reduce(into: [Int]()) { if !$0.contains($1) { $0.append($1) } }
                guard !unique.isEmpty else { continue }
                let channel: String
                let minute: Int
                if store {
                    channel = random.unit() < 0.92 ? homeStore : DemoCatalog.otherStore(than: homeStore)
                    minute = 9 * 60 + random.below(11 * 60)
                } else {
                    let roll = random.unit()
                    channel = roll < 0.85 ? online : roll >= 0.97 ? DemoCatalog.callCenter : online == DemoCatalog.web ? DemoCatalog.app : DemoCatalog.web
                    minute = random.below(24 * 60)
                }
                let at = start + Int64(day) * Plan.dayLength + Int64(minute) * 60_000 + Int64(random.below(60_000))
                let lines = unique.map { item -> Line in
                    if shelf.isConsumable(item) { return Line(item: item, quantity: family ? 2 : 1) }
                    let kids = shelf.category(of: item).path == "kids/clothing"
                    return Line(item: item, quantity: kids && random.unit() < 0.3 ? 2 : 1)
                }
                trips.append(Trip(at: at, channel: channel, lines: lines))
            }
            return trips
        }

        /// A browsing pick: mostly from the preferred departments in the shopper's style,
        /// sometimes anything; rarely a second one of something owned, otherwise something new.
        func draw(shelf: Shelf, owned: Set<Int>, day: Int, random: inout SplitMix64) -> Int? {
            for _ in 0..<4 {
                var item: Int?
                if random.unit() < 0.75, !tastes.isEmpty {
                    var left = random.unit() * tastes.reduce(0) { $0 + $1.weight }
                    var category = tastes[tastes.count - 1].category
                    for taste in tastes {
                        left -= taste.weight
                        if left < 0 {
                            category = taste.category
                            break
                        }
                    }
                    let styled = !DemoCatalog.categories[category].isConsumable && random.unit() < 0.75
                    item = shelf.pick(category: category, style: styled ? style : nil, day: day, random: &random)
                } else {
                    item = shelf.anyItem(day: day, random: &random)
                }
                if let item, !owned.contains(item) || random.unit() < 0.03 { return item }
            }
            return nil
        }
    }

    /// An item bought and how many.
    struct Line: Sendable {
        let item: Int
        let quantity: Int64
    }
}
