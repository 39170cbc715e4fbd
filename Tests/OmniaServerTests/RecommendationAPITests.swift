import Foundation
import HTTPTypes
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

/// Recommendations through the real router, on both databases: items bought together in any
/// channel, the customer's own habits and the popular fallback, the filters, a product's related
/// items, the model's rebuild and its report, refusals, and the offline evaluation.
@Suite("Recommendations")
struct RecommendationAPITests {
    private static func rebuild(_ client: any TestClientProtocol, _ app: TestApp) async throws -> [String: Any] {
        let rebuilt = try await client.call(.post, "/v1/recommendations/model/rebuild", key: app.adminKey, json: [String: any Sendable]())
        #expect(rebuilt.status == .ok, "\(rebuilt.text)")
        return rebuilt.object
    }

    private static func recommended(_ client: any TestClientProtocol, _ app: TestApp, _ customer: String,
                                    _ query: String = "") async throws -> [[String: Any]] {
        let found = try await client.call(.get, "/v1/customers/\(customer)/recommendations\(query)", key: app.adminKey)
        #expect(found.status == .ok, "\(found.text)")
        return found.list
    }

    private static func skus(_ items: [[String: Any]]) -> [String?] { items.map { $0["sku"] as? String } }

    private static func reason(_ item: [String: Any]?) -> [String: Any] { item?["reason"] as? [String: Any] ?? [:] }

    /// Bea and Carla bought a jersey with a scarf in store (Bea's mug went back), Ana the jersey
    /// alone; Eva buys coffee online every three weeks, last three weeks ago; Dani bought nothing.
    private static func shop(_ client: any TestClientProtocol, _ app: TestApp) async throws -> [String: String] {
        _ = try await SalesFixtures.make(app, client)
        var customers: [String: String] = [:]
        for name in ["ana", "bea", "carla", "eva", "dani"] {
            customers[name] = try await LoyaltyAPITests.customer(client, app, "\(name)@example.com")
        }
        let jersey = ("JER", "women/knitwear", 1, 5_000), scarf = ("SCF", "accessories/scarves", 1, 2_000)
        let beaSale = try await LoyaltyAPITests.sale(client, app, "S-1", customer: customers["bea"] ?? "",
                                                     lines: [jersey, scarf, ("MUG", "home/kitchen", 1, 900)], daysAgo: 10)
        try await LoyaltyAPITests.returned(client, app, "R-1", sale: beaSale, lines: [(3, 1)])
        try await LoyaltyAPITests.sale(client, app, "S-2", customer: customers["carla"] ?? "", lines: [jersey, scarf], daysAgo: 8)
        try await LoyaltyAPITests.sale(client, app, "S-3", customer: customers["ana"] ?? "", lines: [jersey], daysAgo: 2)
        for (number, days) in [84.0, 63, 42, 21].enumerated() {
            try await LoyaltyAPITests.sale(client, app, "W-\(number)", customer: customers["eva"] ?? "", channel: "web",
                                           lines: [("COF", "grocery/coffee", 1, 800)], daysAgo: days)
        }
        return customers
    }

