import Foundation
import OmniaCore
import SQLKit
import Synchronization

extension DemoHistory {
    /// What the demo's shoppers do around their purchases, as a web shop, an app and a store's
    /// check-in would track it: products looked at online days before buying them in a store
    /// (research online, purchase offline), a store visit before an online order, carts that
    /// become orders, carts left behind and bought days later in another channel, and carts left
    /// for good. Some browsing is anonymous, with the device's id, until the shopper logs in.
    ///
    /// Sessions are recorded through `JourneyService` in time order, and the cart abandonment
    /// sweep runs between them as the worker would have, a minute after each cart's threshold,
    /// with a clock set to that moment: abandonment is raised by the real sweep, stamped when it
    /// would have happened.
    struct Journeys: Sendable {
        /// One visit's events, in time order.
        struct Session: Sendable {
            let start: Int64
            let events: [TrackEventInput]
            /// When the cart the session leaves behind went idle.
            let idleSince: Int64?
        }

        /// In time order.
        let sessions: [Session]

        init(plan: Plan, seed: UInt64) {
            var random = SplitMix64(seed: seed &+ 2)
            let day = Plan.dayLength, minute: Int64 = 60_000
            var sessions: [Session] = []
            for (number, sale) in plan.sales.enumerated() {
                guard let index = sale.shopper, !sale.anonymous else { continue }
                let shopper = plan.shoppers[index]
                guard shopper.isOnline else { continue }
                let person = plan.people[index]
                let visitor = Visitor(person: person, shelf: plan.shelf)
                let items = sale.lines.map(\.item)
                if DemoCatalog.isStore(sale.channel) {
                    // Research online, purchase offline: the items looked at in the web shop or the app days before.
                    if random.unit() < (shopper.reach == .omnichannel ? 0.35 : 0.25) {
                        let at = sale.at - Int64(1 + random.below(6)) * day - Int64(random.below(10 * 60)) * minute
                        var viewed = Array(items.prefix(1 + random.below(2)))
                        if random.unit() < 0.4, let other = plan.shelf.pick(category: plan.shelf.items[items[0]].category, day: nil, random: &random),
                           !items.contains(other) {
                            viewed.insert(other, at: 0)
                        }
                        let signedIn = random.unit() < 0.7
                        let logsIn = !signedIn && random.unit() < 0.5
                        var events = viewed.enumerated().map { offset, item in
                            visitor.event("product_viewed", at: at + Int64(offset) * 2 * minute, channel: shopper.online, signedIn: signedIn,
                                          properties: visitor.product(item))
                        }
                        if logsIn { events.append(visitor.login(at: at + Int64(viewed.count) * 2 * minute, channel: shopper.online)) }
                        sessions.append(Session(start: at, events: events, idleSince: nil))
                    }
                } else if sale.channel == DemoCatalog.web || sale.channel == DemoCatalog.app {
                    // The reverse: a look in their store (the app checks them in) days before ordering online.
                    if random.unit() < (shopper.reach == .omnichannel ? 0.3 : 0.03) {
                        let visitDay = (sale.at / day - Int64(1 + random.below(7))) * day
                        let at = visitDay + Int64(9 * 60 + random.below(11 * 60)) * minute
                        let event = visitor.event("store_visited", at: at, channel: shopper.homeStore, signedIn: true,
                                                  properties: ["source": .string("app_check_in")])
                        sessions.append(Session(start: at, events: [event], idleSince: nil))
                    }
                    // The order's own cart, tracked from the basket to the order.
                    if random.unit() < 0.2 {
                        let cart = visitor.cart(id: "o\(number)", items: items)
                        let opened = sale.at - Int64(4 + random.below(20)) * minute
                        var events = [visitor.event("cart_updated", at: opened, channel: sale.channel, signedIn: true, properties: cart)]
                        if random.unit() < 0.5 {
                            events.append(visitor.event("checkout_started", at: sale.at - Int64(1 + random.below(3)) * minute, channel: sale.channel,
                                                        signedIn: true, properties: cart))
                        }
                        var placed = cart
                        placed["order_id"] = .string(Plan.externalID(ofSale: number))
                        events.append(visitor.event("order_placed", at: sale.at, channel: sale.channel, signedIn: true, properties: placed))
                        sessions.append(Session(start: opened, events: events, idleSince: nil))
                    }
                }
                // A cart left online and bought days later in another channel: a recovery.
                if random.unit() < 0.06 {
                    let channel = sale.channel == DemoCatalog.web ? DemoCatalog.app : sale.channel == DemoCatalog.app ? DemoCatalog.web : shopper.online
                    let at = sale.at - Int64(1 + random.below(5)) * day - Int64(random.below(10 * 60)) * minute
                    let left = Array(items.prefix(1 + random.below(items.count)))
                    let event = visitor.event("cart_updated", at: at, channel: channel, signedIn: true, properties: visitor.cart(id: "r\(number)", items: left))
                    sessions.append(Session(start: at, events: [event], idleSince: at))
                }
                // A cart left for good: something like what they bought, weeks later.
                if random.unit() < 0.1 {
                    let at = sale.at + Int64(2 + random.below(30)) * day + Int64(random.below(24 * 60)) * minute
                    let signedIn = random.unit() < 0.7
                    if at < plan.end, let other = plan.shelf.pick(category: plan.shelf.items[items[0]].category, day: nil, random: &random),
                       !items.contains(other) {
                        let event = visitor.event("cart_updated", at: at, channel: shopper.online, signedIn: signedIn,
                                                  properties: visitor.cart(id: "a\(number)", items: [other]))
                        sessions.append(Session(start: at, events: [event], idleSince: at))
                    }
                }
            }
            self.sessions = sessions.enumerated().sorted { $0.element.start != $1.element.start ? $0.element.start < $1.element.start : $0.offset < $1.offset }
                .map(\.element)
        }

