import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import OmniaServer
import SQLKit
import Testing

@Suite("Claiming anonymous receipts")
struct ReceiptClaimTests {
    @Test("an anonymous sale and its return are claimed from another channel by the code on the receipt", arguments: TestBackend.available)
    func claimAttachesSaleAndReturns(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let places = try await SalesFixtures.make(app, client)
            let sale = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale(
                "T-1", customer: nil, lines: [("MUG", "home/kitchen", 2, 750)]))
            #expect(sale.object["customer_id"] == nil)
            let code = try #require(sale.object["claim_code"] as? String)
            #expect(code.range(of: "^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$", options: .regularExpression) != nil, "\(code)")
            let saleID = try #require(sale.object["id"] as? String)
            let returned = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: [
                "kind": "return", "external_id": "R-1", "channel": "store-madrid-01", "occurred_at": "2026-03-02T10:00:00Z",
                "original": ["id": saleID], "lines": [["original_line": 1, "quantity": 1]],
            ])
            #expect(returned.object["customer_id"] == nil)

            let typed = code.lowercased().replacingOccurrences(of: "-", with: " ")
            let claim = try await client.call(.post, "/v1/receipts/claim", key: app.adminKey, json: [
                "claim_code": typed, "identifiers": [["kind": "email", "value": "luis@example.com"]], "channel_id": places.webChannelID,
            ])
            #expect(claim.status == .ok, "\(claim.text)")
            let customerID = try #require(claim.object["customer_id"] as? String)
            #expect((claim.object["transaction"] as? [String: Any])?["customer_id"] as? String == customerID)
            #expect((claim.object["returns"] as? [[String: Any]])?.first?["customer_id"] as? String == customerID)
            let fetched = try await client.call(.get, "/v1/transactions/\(saleID)", key: app.adminKey)
            #expect(fetched.object["claim_code"] == nil, "a claimed receipt no longer shows its code")
            #expect(fetched.object["claimed_at"] is String)

            let again = try await client.call(.post, "/v1/receipts/claim", key: app.adminKey, json: ["claim_code": code, "customer_id": customerID])
            #expect(again.status == .ok, "claiming again for the same customer answers the same")
            let someoneElse = try await client.call(.post, "/v1/receipts/claim", key: app.adminKey, json: [
                "claim_code": code, "identifiers": [["kind": "email", "value": "eva@example.com"]],
            ])
            #expect(someoneElse.status == .conflict)
            #expect(someoneElse.problemCode == "already_claimed")
            #expect(try await app.count("customers") == 1, "the refused claimant was not created")
            let unknown = try await client.call(.post, "/v1/receipts/claim", key: app.adminKey, json: ["claim_code": "0000-0000-0000", "customer_id": customerID])
            #expect(unknown.status == .notFound)
            let garbled = try await client.call(.post, "/v1/receipts/claim", key: app.adminKey, json: ["claim_code": "12-34", "customer_id": customerID])
            #expect((garbled.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "invalid_claim_code")

            let stats = try await app.services.database.read { sql in
                try await sql.raw("SELECT CAST(SUM(orders) AS BIGINT) AS orders, CAST(SUM(returns) AS BIGINT) AS returns, CAST(SUM(sales_amount - returned_amount) AS BIGINT) AS net FROM customer_channel_stats WHERE customer_id = \(bind: customerID)").first()
            }
            #expect(try stats?.decode(column: "orders", as: Int.self) == 1)
            #expect(try stats?.decode(column: "returns", as: Int.self) == 1)
            #expect(try stats?.decode(column: "net", as: Int.self) == 750)
        }
    }

    @Test("of many people claiming one receipt at once, exactly one gets it", arguments: TestBackend.available)
    func concurrentClaims(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let sale = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale("T-1", customer: nil))
            let code = try #require(sale.object["claim_code"] as? String)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        Int(try await client.call(.post, "/v1/receipts/claim", key: app.adminKey, json: [
                            "claim_code": code, "identifiers": [["kind": "email", "value": "claimant\(index)@example.com"]],
                        ]).status.code)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0 == 409 }.count == 7)
            #expect(try await app.count("customers") == 1)
            #expect(try await app.count("customer_channel_stats") == 1)
        }
    }
}