    @Test("items bought together in store are recommended saying so, a habit says how often, and a new customer gets what is popular",
          arguments: TestBackend.available)
    func blended(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let customers = try await Self.shop(client, app)
            let ana = try #require(customers["ana"]), eva = try #require(customers["eva"]), dani = try #require(customers["dani"])

            let report = try await Self.rebuild(client, app)
            // Seven sales with kept lines (the returned mug is no line of any basket): 2 + 2 + 1 + 4 lines.
            #expect(report["baskets"] as? Int == 7 && report["lines"] as? Int == 9, "\(report)")
            #expect(report["customers"] as? Int == 4 && report["items"] as? Int == 3, "\(report)")
            #expect(report["neighbours"] as? Int == 2, "the jersey and the scarf, each the other's neighbour: \(report)")
            #expect(report["built_at"] as? String != nil && report["milliseconds"] as? Int != nil, "\(report)")
            let model = try await client.call(.get, "/v1/recommendations/model", key: app.adminKey)
            #expect(model.status == .ok && model.object["items"] as? Int == 3 && model.object["last_error"] as? String == nil, "\(model.text)")

            // Ana bought the jersey in store: the scarf bought with it comes first, and the jersey never.
            let forAna = try await Self.recommended(client, app, ana)
            #expect(Self.skus(forAna) == ["SCF", "COF"], "\(forAna)")
            let scarf = Self.reason(forAna.first)
            #expect(scarf["code"] as? String == "bought_with" && scarf["text"] as? String == "bought with Item JER in store", "\(scarf)")
            #expect(scarf["anchor_sku"] as? String == "JER" && scarf["channel_kind"] as? String == "store")
            #expect(forAna.first?["name"] as? String == "Item SCF" && forAna.first?["category"] as? String == "accessories/scarves")
            let excluded = try await Self.recommended(client, app, ana, "?exclude_categories=accessories/,kids/")
            #expect(Self.skus(excluded) == ["COF"], "an excluded department takes everything below it")

            // Eva's coffee is due again.
            let forEva = try await Self.recommended(client, app, eva)
            #expect(forEva.first?["sku"] as? String == "COF", "\(forEva)")
            let habit = Self.reason(forEva.first)
            #expect(habit["code"] as? String == "repeat" && habit["text"] as? String == "you buy this every 3 weeks", "\(habit)")
            #expect(habit["interval_days"] as? Int == 21 && habit["channel_kind"] as? String == "web")

            // Dani has no history: the popular items, most bought (recently) first.
            let forDani = try await Self.recommended(client, app, dani)
            #expect(Self.skus(forDani) == ["JER", "SCF", "COF"], "\(forDani)")
            #expect(forDani.allSatisfy { Self.reason($0)["code"] as? String == "popular" })
            let two = try await Self.recommended(client, app, dani, "?limit=2")
            #expect(Self.skus(two) == ["JER", "SCF"])
            // With the jersey in the cart, the scarf goes with it, and the jersey itself is not offered.
            let cart = try await Self.recommended(client, app, dani, "?context=cart:JER")
            #expect(Self.skus(cart) == ["SCF", "COF"], "\(cart)")
            #expect(Self.reason(cart.first)["code"] as? String == "goes_with"
                && Self.reason(cart.first)["text"] as? String == "goes with Item JER in your cart")