        /// The events of one shopper as their devices send them.
        struct Visitor {
            let person: DemoPerson
            let shelf: Shelf

            /// Signed in, the shopper is named by e-mail; otherwise only the device's id names them.
            func event(_ type: String, at: Int64, channel: String, signedIn: Bool, properties: [String: JSONValue]) -> TrackEventInput {
                TrackEventInput(type: type, occurredAt: Timestamp.text(at), anonymousId: signedIn ? nil : device(channel),
                                identifiers: signedIn ? [IdentifierInput(kind: "email", value: person.email)] : nil, channel: channel,
                                properties: properties)
            }

            /// Logging in on a device: its earlier anonymous events become the shopper's.
            func login(at: Int64, channel: String) -> TrackEventInput {
                TrackEventInput(type: "page_viewed", occurredAt: Timestamp.text(at), anonymousId: device(channel),
                                identifiers: [IdentifierInput(kind: "email", value: person.email)], channel: channel,
                                properties: ["page": .string("/account/login")])
            }

            func device(_ channel: String) -> String { "dev-\(person.card)-\(channel)" }

            func product(_ item: Int) -> [String: JSONValue] {
                let found = shelf.items[item]
                return ["sku": .string(found.sku), "name": .string(found.name), "category": .string(shelf.category(of: item).path),
                        "price": .integer(found.price), "currency": .string("EUR")]
            }

            func cart(id: String, items: [Int]) -> [String: JSONValue] {
                ["cart_id": .string(id), "item_count": .integer(Int64(items.count)), "currency": .string("EUR"),
                 "value": .integer(items.reduce(0) { $0 + shelf.items[$1].price }),
                 "skus": .array(items.map { .string(shelf.items[$0].sku) })]
            }
        }

        /// Records the sessions in time order, running the abandonment sweep between them at the
        /// moments it would have run. Returns how many carts it marked abandoned.
        func record(_ services: AppServices, caller: Caller) async throws -> Int {
            let tenantID = caller.tenantID
            let minutes = try await services.database.read { sql in
                try await sql.raw("SELECT cart_abandonment_minutes FROM tenants WHERE id = \(bind: tenantID)")
                    .first(decodingColumn: "cart_abandonment_minutes", as: Int?.self) ?? nil
            } ?? CartAbandonment.defaultMinutes
            // The worker sweeps every minute: a cart is found a minute after its threshold.
            let dues = sessions.compactMap { $0.idleSince.map { $0 + Int64(minutes + 1) * 60_000 } }.sorted()
            let clock = HistoricalClock()
            // The real sweep, on the same database, with a clock set to the moments it would have run.
            let past = AppServices(config: services.config, database: services.database, logger: services.logger, now: { clock.date },
                                   metrics: services.metrics, webhookTransport: services.webhookTransport)
            let sweeper = CartAbandonment(services: past)
            let journeys = JourneyService(services: services)
            let now = services.nowMilliseconds
            var abandoned = 0
            var next = 0
            var pending: [Session] = []

            func flush() async throws {
                try await DemoHistory.inChunks(pending, services: services) { sql, session in
                    _ = try await journeys.track(on: sql, caller: caller, TrackEventsRequest(batch: session.events), actor: .cli)
                }
                pending.removeAll()
            }
            func sweep(until time: Int64) async throws {
                while next < dues.count && dues[next] <= time && dues[next] <= now {
                    let due = dues[next]
                    try await flush()
                    clock.set(due)
                    var swept = CartAbandonment.batch
                    while swept == CartAbandonment.batch {
                        swept = try await sweeper.sweep()
                        abandoned += swept
                    }
                    while next < dues.count && dues[next] <= due { next += 1 }
                }
            }
            for session in sessions {
                try await sweep(until: session.start)
                pending.append(session)
            }
            try await flush()
            try await sweep(until: now)
            return abandoned
        }
    }

    /// The time the historical abandonment sweeps take it to be.
    final class HistoricalClock: Sendable {
        private let milliseconds = Mutex<Int64>(0)

        func set(_ time: Int64) { milliseconds.withLock { $0 = time } }

        var date: Date { Date(timeIntervalSince1970: Double(milliseconds.withLock { $0 }) / 1_000) }
    }
}

extension TrackEventsRequest {
    /// A batch, as a client sends `{"events": [...]}`.
    init(batch events: [TrackEventInput]) {
        self.events = events
        isBatch = true
    }
}
