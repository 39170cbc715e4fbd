import Foundation
import HTTPTypes
import OmniaCore
@testable import OmniaServer
import SQLKit
import Synchronization
import Testing

@Suite("Demo history")
struct DemoHistoryTests {
    static let day: Int64 = 86_400_000

    /// The start of today (UTC), where the demo's history ends by default.
    static var today: Int64 { Int64(Date().timeIntervalSince1970 * 1_000) / day * day }

    /// What a history adds up to, independent of generated ids.
    static func digest(_ services: AppServices, tenantID: String) async throws -> [Int] {
        try await services.database.read { sql in
            let row = try await sql.raw("""
                SELECT COUNT(*) AS n,
                    CAST(COALESCE(SUM(CASE WHEN kind = 'sale' THEN total ELSE 0 END), 0) AS BIGINT) AS sales,
                    CAST(COALESCE(SUM(CASE WHEN kind = 'return' THEN 1 ELSE 0 END), 0) AS BIGINT) AS returns,
                    CAST(COALESCE(SUM(CASE WHEN kind = 'sale' AND claim_code IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS anonymous,
                    CAST(COALESCE(SUM(CASE WHEN claimed_at IS NOT NULL AND kind = 'sale' THEN 1 ELSE 0 END), 0) AS BIGINT) AS claimed
                FROM transactions WHERE tenant_id = \(bind: tenantID)
                """).first()
            let merges = try await sql.raw("SELECT COUNT(*) AS n FROM customer_merges WHERE tenant_id = \(bind: tenantID)").first(decodingColumn: "n", as: Int.self)
            return [try row?.decode(column: "n", as: Int.self) ?? 0, try row?.decode(column: "sales", as: Int.self) ?? 0,
                    try row?.decode(column: "returns", as: Int.self) ?? 0, try row?.decode(column: "anonymous", as: Int.self) ?? 0,
                    try row?.decode(column: "claimed", as: Int.self) ?? 0, merges ?? 0]
        }
    }

