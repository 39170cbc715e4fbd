import Foundation
import OmniaCore

extension DemoHistory {
    /// The demo's sales and returns, worked out before anything is recorded: pure, so the same
    /// seed and end make the same plan, and a test can read what the seeding will do.
    ///
    /// Shoppers are drawn one after another and their trips within the `days` before `end` taken
    /// until the identified sales add up to 95 % of `transactions`; passers-by's till receipts
    /// make the rest. Then, in time order: some shoppers forget their card at the till (a third
    /// of those claim the receipt later), and some fashion comes back within three weeks — an
    /// online order usually to the shopper's store.
    struct Plan: Sendable {
        /// The recorded history: 18 months.
        static let days = 548
        /// How long before the recorded history shoppers may have joined, so that it starts with
        /// a clientele in full swing rather than an empty shop.
        static let leadInDays = 1_000
        static let dayLength: Int64 = 86_400_000
        /// The first shoppers are also in the store CRM by loyalty card (`DemoHistory.seed`).
        static let cardHolders = 60

        struct Sale: Sendable {
            /// An index into `shoppers`; nil for a passer-by.
            let shopper: Int?
            let at: Int64
            let channel: String
            let lines: [Line]
            /// Recorded without a customer: a passer-by, or a shopper without their card.
            let anonymous: Bool
            /// An anonymous receipt its shopper claims later.
            let claimed: Bool
        }

        struct Return: Sendable {
            /// An index into `sales`.
            let sale: Int
            let at: Int64
            let channel: String
            /// The sale's line it returns one unit of, from 1.
            let line: Int
            let reason: String
        }

        let start: Int64
        let end: Int64
        let shelf: Shelf
        let shoppers: [Shopper]
        /// Who each shopper is: `people[i]` is `shoppers[i]`, and the first `cardHolders` are also in the store CRM.
        let people: [DemoPerson]
        /// In time order; a sale's external id is `DEMO-` and its index.
        let sales: [Sale]
        let returns: [Return]

        init(transactions: Int, seed: UInt64, endingAt end: Int64) {
            var random = SplitMix64(seed: seed)
            let shelf = Shelf(days: Self.leadInDays + Self.days, random: &random)
            let start = end - Int64(Self.days) * Self.dayLength
            let walkIns = max(0, transactions) / 20
            let target = max(0, transactions) - walkIns

            // The people come from a stream of their own, so the shopping draws do not depend on names.
            var names = SplitMix64(seed: seed &+ 3)
            var shoppers: [Shopper] = []
            var people: [DemoPerson] = []
            var drafts: [(shopper: Int?, trip: Shopper.Trip)] = []
            var drawn = 0
            while drafts.count < target && drawn < 20 * target + 1_000 {
                drawn += 1
                let index = shoppers.count
                let person = DemoPerson(number: index, random: &names)
                let shopper = Shopper(shelf: shelf, homeStore: Self.nearestStore(to: person.city), onlineOnlyAllowed: index >= Self.cardHolders,
                                      random: &random)
                let trips = shopper.trips(shelf: shelf, start: start, random: &random)
                guard !trips.isEmpty else { continue }
                for trip in trips.prefix(target - drafts.count) { drafts.append((shopper: index, trip: trip)) }
                shoppers.append(shopper)
                people.append(person)
            }
            // Passers-by: popular items and their partners, at a till, in the busy months more.
            var attempts = 0
            var passersBy = 0
            while passersBy < walkIns && attempts < 100 * walkIns {
                attempts += 1
                let day = random.below(Self.days)
                let dayStart = start + Int64(day) * Self.dayLength
                guard random.unit() < DemoCatalog.season[Self.month(dayStart) - 1] / DemoCatalog.peakSeason else { continue }
                let shelfDay = Self.leadInDays + day
                var items: [Int] = []
                for _ in 0..<(1 + random.below(3)) {
                    guard let item = shelf.anyItem(day: shelfDay, random: &random) else { continue }
                    items.append(item)
                    if let partner = shelf.items[item].partner, random.unit() < 0.45, shelf.isOnSale(partner, day: shelfDay) { items.append(partner) }
                }
                let unique = items.reduce(into: [Int]()) { if !$0.contains($1) { $0.append($1) } }
                guard !unique.isEmpty else { continue }
                let at = dayStart + Int64(9 * 60 + random.below(11 * 60)) * 60_000 + Int64(random.below(60_000))
                let channel = random.unit() < 0.55 ? DemoCatalog.madrid : DemoCatalog.barcelona
                drafts.append((shopper: nil, trip: Shopper.Trip(at: at, channel: channel, lines: unique.map { Line(item: $0, quantity: 1) })))
                passersBy += 1
            }
            let ordered = drafts.indices.sorted { left, right in
                let (a, b) = (drafts[left], drafts[right])
                if a.trip.at != b.trip.at { return a.trip.at < b.trip.at }
                if (a.shopper ?? -1) != (b.shopper ?? -1) { return (a.shopper ?? -1) < (b.shopper ?? -1) }
                return left < right
            }

            var after = SplitMix64(seed: seed &+ 1)
            var sales: [Sale] = []
            var returns: [Return] = []
            sales.reserveCapacity(ordered.count)
            for position in ordered {
                let (shopper, trip) = drafts[position]
                let number = sales.count
                let store = DemoCatalog.isStore(trip.channel)
                var anonymous = shopper == nil
                var claimed = false
                if shopper != nil && store && after.unit() < 0.07 {
                    anonymous = true
                    claimed = after.unit() < 0.35
                }
                sales.append(Sale(shopper: shopper, at: trip.at, channel: trip.channel, lines: trip.lines, anonymous: anonymous, claimed: claimed))
                // Fashion comes back (consumables do not): more often what was bought online.
                guard let line = trip.lines.firstIndex(where: { !shelf.isConsumable($0.item) }), after.unit() < (store ? 0.06 : 0.15) else { continue }
                let returnedAt = trip.at + Int64(1 + after.below(20)) * Self.dayLength + Int64(after.below(3_600_000))
                guard returnedAt < end else { continue }
                let channel: String
                if !store, after.unit() < 0.6 {
                    channel = shopper.map { shoppers[$0].homeStore } ?? DemoCatalog.madrid
                } else if store, after.unit() < 0.15 {
                    channel = DemoCatalog.otherStore(than: trip.channel)
                } else {
                    channel = trip.channel
                }
                returns.append(Return(sale: number, at: returnedAt, channel: channel, line: line + 1, reason: DemoCatalog.reasons[after.below(4)]))
            }
            self.start = start
            self.end = end
            self.shelf = shelf
            self.shoppers = shoppers
            self.people = people
            self.sales = sales
            self.returns = returns
        }

        static func externalID(ofSale number: Int) -> String { "DEMO-\(number)" }

        /// Barcelona's store for Catalonia and Valencia, Madrid's for everyone else.
        static func nearestStore(to city: String) -> String {
            city == "Barcelona" || city == "Valencia" ? DemoCatalog.barcelona : DemoCatalog.madrid
        }

        /// The month (1…12, UTC) of a time in milliseconds.
        static func month(_ milliseconds: Int64) -> Int {
            let days = milliseconds >= 0 ? milliseconds / dayLength : -((-milliseconds - 1) / dayLength) - 1
            return Int(RFC3339.civilFromDays(days).month)
        }
    }
}