            // A product's related items say where they are bought together.
            let related = try await client.call(.get, "/v1/products/JER/related", key: app.adminKey)
            #expect(related.status == .ok && Self.skus(related.list) == ["SCF"], "\(related.text)")
            #expect(Self.reason(related.list.first)["code"] as? String == "bought_together"
                && Self.reason(related.list.first)["text"] as? String == "often bought together in store")
            let alone = try await client.call(.get, "/v1/products/COF/related", key: app.adminKey)
            #expect(alone.status == .ok && alone.list.isEmpty, "coffee was never bought with anything: \(alone.text)")

            // A rebuild is seen at once, though the jersey's neighbours were read (and held) above:
            // Carla's hat, bought with a jersey, is now recommended to Ana for her jersey.
            try await LoyaltyAPITests.sale(client, app, "S-4", customer: customers["carla"] ?? "",
                                           lines: [("JER", "women/knitwear", 1, 5_000), ("HAT", "accessories/hats", 1, 1_500)], daysAgo: 1)
            let rebuilt = try await Self.rebuild(client, app)
            #expect(rebuilt["items"] as? Int == 4, "\(rebuilt)")
            let withHat = try await Self.recommended(client, app, ana)
            let hat = withHat.first { $0["sku"] as? String == "HAT" }
            #expect(Self.reason(hat)["code"] as? String == "bought_with" && Self.reason(hat)["anchor_sku"] as? String == "JER", "\(withHat)")
            #expect(hat?["name"] as? String == "Item HAT", "\(withHat)")

            // A till's key reads recommendations but cannot rebuild the model.
            let till = try await app.key(scopes: ["pos"])
            #expect(try await client.call(.get, "/v1/customers/\(ana)/recommendations", key: till).status == .ok)
            let refused = try await client.call(.post, "/v1/recommendations/model/rebuild", key: till, json: [String: any Sendable]())
            #expect(refused.status == .forbidden, "\(refused.text)")
        }
    }

    @Test("a merged customer's id answers the survivor's recommendations from the whole cluster's history", arguments: TestBackend.available)
    func mergedCluster(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let customers = try await Self.shop(client, app)
            let ana = try #require(customers["ana"])
            // Ana's online account bought the scarf: once merged, her whole history owns jersey and scarf.
            let online = try await LoyaltyAPITests.customer(client, app, "ana.online@example.com")
            try await LoyaltyAPITests.sale(client, app, "W-9", customer: online, channel: "web", lines: [("SCF", "accessories/scarves", 1, 2_000)])
            let merged = try await client.call(.post, "/v1/customers/\(ana)/merge", key: app.adminKey, json: ["customer_id": online])
            #expect(merged.status == .ok || merged.status == .created, "\(merged.text)")
            _ = try await Self.rebuild(client, app)

            let throughMerged = try await client.call(.get, "/v1/customers/\(online)/recommendations", key: app.adminKey)
            #expect(throughMerged.status == .ok && throughMerged.object["customer_id"] as? String == ana, "\(throughMerged.text)")
            #expect(Self.skus(throughMerged.list) == ["COF"], "neither the jersey bought in store nor the scarf bought online: \(throughMerged.text)")
        }
    }

    @Test("a customer's history reads their sales from the index by customer alone, looking up only the lines (SQLite's plan)")
    func historyPlan() async throws {
        try await TestBackend.sqlite.withDatabase { database in
            let plan = try await database.read { sql in
                try await sql.raw("EXPLAIN QUERY PLAN " + RecommendationService.historyQuery(tenantID: "t", members: ["c"])).all()
                    .map { try $0.decode(column: "detail", as: String.self) }
            }
            #expect(plan.contains { $0.contains("COVERING INDEX transactions_by_customer") }, "\(plan)")
            #expect(plan.contains { $0.contains("SEARCH l USING PRIMARY KEY") }, "\(plan)")
        }
    }

    @Test("bad input, an unknown customer, a model not built yet and a rebuild running elsewhere are refused with stable codes",
          arguments: TestBackend.available)
    func refusals(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let ana = try await LoyaltyAPITests.customer(client, app, "ana@example.com")
            try await LoyaltyAPITests.sale(client, app, "S-1", customer: ana, lines: [("JER", "women/knitwear", 1, 5_000)])

            for path in ["/v1/customers/\(ana)/recommendations", "/v1/products/JER/related", "/v1/recommendations/model"] {
                let early = try await client.call(.get, path, key: app.adminKey)
                #expect(early.status == .notFound && early.problemCode == "not_computed", "\(path): \(early.text)")
            }

            // Another server holds the rebuild's lease.
            let jobs = AnalyticsJobs(services: app.services)
            let claimed = try await jobs.claim(tenantID: app.tenantID, kind: RecommendationModelStore.kind)
            let token = try #require(claimed)
            let busy = try await client.call(.post, "/v1/recommendations/model/rebuild", key: app.adminKey, json: [String: any Sendable]())
            #expect(busy.status == .conflict && busy.problemCode == "run_in_progress", "\(busy.text)")
            try await app.services.database.transaction { sql in
                try await jobs.finish(on: sql, tenantID: app.tenantID, kind: RecommendationModelStore.kind, token: token, model: nil, error: "stopped")
            }
            #expect(try await client.call(.get, "/v1/recommendations/model", key: app.adminKey).problemCode == "not_computed",
                    "a failed attempt builds no model")
            let report = try await Self.rebuild(client, app)
            #expect(report["items"] as? Int == 1 && report["baskets"] as? Int == 1)
            let model = try await client.call(.get, "/v1/recommendations/model", key: app.adminKey)
            #expect(model.status == .ok && model.object["last_error"] as? String == nil, "a good build clears the last error: \(model.text)")

            let base = "/v1/customers/\(ana)/recommendations"
            for query in ["?limit=0", "?limit=51", "?limit=ten"] {
                let bad = try await client.call(.get, base + query, key: app.adminKey)
                #expect(bad.status == .badRequest && bad.fieldCodes == ["limit": "invalid_limit"], "\(query): \(bad.text)")
            }
            for query in ["?context=bogus", "?context=basket:JER", "?context=product:JER,SCF", "?context=cart:"] {
                let bad = try await client.call(.get, base + query, key: app.adminKey)
                #expect(bad.status == .badRequest && bad.fieldCodes == ["context": "invalid_context"], "\(query): \(bad.text)")
            }
            let both = try await client.call(.get, base + "?limit=0&context=bogus", key: app.adminKey)
            #expect(both.fieldCodes == ["limit": "invalid_limit", "context": "invalid_context"], "every field at once: \(both.text)")
            let relatedLimit = try await client.call(.get, "/v1/products/JER/related?limit=0", key: app.adminKey)
            #expect(relatedLimit.fieldCodes == ["limit": "invalid_limit"], "\(relatedLimit.text)")

            let malformed = try await client.call(.get, "/v1/customers/cus_nope/recommendations", key: app.adminKey)
            #expect(malformed.status == .notFound && malformed.problemCode == "not_found")
            // A customer of another tenant is no customer here.
            let other = try await app.otherTenant()
            let stranger = try await client.call(.post, "/v1/customers", key: other.key, json: [
                "first_name": "Zoe", "identifiers": [["kind": "email", "value": "zoe@example.com"]],
            ] as [String: any Sendable])
            let strangerID = try #require(stranger.object["id"] as? String, "\(stranger.text)")
            let unknown = try await client.call(.get, "/v1/customers/\(strangerID)/recommendations", key: app.adminKey)
            #expect(unknown.status == .notFound && unknown.problemCode == "not_found", "\(unknown.text)")
        }
    }

    @Test("the offline evaluation scores popularity, item-to-item and blended on the tenant's own history", arguments: TestBackend.available)
    func evaluation(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let appChannel = try await client.call(.post, "/v1/channels", key: app.adminKey, json: ["code": "app", "name": "App", "kind": "app"])
            #expect(appChannel.status == .created, "\(appChannel.text)")
            let chain = SyntheticBaskets(seed: 11, customers: 25, days: 90, itemsPerCategory: 3,
                                         endingAt: Int64(Date().timeIntervalSince1970 * 1_000) - 3_600_000)
            let channels = ["store": "store-madrid-01", "web": "web", "app": "app"]
            let formatter = ISO8601DateFormatter()
            for (number, basket) in chain.baskets.enumerated() {
                let lines = basket.skus.map { sku in (sku, chain.catalogue[sku]?.category ?? "", 1, 1_000) }
                let body = SalesFixtures.sale("SYN-\(number)", channel: channels[basket.channelKind] ?? "web",
                                              customer: basket.customerID.map { ["email": "\($0)@example.com"] }, lines: lines,
                                              at: formatter.string(from: Date(timeIntervalSince1970: Double(basket.time) / 1_000)))
                let recorded = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: body)
                #expect(recorded.status == .created, "\(recorded.text)")
            }

            let reports = try await RecommendationEvaluationRun(services: app.services).run(tenant: app.tenantID)
            let report = try #require(reports.first)
            #expect(reports.count == 1 && report.tenantId == app.tenantID)
            #expect(report.baskets == chain.baskets.count && report.lines == chain.lineCount)
            #expect(report.evaluation.rows.map(\.recommender) == ["popularity", "item_item", "blended"])
            #expect(report.evaluation.evaluatedCustomers > 0, "\(report.evaluation.table)")
            for row in report.evaluation.rows {
                #expect([row.precision, row.hitRate, row.ndcg].allSatisfy { (0...1).contains($0) }, "\(row)")
            }
            #expect(report.evaluation.table.contains("blended"))

            // The model's rebuild reads the same history.
            let rebuilt = try await Self.rebuild(client, app)
            #expect(rebuilt["baskets"] as? Int == chain.baskets.count && rebuilt["lines"] as? Int == chain.lineCount, "\(rebuilt)")
            #expect(rebuilt["customers"] as? Int == Set(chain.baskets.compactMap(\.customerID)).count)
        }
    }
}
