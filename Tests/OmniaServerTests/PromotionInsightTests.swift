import Foundation
import HTTPTypes
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import Testing

/// Before and after a promotion runs, on both databases: a simulation on the last days of real
/// sales, and a report of what its committed sales took, net of returns, by channel.
@Suite("Promotion simulation and reports")
struct PromotionInsightTests {
    private static let knitwearTenPercent: [String: any Sendable] = [
        "name": "10 % off knitwear",
        "effects": [["type": "percent_off_lines", "percent": 10, "lines": #"category startsWith "women/knitwear""#] as [String: any Sendable]],
    ]

    @Test("a draft promotion replayed on the last 30 days of sales: what it would have touched and cost, by channel", arguments: TestBackend.available)
    func simulate(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let ana = try await LoyaltyAPITests.customer(client, app, "ana@example.com")
            let bruno = try await LoyaltyAPITests.customer(client, app, "bruno@example.com")
            try await LoyaltyAPITests.sale(client, app, "S-1", customer: ana, lines: [("JUMPER", "women/knitwear", 1, 5_000), ("SOCKS", "men/socks", 1, 500)], daysAgo: 2)
            try await LoyaltyAPITests.sale(client, app, "S-2", customer: ana, lines: [("SOCKS", "men/socks", 2, 500)], daysAgo: 3)
            try await LoyaltyAPITests.sale(client, app, "W-1", customer: bruno, channel: "web", lines: [("SCARF", "women/knitwear", 2, 2_000)], daysAgo: 1)
            try await LoyaltyAPITests.sale(client, app, "S-OLD", customer: bruno, lines: [("JUMPER", "women/knitwear", 1, 5_000)], daysAgo: 40)
            let created = try await client.call(.post, "/v1/promotions", key: app.adminKey, json: Self.knitwearTenPercent)
            let id = try #require(created.object["id"] as? String, "\(created.text)")

            let simulated = try await client.call(.post, "/v1/promotions/\(id)/simulate", key: app.adminKey, json: ["days": 30])
            #expect(simulated.status == .ok, "\(simulated.text)")
            #expect(simulated.object["status"] as? String == "draft" && simulated.object["sales_considered"] as? Int == 3, "\(simulated.text)")
            #expect(simulated.object["sales_touched"] as? Int == 2 && simulated.object["customers_touched"] as? Int == 2)
            #expect(simulated.object["discount"] as? Int == 500 + 400 && simulated.object["truncated"] as? Bool == false)
            let channels = try #require(simulated.object["by_channel"] as? [[String: Any]])
            #expect(channels.map { $0["channel_code"] as? String } == ["store-madrid-01", "web"])
            #expect(channels.map { [$0["sales"] as? Int, $0["sales_touched"] as? Int, $0["discount"] as? Int, $0["revenue"] as? Int] }
                == [[2, 1, 500, 5_500], [1, 1, 400, 4_000]], "\(channels)")
            let recent = try await client.call(.post, "/v1/promotions/\(id)/simulate", key: app.adminKey, json: ["days": 30, "max_sales": 1])
            #expect(recent.object["sales_considered"] as? Int == 1 && recent.object["truncated"] as? Bool == true && recent.object["discount"] as? Int == 400)
            let defaults = try await client.call(.post, "/v1/promotions/\(id)/simulate", key: app.adminKey, json: [String: any Sendable]())
            #expect(defaults.object["sales_considered"] as? Int == 3, "30 days by default: \(defaults.text)")

            let bad = try await client.call(.post, "/v1/promotions/\(id)/simulate", key: app.adminKey, json: ["days": 0, "max_sales": 500_000])
            #expect(Set((bad.object["errors"] as? [[String: Any]] ?? []).compactMap { "\($0["field"] ?? ""):\($0["code"] ?? "")" })
                == ["days:out_of_range", "max_sales:out_of_range"], "\(bad.text)")
            let unknown = try await client.call(.post, "/v1/promotions/prm_01katk6b2c4e6g8j0m2p4r6t8v/simulate", key: app.adminKey, json: ["days": 3])
            #expect(unknown.status == .notFound)
            let till = try await app.key(scopes: ["pos"])
            #expect(try await client.call(.post, "/v1/promotions/\(id)/simulate", key: till, json: ["days": 3]).status == .forbidden)
        }
    }

    @Test("a report counts committed sales, discount and revenue by channel, net of returns", arguments: TestBackend.available)
    func report(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            var body = Self.knitwearTenPercent
            body["status"] = "active"
            let created = try await client.call(.post, "/v1/promotions", key: app.adminKey, json: body)
            let id = try #require(created.object["id"] as? String, "\(created.text)")
            let at = LoyaltyAPITests.daysAgo(0.1)
            var saleIDs: [String] = []
            for (index, channel) in ["store-madrid-01", "web", "web"].enumerated() {
                let committed = try await client.call(.post, "/v1/checkout/commit", key: app.adminKey, json: [
                    "external_id": "R-\(index)", "channel": channel, "currency": "EUR", "at": at,
                    "lines": [["sku": "JUMPER", "category": "women/knitwear", "quantity": 1, "unit_price": 5_000] as [String: any Sendable],
                              ["sku": "SOCKS", "category": "men/socks", "quantity": 1, "unit_price": 500]],
                ])
                #expect(committed.status == .created, "\(committed.text)")
                saleIDs.append(try #require((committed.object["transaction"] as? [String: Any])?["id"] as? String))
            }
            let returned = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: [
                "kind": "return", "external_id": "R-1-R", "channel": "web", "occurred_at": LoyaltyAPITests.daysAgo(0.05), "original": ["id": saleIDs[1]],
                "lines": [["original_line": 1, "quantity": 1] as [String: any Sendable]],
            ])
            #expect(returned.status == .created, "\(returned.text)")

            let report = try await client.call(.get, "/v1/promotions/\(id)/report", key: try await app.key(scopes: ["analytics:read"]))
            #expect(report.status == .ok, "\(report.text)")
            #expect(report.object["redemptions"] as? Int == 2 && report.object["discount"] as? Int == 1_000 && report.object["returned_discount"] as? Int == 500,
                    "\(report.text)")
            #expect(report.object["revenue"] as? Int == 3 * 5_000, "\(report.text)")
            let channels = try #require(report.object["by_channel"] as? [[String: Any]])
            #expect(channels.map { [$0["channel_code"] as? String, "\($0["redemptions"] ?? "")", "\($0["discount"] ?? "")"] }
                == [["store-madrid-01", "1", "500"], ["web", "1", "500"]], "\(channels)")
            let before = try await client.call(.get, "/v1/promotions/\(id)/report?to=2020-01-01T00:00:00Z&from=2019-01-01T00:00:00Z", key: app.adminKey)
            #expect(before.object["redemptions"] as? Int == 0 && (before.object["by_channel"] as? [Any])?.isEmpty == true, "\(before.text)")
            let reversed = try await client.call(.get, "/v1/promotions/\(id)/report?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", key: app.adminKey)
            #expect(reversed.status == .badRequest && (reversed.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "invalid_range")
        }
    }
}
