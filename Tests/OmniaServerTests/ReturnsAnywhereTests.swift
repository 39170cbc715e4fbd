import Foundation
import HTTPTypes
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import Testing

/// Returns refunding onto instruments through the real router, on both databases: a web order paid
/// with a gift card and points, returned in a store, puts each its share back; a return's own
/// tenders send the refund to a checkout of the sale or to store credit; a retried return refunds once.
@Suite("Returns anywhere")
struct ReturnsAnywhereTests {
    static func returnBody(_ externalID: String, sale: String, lines: [(Int, Int)], tenders: [[String: any Sendable]]? = nil) -> [String: any Sendable] {
        var body: [String: any Sendable] = [
            "kind": "return", "external_id": externalID, "channel": "store-madrid-01", "occurred_at": LoyaltyAPITests.daysAgo(0.5),
            "original": ["id": sale], "lines": lines.map { ["original_line": $0.0, "quantity": $0.1] as [String: any Sendable] },
        ]
        if let tenders { body["tenders"] = tenders }
        return body
    }

    static func cardBalance(_ client: any TestClientProtocol, _ app: TestApp, _ card: String) async throws -> Int? {
        try await client.call(.get, "/v1/gift_cards/\(card)", key: app.adminKey).object["balance"] as? Int
    }

    @Test("a web order paid by gift card and points, returned in a store, refunds each its share; a return's tenders choose instead", arguments: TestBackend.available)
    func returnsRefundInstruments(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            _ = try await LoyaltyAPITests.programme(client, app)
            let ana = try await LoyaltyAPITests.customer(client, app, "ana@example.com")
            let web = try await app.key(scopes: ["ecommerce"])
            let till = try await app.key(scopes: ["pos"])
            let added = try await client.call(.post, "/v1/customers/\(ana)/loyalty/adjustments", key: app.adminKey, json: ["points": 1_000, "reason": "welcome"])
            let points = try #require(added.object["id"] as? String)
            let card = try await client.call(.post, "/v1/gift_cards", key: app.adminKey, json: ["amount": 5_000])
            let cardID = try #require(card.object["id"] as? String)

            // The web shop takes 3,000 from the card and 500 points (5.00) at checkout, and records the order.
            let paid = try await client.call(.post, "/v1/redemptions", key: web, json: [
                "channel": "web", "customer_id": ana, "instruments": [["type": "gift_card", "id": cardID, "amount": 3_000] as [String: any Sendable],
                                                                      ["type": "points", "id": points, "amount": 500]],
            ])
            let checkout = try #require(paid.object["id"] as? String, "\(paid.text)")
            let order = try await client.call(.post, "/v1/transactions", key: web, json: SalesFixtures.sale(
                "W-100", channel: "web", customer: ["id": ana], lines: [("SKU-1", "women/knitwear", 2, 2_000), ("SKU-2", "home", 1, 1_000)],
                at: LoyaltyAPITests.daysAgo(1), extra: ["tenders": [["kind": "gift_card", "amount": 3_000, "reference": checkout] as [String: any Sendable],
                                                                    ["kind": "points", "amount": 500, "reference": checkout],
                                                                    ["kind": "card", "amount": 1_500]]]))
            let sale = try #require(order.object["id"] as? String, "\(order.text)")
            #expect(try await Self.cardBalance(client, app, cardID) == 2_000)
            let pointsAfterSale = try await LoyaltyAPITests.balance(client, app, ana)
            #expect(pointsAfterSale == 600, "1,000 − 500 spent + 100 earned (double on the web)")

            // One sweater comes back in Madrid: 2,000 of the 5,000 order. The checkout (3,500 of it)
            // gets 1,400, onto its parts in order: all of it onto the card; the rest in cash.
            let returnOne = Self.returnBody("R-1", sale: sale, lines: [(1, 1)])
            let first = try await client.call(.post, "/v1/transactions", key: till, json: returnOne)
            #expect(first.status == .created, "\(first.text)")
            let tenders = (first.object["tenders"] as? [[String: Any]] ?? []).map { "\($0["kind"] ?? ""):\($0["amount"] ?? 0)" }
            #expect(tenders == ["gift_card:1400", "original_payment:600"], "\(first.text)")
            #expect(try await Self.cardBalance(client, app, cardID) == 3_400)
            // A till's retry of the same return refunds nothing more.
            let retry = try await client.call(.post, "/v1/transactions", key: till, json: returnOne)
            #expect(retry.status == .ok && retry.object["id"] as? String == first.object["id"] as? String, "\(retry.text)")
            #expect(try await Self.cardBalance(client, app, cardID) == 3_400)

            // The return's tenders choose: the rest of the card part back to the checkout, the rest as store credit.
            let notOnSale = try await client.call(.post, "/v1/transactions", key: till, json: Self.returnBody("R-2", sale: sale, lines: [(1, 1), (2, 1)],
                tenders: [["kind": "gift_card", "amount": 3_000, "reference": "hld_01aaaaaaaaaaaaaaaaaaaaaaaa"]]))
            #expect(notOnSale.status == .badRequest && (notOnSale.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "not_on_sale")
            let tooMuch = try await client.call(.post, "/v1/transactions", key: till, json: Self.returnBody("R-2", sale: sale, lines: [(1, 1), (2, 1)],
                tenders: [["kind": "gift_card", "amount": 3_000, "reference": checkout]]))
            #expect(tooMuch.status == .conflict && tooMuch.problemCode == "exceeds_refundable", "\(tooMuch.text)")
            #expect(try await Self.cardBalance(client, app, cardID) == 3_400, "a refused return changes nothing")
            let chosen = try await client.call(.post, "/v1/transactions", key: till, json: Self.returnBody("R-2", sale: sale, lines: [(1, 1), (2, 1)],
                tenders: [["kind": "gift_card", "amount": 1_600, "reference": checkout], ["kind": "store_credit", "amount": 1_400]]))
            #expect(chosen.status == .created, "\(chosen.text)")
            #expect(try await Self.cardBalance(client, app, cardID) == 5_000)
            let wallet = try await client.call(.get, "/v1/customers/\(ana)/wallet", key: till)
            #expect((wallet.object["store_credit"] as? [[String: Any]])?.first?["balance"] as? Int == 1_400, "\(wallet.text)")
            // Everything came back: the sale's 100 points are taken back too.
            #expect(try await LoyaltyAPITests.balance(client, app, ana) == 500)
            #expect(try await app.count("audit_log WHERE action = 'store_credit.issue'") == 1)
            try await LoyaltyAPITests.verifySound(app)
        }
    }

    @Test("a return without a customer cannot refund to store credit", arguments: TestBackend.available)
    func anonymousStoreCredit(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let sale = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale(
                "A-1", customer: nil, lines: [("SKU-1", "home", 1, 1_000)], at: LoyaltyAPITests.daysAgo(1)))
            let saleID = try #require(sale.object["id"] as? String)
            let refused = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: Self.returnBody("AR-1", sale: saleID, lines: [(1, 1)],
                tenders: [["kind": "store_credit", "amount": 1_000]]))
            #expect(refused.status == .badRequest && (refused.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "customer_required")
            #expect(try await app.count("transactions") == 1)
            #expect(try await app.count("store_credits") == 0)
        }
    }
}
