import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import OmniaServer
import Testing

@Suite("Customer 360: overview and timeline")
struct CustomerOverviewTests {
    @Test("the overview sums every channel of a merged customer, and unmerge splits the figures again", arguments: TestBackend.available)
    func overviewFollowsMerges(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let places = try await SalesFixtures.make(app, client)
            let ana = ["email": "ana@example.com"]
            let s1 = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale(
                "S-1", customer: ana, lines: [("JUMPER", "women/knitwear", 2, 3995), ("BOOTS", "men/shoes", 1, 5000)], at: "2026-03-01T10:00:00Z"))
            let anaID = try #require(s1.object["customer_id"] as? String)
            try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale(
                "S-2", customer: ana, lines: [("JUMPER", "women/knitwear", 1, 3995)], at: "2026-04-01T10:00:00Z"))
            let w1 = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale(
                "W-1", channel: "web", customer: ["email": "ana.g@example.com"], lines: [("DRESS", "women/dresses", 3, 1000)], at: "2026-02-01T10:00:00Z"))
            let webID = try #require(w1.object["customer_id"] as? String)
            try await client.call(.post, "/v1/transactions", key: app.adminKey, json: [
                "kind": "return", "external_id": "R-1", "channel": "store-madrid-01", "occurred_at": "2026-02-10T10:00:00Z",
                "original": ["channel": "web", "external_id": "W-1"], "lines": [["original_line": 1, "quantity": 1]],
            ])
            let merged = try await client.call(.post, "/v1/customers/\(anaID)/merge", key: app.adminKey, json: ["customer_id": webID])
            #expect(merged.status == .ok, "\(merged.text)")

            let overview = try await client.call(.get, "/v1/customers/\(anaID)/overview", key: app.adminKey)
            #expect(overview.status == .ok, "\(overview.text)")
            let totals = try #require((overview.object["totals"] as? [[String: Any]])?.first)
            #expect(totals["orders"] as? Int == 3 && totals["returns"] as? Int == 1)
            #expect(totals["sales_amount"] as? Int == 19985 && totals["returned_amount"] as? Int == 1000 && totals["net_spend"] as? Int == 18985)
            #expect(totals["average_order_value"] as? Int == 6661)
            #expect(totals["first_purchase_at"] as? String == "2026-02-01T10:00:00.000Z" && totals["last_purchase_at"] as? String == "2026-04-01T10:00:00.000Z")
            let channels = try #require(overview.object["channels"] as? [[String: Any]])
            #expect(channels.map { $0["channel_code"] as? String } == ["store-madrid-01", "web"], "busiest channel first")
            #expect(channels.first?["returns"] as? Int == 1, "the web order's return counts in the store, where it happened")
            let favourite = overview.object["favourite_store"] as? [String: Any]
            #expect(favourite?["location_id"] as? String == places.storeLocationID && favourite?["orders"] as? Int == 2)
            let categories = (overview.object["top_categories"] as? [[String: Any]])?.map { "\($0["category"] ?? "") \($0["quantity"] ?? "")" }
            #expect(categories == ["women/knitwear 3", "women/dresses 2", "men/shoes 1"])
            #expect(((overview.object["customer"] as? [String: Any])?["identifiers"] as? [Any])?.count == 2)

            let viaMergedID = try await client.call(.get, "/v1/customers/\(webID)/overview", key: app.adminKey)
            #expect((viaMergedID.object["customer"] as? [String: Any])?["merged_into"] as? String == anaID)

            try await client.call(.post, "/v1/customers/\(webID)/unmerge", key: app.adminKey, json: [:])
            let split = try await client.call(.get, "/v1/customers/\(anaID)/overview", key: app.adminKey)
            #expect((split.object["totals"] as? [[String: Any]])?.first?["orders"] as? Int == 2)
            let other = try await client.call(.get, "/v1/customers/\(webID)/overview", key: app.adminKey)
            #expect((other.object["totals"] as? [[String: Any]])?.first?["net_spend"] as? Int == 2000)
            let stranger = try await app.otherTenant()
            #expect(try await client.call(.get, "/v1/customers/\(anaID)/overview", key: stranger.key).status == .notFound)
        }
    }

    @Test("the timeline lists sales, returns and merges across channels, newest first, page by page and filtered", arguments: TestBackend.available)
    func timeline(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let places = try await SalesFixtures.make(app, client)
            let sale = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale("S-1", at: "2026-03-01T10:00:00Z"))
            let anaID = try #require(sale.object["customer_id"] as? String)
            try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale("S-2", at: "2026-04-01T10:00:00Z"))
            let web = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale(
                "W-1", channel: "web", customer: ["loyalty_card": "4000123"], at: "2026-02-01T10:00:00Z"))
            try await client.call(.post, "/v1/transactions", key: app.adminKey, json: [
                "kind": "return", "external_id": "R-1", "channel": "store-madrid-01", "occurred_at": "2026-02-10T10:00:00Z",
                "original": ["channel": "web", "external_id": "W-1"], "lines": [["original_line": 1, "quantity": 1]],
            ])
            let webID = try #require(web.object["customer_id"] as? String)
            try await client.call(.post, "/v1/customers/\(anaID)/merge", key: app.adminKey, json: ["customer_id": webID])

            var seen: [String] = []
            var cursor: String?
            repeat {
                let path = "/v1/customers/\(anaID)/timeline?limit=2" + (cursor.map { "&starting_after=\($0)" } ?? "")
                let page = try await client.call(.get, path, key: app.adminKey)
                #expect(page.status == .ok, "\(page.text)")
                seen += page.list.map { "\($0["type"] ?? "") \($0["external_id"] ?? "-")" }
                cursor = page.object["next_cursor"] as? String
            } while cursor != nil && seen.count < 10
            #expect(seen == ["merge -", "sale S-2", "sale S-1", "return R-1", "sale W-1"])

            let returns = try await client.call(.get, "/v1/customers/\(anaID)/timeline?type=return", key: app.adminKey)
            #expect(returns.list.map { $0["external_id"] as? String } == ["R-1"])
            let online = try await client.call(.get, "/v1/customers/\(anaID)/timeline?channel_id=\(places.webChannelID)", key: app.adminKey)
            #expect(online.list.map { $0["external_id"] as? String } == ["W-1"])
            let bad = try await client.call(.get, "/v1/customers/\(anaID)/timeline?type=sale,gossip", key: app.adminKey)
            #expect(bad.status == .badRequest)
        }
    }
}