    @Test("the demo history has returns across channels, anonymous and claimed receipts and merges, the same from the same seed",
          arguments: TestBackend.available)
    func reproducibleHistory(backend: TestBackend) async throws {
        let digests = Mutex<[[Int]]>([])
        // Fixed once, so both runs end their history on the same day even across midnight.
        let end = Self.today
        let shoppers = DemoHistory.Plan(transactions: 600, seed: 2026, endingAt: end).people.count
        for _ in 0..<2 {
            try await TestApp.run(backend) { app, client in
                let demo = try await DemoSeed.run(app.services)
                #expect(try await DemoHistory.seed(app.services, tenantID: demo.tenantID, transactions: 600, endingAt: end) == 600)
                #expect(try await DemoHistory.seed(app.services, tenantID: demo.tenantID, transactions: 600, endingAt: end) == 0,
                        "seeding again adds nothing")
                let digest = try await Self.digest(app.services, tenantID: demo.tenantID)
                #expect(digest[0] > 600 && digest[2] > 10 && digest[3] > 10 && digest[4] > 0 && digest[5] == min(60, shoppers), "\(digest)")
                let crossChannel = try await app.services.database.read { sql in
                    try await sql.raw("""
                        SELECT COUNT(*) AS n FROM transactions r JOIN transactions s ON s.tenant_id = r.tenant_id AND s.id = r.original_id
                        WHERE r.tenant_id = \(bind: demo.tenantID) AND r.channel_id <> s.channel_id
                        """).first(decodingColumn: "n", as: Int.self) ?? 0
                }
                #expect(crossChannel > 0, "some web orders come back in a store")
                // Benefits: cards held by customers (some partly spent), store credit, a welcome code and assigned unique codes; sound books.
                let benefits = try await app.services.database.read { sql in
                    try await sql.raw("""
                        SELECT (SELECT COUNT(*) FROM gift_cards WHERE tenant_id = \(bind: demo.tenantID)) AS cards,
                               (SELECT COUNT(*) FROM checkout_holds WHERE tenant_id = \(bind: demo.tenantID)) AS redemptions,
                               (SELECT COUNT(*) FROM store_credits WHERE tenant_id = \(bind: demo.tenantID)) AS credits,
                               (SELECT COUNT(*) FROM coupon_codes WHERE tenant_id = \(bind: demo.tenantID) AND customer_id IS NOT NULL) AS assigned
                        """).all().first.map { row in
                        try ["cards", "redemptions", "credits", "assigned"].map { try row.decode(column: $0, as: Int.self) }
                    } ?? []
                }
                #expect(benefits.count == 4 && benefits.allSatisfy { $0 > 0 }, "\(benefits)")
                #expect(try await OperatorTools(services: app.services).verifyLedger(tenant: demo.tenantID).flatMap(\.findings).isEmpty)
                // Promotions: the chain's offers, active, and a till asking about a knitwear cart gets its 3 for 2.
                let promotions = try await client.call(.get, "/v1/promotions?status=active", key: demo.adminKey)
                #expect((promotions.object["data"] as? [[String: Any]])?.compactMap { $0["name"] as? String }.sorted() == [
                    "3 for 2 in knitwear", "Birthday: a 10 € gift card", "Come back: 5 € off a cart of 30 €", "Gold weekend: 15 %",
                    "Welcome: 10 % off the first order",
                ], "\(promotions.text)")
                let campaigns = try await client.call(.get, "/v1/campaigns", key: demo.adminKey)
                #expect((campaigns.object["data"] as? [[String: Any]])?.map { "\($0["name"] ?? ""):\($0["status"] ?? "")" }.sorted() == [
                    "Forgot something?:active", "Happy birthday: 200 points:active", "We miss you:draft",
                ], "\(campaigns.text)")
                let consenting = try await app.services.database.read { sql in
                    try await sql.raw("SELECT COUNT(*) AS n FROM customer_consents WHERE granted = 1").first(decodingColumn: "n", as: Int.self) ?? 0
                }
                #expect(consenting > 0, "some demo customers can be messaged")
                let knitwear: [[String: any Sendable]] = [["sku": "JMP-01", "category": "women/knitwear", "quantity": 3, "unit_price": 5995]]
                // A shopper new to the chain brings the welcome code: its per-customer limit needs them named.
                let newcomer = try await client.call(.post, "/v1/customers", key: demo.adminKey, json: ["first_name": "Nora", "last_name": "New"])
                let evaluated = try await client.call(.post, "/v1/checkout/evaluate", key: demo.adminKey, json: [
                    "channel": "store-madrid-01", "currency": "EUR", "lines": knitwear, "codes": [DemoBenefits.welcomeCode],
                    "customer_id": try #require(newcomer.object["id"] as? String, "\(newcomer.text)"),
                ])
                #expect(evaluated.object["discount"] as? Int == 5_995 + 1_199, "3 for 2, then 10 % of the rest: \(evaluated.text)")
                digests.withLock { $0.append(digest) }
            }
        }
        let both = digests.withLock { $0 }
        #expect(both.count == 2 && both[0] == both[1])
    }

    @Test("the call centre's retyped shoppers share no identifier, and the queued match job finds them", arguments: TestBackend.available)
    func retypedShoppersAreFoundByMatching(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let demo = try await DemoSeed.run(app.services)
            try await DemoHistory.seed(app.services, tenantID: demo.tenantID, transactions: 1_500)
            let retyped = try await app.services.database.read { sql in
                try await sql.raw("""
                    SELECT c.id FROM customers c JOIN customer_identifiers i ON i.tenant_id = c.tenant_id AND i.customer_id = c.id
                    WHERE c.tenant_id = \(bind: demo.tenantID) AND i.kind = 'email' AND i.value LIKE 'cc.%'
                    """).all().map { try $0.decode(column: "id", as: String.self) }
            }
            #expect(retyped.count >= 15, "\(retyped.count)")
            let job = try #require(try await MatchJobs(services: app.services).runNext(), "the demo queues a match job")
            #expect(job.status == "succeeded")
            let found = try await MatchingTests.candidates(client, key: demo.adminKey, job: job.id)
            let covered = Set(found.flatMap { [$0["left_customer_id"] as? String ?? "", $0["right_customer_id"] as? String ?? ""] })
            let share = Double(retyped.filter(covered.contains).count) / Double(retyped.count)
            #expect(share >= 0.8, "matching found \(share) of the retyped shoppers")
            // And little else: the demo's other shoppers differ in birth date and address, even when
            // they share a common name and a postcode.
            let unrelated = found.filter { !retyped.contains($0["left_customer_id"] as? String ?? "") && !retyped.contains($0["right_customer_id"] as? String ?? "") }
            #expect(Double(unrelated.count) <= Double(retyped.count) * 0.25, "\(unrelated.count) pairs without a retyped shopper, merged \(job.merged ?? 0)")
        }
    }

    @Test("at the demo's size, matching finds the retyped shoppers and hardly anyone else (shoppers with a common name differ in birth date and address)")
    func demoShoppersAreToldApart() {
        var random = SplitMix64(seed: 20261123)
        let people = (0..<2_000).map { DemoPerson(number: $0, random: &random) }
        var records = people.enumerated().map { index, person in
            RecordLinkage.Record(id: "p\(index)", firstName: person.firstName, lastName: person.lastName, birthDate: person.birthDate,
                                 address: person.address, postcode: person.postcode, phone: person.phone, email: person.email)
        }
        let retyped = Array(stride(from: 5, to: people.count, by: people.count / 30).prefix(30))
        for index in retyped {
            let person = people[index]
            records.append(RecordLinkage.Record(id: "r\(index)", firstName: person.firstName, lastName: DemoPerson.slipped(person.lastName),
                                                birthDate: person.birthDate, address: person.address, postcode: person.postcode,
                                                phone: DemoPerson.slipped(person.phone), email: "cc.\(person.card)@mail.example"))
        }
        let (_, pairs) = RecordLinkage.link(records)
        let found = pairs.filter { $0.probability >= 0.5 }.map { Set([records[$0.left].id, records[$0.right].id]) }
        let truth = Set(retyped.map { Set(["p\($0)", "r\($0)"]) })
        let hits = found.filter(truth.contains).count
        #expect(Double(hits) >= 0.8 * Double(truth.count), "found \(hits) of \(truth.count)")
        #expect(found.count - hits <= truth.count / 4, "\(found.count - hits) pairs of different shoppers")
    }

    @Test("the demo's shoppers buy at different rates and spend differently, some stop buying, and the same seed and day make the same plan")
    func shoppersDiffer() throws {
        let end = Self.today
        let plan = DemoHistory.Plan(transactions: 3_000, seed: 2026, endingAt: end)
        #expect(plan.sales.count == 3_000 && plan.people.count == plan.shoppers.count)
        #expect(plan.sales.map(\.at) == plan.sales.map(\.at).sorted() && plan.sales.allSatisfy { $0.at >= plan.start && $0.at < end })
        let again = DemoHistory.Plan(transactions: 3_000, seed: 2026, endingAt: end)
        #expect(again.sales.map(\.at) == plan.sales.map(\.at) && again.sales.map(\.channel) == plan.sales.map(\.channel)
            && again.returns.map(\.at) == plan.returns.map(\.at))

        var purchases: [Int: [DemoHistory.Plan.Sale]] = [:]
        for sale in plan.sales { if let shopper = sale.shopper { purchases[shopper, default: []].append(sale) } }
        let customers = Double(purchases.count)
        let once = Double(purchases.values.filter { $0.count == 1 }.count) / customers
        let often = Double(purchases.values.filter { $0.count >= 10 }.count) / customers
        // Bought three times or more, then nothing for half a year: most likely gone.
        let lapsed = Double(purchases.values.filter { $0.count >= 3 && end - ($0.last?.at ?? end) > 180 * Self.day }.count) / customers
        #expect(once > 0.05 && often > 0.1 && lapsed > 0.05, "once \(once), ten times or more \(often), lapsed \(lapsed)")
        func value(_ sale: DemoHistory.Plan.Sale) -> Int64 {
            sale.lines.reduce(Int64(0)) { $0 + $1.quantity * plan.shelf.items[$1.item].price }
        }
        let spend = purchases.values.map { sales in Double(sales.reduce(Int64(0)) { $0 + value($1) }) / Double(sales.count) }.sorted()
        #expect(spend[spend.count * 9 / 10] > 3 * spend[spend.count / 10], "a big spender's basket is worth several of a small one's")
        #expect(plan.shelf.items.count == 150 && Set(plan.shelf.items.map(\.sku)).count == 150)
    }

    @Test("the seeded demo feeds every analytic: omnichannel customers a minority, items bought together, consumables bought again, busy Decembers, research online and buy in store and the reverse, carts abandoned and recovered, recommendations beating both baselines",
          arguments: TestBackend.available)
    func seededDemoIsMeaningful(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            let demo = try await DemoSeed.run(app.services)
            let end = Self.today
            #expect(try await DemoHistory.seed(app.services, tenantID: demo.tenantID, transactions: 3_000, endingAt: end) == 3_000)
            let seeded = try await Self.seeded(app.services, tenantID: demo.tenantID)
            let day = Self.day
            #expect(seeded.sales.count == 3_000)

            // Channels: most customers keep to stores or to the web shop and app; a minority buys in both.
            var kinds: [String: Set<Bool>] = [:]
            for sale in seeded.sales { if let customer = sale.customer { kinds[customer, default: []].insert(sale.channelKind == "store") } }
            let buyers = Double(kinds.count)
            let omnichannel = Double(kinds.values.filter { $0.count == 2 }.count) / buyers
            let storeOnly = Double(kinds.values.filter { $0 == [true] }.count) / buyers
            let onlineOnly = Double(kinds.values.filter { $0 == [false] }.count) / buyers
            #expect(omnichannel > 0.1 && omnichannel < 0.35 && storeOnly > omnichannel && onlineOnly > 0.1,
                    "omnichannel \(omnichannel), store only \(storeOnly), online only \(onlineOnly)")
            let storeSales = seeded.sales.filter { $0.channelKind == "store" }
            #expect(storeSales.contains { $0.customer == nil } && storeSales.filter { $0.customer != nil }.count > storeSales.count / 2,
                    "store sales are mostly identified, some anonymous")

            // Baskets: partners bought together far more often than chance would have it.
            let baskets = seeded.sales.filter { !$0.skus.isEmpty }
            var bought: [String: Int] = [:]
            var together: [String: Int] = [:]
            for basket in baskets {
                let skus = Set(basket.skus).sorted()
                for sku in skus { bought[sku, default: 0] += 1 }
                for (index, first) in skus.enumerated() {
                    for second in skus[(index + 1)...] { together["\(first) \(second)", default: 0] += 1 }
                }
            }
            let strongPairs = together.filter { pair, count in
                let skus = pair.split(separator: " ").map(String.init)
                let chance = Double(bought[skus[0], default: 0]) * Double(bought[skus[1], default: 0]) / Double(baskets.count)
                return count >= 10 && Double(count) >= 5 * chance
            }
            #expect(strongPairs.count >= 10, "\(strongPairs.count) pairs bought together ten times or more, five times chance or more")

            // Consumables: the same socks, cream or coffee bought again and again, and the model sees them as consumables.
            let consumablePaths = Set(DemoCatalog.categories.filter(\.isConsumable).map(\.path))
            var days: [String: Set<Int64>] = [:]
            for sale in seeded.sales {
                guard let customer = sale.customer else { continue }
                for sku in sale.skus where consumablePaths.contains(seeded.catalogue[sku]?.category ?? "") {
                    days["\(customer) \(sku)", default: []].insert(sale.at / day)
                }
            }
            let habits = Set(days.filter { $0.value.count >= 3 }.keys.map { $0.split(separator: " ")[0] })
            #expect(habits.count >= 30, "\(habits.count) customers bought one consumable on three days or more")
            let basketsForModel = baskets.map { Basket(customerID: $0.customer, time: $0.at, channelKind: $0.channelKind, skus: $0.skus) }
            let model = ItemSimilarityModel.build(baskets: basketsForModel, catalogue: seeded.catalogue, now: end)
            let flagged = model.items.filter(\.isConsumable)
            #expect(consumablePaths.isSubset(of: Set(flagged.map(\.category))), "every consumable department has items bought again")
            #expect(flagged.filter { consumablePaths.contains($0.category) }.count * 5 >= flagged.count * 4, "\(flagged.map(\.sku))")

            // Seasons: more sales a day in December than in February.
            var salesInMonth = [Int](repeating: 0, count: 13), daysInMonth = [Int](repeating: 0, count: 13)
            for sale in seeded.sales { salesInMonth[DemoHistory.Plan.month(sale.at)] += 1 }
            for start in stride(from: end - Int64(DemoHistory.Plan.days) * day, to: end, by: Int(day)) { daysInMonth[DemoHistory.Plan.month(start)] += 1 }
            let december = Double(salesInMonth[12]) / Double(max(1, daysInMonth[12]))
            let february = Double(salesInMonth[2]) / Double(max(1, daysInMonth[2]))
            #expect(december > 1.2 * february, "\(december) sales a day in December, \(february) in February")

            // Journeys: products looked at online in the week before buying them in a store, and the reverse.
            var salesBy: [String: [SeededSale]] = [:]
            for sale in seeded.sales { if let customer = sale.customer { salesBy[customer, default: []].append(sale) } }
            var views: [String: [(at: Int64, sku: String)]] = [:]
            var visits: [String: [Int64]] = [:]
            var cartItems: [String: Set<String>] = [:]
            for event in seeded.events {
                switch event.type {
                case "product_viewed":
                    if let customer = event.customer, let sku = Self.text(event.properties["sku"]), event.channel == "web" || event.channel == "app" {
                        views[customer, default: []].append((event.at, sku))
                    }
                case "store_visited":
                    if let customer = event.customer, DemoCatalog.isStore(event.channel) { visits[customer, default: []].append(event.at) }
                case "cart_updated":
                    if let id = Self.text(event.properties["cart_id"]), case .array(let skus)? = event.properties["skus"] {
                        cartItems[id] = Set(skus.compactMap { Self.text($0) })
                    }
                default:
                    break
                }
            }
            let researchedOnline = storeSales.filter { sale in
                guard let customer = sale.customer else { return false }
                return views[customer]?.contains { $0.at < sale.at && $0.at >= sale.at - 7 * day && sale.skus.contains($0.sku) } ?? false
            }
            let visitedFirst = seeded.sales.filter { sale in
                guard let customer = sale.customer, sale.channel == "web" || sale.channel == "app" else { return false }
                return visits[customer]?.contains { $0 < sale.at && $0 >= sale.at - 7 * day } ?? false
            }
            #expect(researchedOnline.count >= 50 && visitedFirst.count >= 30,
                    "\(researchedOnline.count) store sales looked at online first, \(visitedFirst.count) online orders after a store visit")
            #expect(seeded.events.contains { $0.anonymous && $0.customer != nil }, "anonymous browsing joins its shopper when they log in")

            // Carts: some become orders; others are left, abandoned by the sweep an hour later, and some of those bought in another channel within a week.
            let abandoned = seeded.events.filter { $0.type == "cart_abandoned" }
            let recovered = abandoned.filter { cart in
                guard let customer = cart.customer, let id = Self.text(cart.properties["cart_id"]), let items = cartItems[id] else { return false }
                return salesBy[customer]?.contains { sale in
                    sale.at > cart.at && sale.at <= cart.at + 7 * day && sale.channel != cart.channel && !items.isDisjoint(with: sale.skus)
                } ?? false
            }
            #expect(abandoned.count >= 50 && recovered.count >= 20 && abandoned.count - recovered.count >= 20,
                    "\(abandoned.count) carts abandoned, \(recovered.count) of them bought in another channel within a week")
            let carts = try await app.services.database.read { sql in
                try await sql.raw("SELECT state, last_activity_at, abandoned_at FROM carts WHERE tenant_id = \(bind: demo.tenantID)").all().map { row in
                    CartRow(state: try row.decode(column: "state", as: String.self), idleSince: try row.decode(column: "last_activity_at", as: Int64.self),
                            abandonedAt: try row.decode(column: "abandoned_at", as: Int64?.self))
                }
            }
            let left = carts.filter { $0.state == "abandoned" }
            #expect(left.count == abandoned.count && carts.contains { $0.state == "ordered" })
            #expect(left.allSatisfy { ($0.abandonedAt ?? 0) - $0.idleSince == Int64(CartAbandonment.defaultMinutes + 1) * 60_000 },
                    "each cart was abandoned when the sweep would have found it, not when the demo was seeded")

            // Recommendations: leaving each customer's last basket out, the blended model beats both baselines.
            let report = RecommendationEvaluation.run(baskets: basketsForModel, catalogue: seeded.catalogue)
            #expect(report.evaluatedCustomers >= 100, "\(report.table)")
            let blended = try #require(report.row("blended"))
            for baseline in ["popularity", "item_item"] {
                let row = try #require(report.row(baseline))
                #expect(blended.precision > row.precision && blended.hitRate > row.hitRate && blended.ndcg > row.ndcg, "\(report.table)")
            }
        }
    }

    /// A demo sale as the analytics read it: the items kept (lines returned in full left out), its
    /// channel, and its customer as merges resolved them.
    struct SeededSale: Sendable {
        let customer: String?
        let channel: String
        let channelKind: String
        let at: Int64
        let skus: [String]
    }

    struct SeededEvent: Sendable {
        let type: String
        let customer: String?
        let anonymous: Bool
        let channel: String
        let at: Int64
        let properties: [String: JSONValue]
    }

    struct Seeded: Sendable {
        let sales: [SeededSale]
        let events: [SeededEvent]
        let catalogue: [String: CatalogueItem]
    }

    struct CartRow: Sendable {
        let state: String
        let idleSince: Int64
        let abandonedAt: Int64?
    }

    /// The tenant's sales with their kept items and its journey events, read with SQL.
    static func seeded(_ services: AppServices, tenantID: String) async throws -> Seeded {
        try await services.database.read { sql in
            var canonical: [String: String] = [:]
            for row in try await sql.raw("SELECT id, canonical_id FROM customers WHERE tenant_id = \(bind: tenantID)").all() {
                let id = try row.decode(column: "id", as: String.self)
                canonical[id] = try row.decode(column: "canonical_id", as: String?.self)
            }
            let roots = canonical
            func root(_ id: String?) -> String? {
                guard var current = id else { return nil }
                for _ in 0..<10 {
                    guard let next = roots[current], next != current else { break }
                    current = next
                }
                return current
            }
            var channels: [String: (code: String, kind: String)] = [:]
            for row in try await sql.raw("SELECT id, code, kind FROM channels WHERE tenant_id = \(bind: tenantID)").all() {
                let id = try row.decode(column: "id", as: String.self)
                channels[id] = (try row.decode(column: "code", as: String.self), try row.decode(column: "kind", as: String.self))
            }
            let channelByID = channels
            var kept: [String: [String]] = [:]
            var catalogue: [String: CatalogueItem] = [:]
            for row in try await sql.raw("""
                SELECT l.transaction_id, l.sku, l.name, l.category, l.quantity, l.returned_quantity FROM transaction_lines l
                JOIN transactions t ON t.tenant_id = l.tenant_id AND t.id = l.transaction_id
                WHERE l.tenant_id = \(bind: tenantID) AND t.kind = 'sale' ORDER BY l.transaction_id, l.line_number
                """).all() {
                let sku = try row.decode(column: "sku", as: String.self)
                let name = try row.decode(column: "name", as: String?.self) ?? sku
                let category = try row.decode(column: "category", as: String?.self) ?? ""
                catalogue[sku] = CatalogueItem(name: name, category: category)
                let quantity = try row.decode(column: "quantity", as: Int64.self)
                let returned = try row.decode(column: "returned_quantity", as: Int64.self)
                let transaction = try row.decode(column: "transaction_id", as: String.self)
                if quantity > returned { kept[transaction, default: []].append(sku) }
            }
            let found = kept
            let sales = try await sql.raw("""
                SELECT id, customer_id, channel_id, occurred_at FROM transactions WHERE tenant_id = \(bind: tenantID) AND kind = 'sale'
                ORDER BY occurred_at, id
                """).all().map { row in
                let id = try row.decode(column: "id", as: String.self)
                let customer = try row.decode(column: "customer_id", as: String?.self)
                let channelID = try row.decode(column: "channel_id", as: String.self)
                let channel = channelByID[channelID]
                let at = try row.decode(column: "occurred_at", as: Int64.self)
                return SeededSale(customer: root(customer), channel: channel?.code ?? "", channelKind: channel?.kind ?? "", at: at, skus: found[id] ?? [])
            }
            let events = try await sql.raw("""
                SELECT type, customer_id, anonymous_id, channel_id, occurred_at, properties FROM journey_events WHERE tenant_id = \(bind: tenantID)
                ORDER BY occurred_at, id
                """).all().map { row in
                let text = try row.decode(column: "properties", as: String.self)
                var properties: [String: JSONValue] = [:]
                // Member names as stored: no snake-case conversion.
                if case .object(let members)? = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) { properties = members }
                let type = try row.decode(column: "type", as: String.self)
                let customer = try row.decode(column: "customer_id", as: String?.self)
                let anonymousID = try row.decode(column: "anonymous_id", as: String?.self)
                let channelID = try row.decode(column: "channel_id", as: String?.self)
                let at = try row.decode(column: "occurred_at", as: Int64.self)
                return SeededEvent(type: type, customer: root(customer), anonymous: anonymousID != nil,
                                   channel: channelID.flatMap { channelByID[$0]?.code } ?? "", at: at, properties: properties)
            }
            return Seeded(sales: sales, events: events, catalogue: catalogue)
        }
    }

    static func text(_ value: JSONValue?) -> String? {
        if case .string(let text)? = value { return text }
        return nil
    }
}
