import Foundation
import HTTPTypes
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

/// `POST /v1/checkout/commit` through the real router, on both databases: the sale stored with
/// each line's promotion discount, budgets and limits taken atomically (never overspent by many
/// clients at once), refused cleanly when used up, and given back by returns.
@Suite("Checkout commit")
struct CheckoutCommitTests {
    private static let knitwear = #"category startsWith "women/knitwear""#
    /// One time for every commit of a run: a retry sends the same body.
    private static let at = LoyaltyAPITests.daysAgo(0.1)

    private static func promotion(_ client: any TestClientProtocol, _ app: TestApp, _ body: [String: any Sendable]) async throws -> String {
        var body = body
        body["status"] = body["status"] ?? "active"
        let created = try await client.call(.post, "/v1/promotions", key: app.adminKey, json: body)
        #expect(created.status == .created, "\(created.text)")
        return try #require(created.object["id"] as? String, "\(created.text)")
    }

    private static func commit(_ client: any TestClientProtocol, key: String, _ externalID: String, customer: String? = nil,
                               lines: [(sku: String, category: String, quantity: Int, price: Int)], codes: [String] = [],
                               promotions: [String]? = nil, channel: String = "store-madrid-01") async throws -> TestResponse {
        var body: [String: any Sendable] = [
            "external_id": externalID, "channel": channel, "currency": "EUR", "at": Self.at, "codes": codes,
            "lines": lines.map { ["sku": $0.sku, "name": "Item \($0.sku)", "category": $0.category, "quantity": $0.quantity, "unit_price": $0.price]
                as [String: any Sendable] },
        ]
        if let customer { body["customer_id"] = customer }
        if let promotions { body["promotions"] = promotions }
        return try await client.call(.post, "/v1/checkout/commit", key: key, json: body)
    }

    /// What `promotion_usage` holds for a promotion: uses and discount per scope kind.
    private static func usage(_ app: TestApp, _ promotionID: String) async throws -> [String: (uses: Int, discount: Int)] {
        try await app.services.database.read { sql in
            try await sql.raw("SELECT scope, uses, discount FROM promotion_usage WHERE promotion_id = \(bind: promotionID)").all().reduce(into: [:]) {
                let scope = try $1.decode(column: "scope", as: String.self)
                $0[String(scope.prefix { $0 != ":" })] = (try $1.decode(column: "uses", as: Int.self), try $1.decode(column: "discount", as: Int.self))
            }
        }
    }

    private static let basket: [(sku: String, category: String, quantity: Int, price: Int)] = [
        ("JUMPER", "women/knitwear", 1, 5_000), ("SCARF", "women/knitwear", 2, 2_000), ("SOCKS", "men/socks", 1, 500),
    ]

    @Test("a commit stores each line's discount, takes budget and limits once, and returns give them back exactly", arguments: TestBackend.available)
    func commitAndReturn(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            _ = try await LoyaltyAPITests.programme(client, app)
            let ana = try await LoyaltyAPITests.customer(client, app, "ana@example.com")
            let till = try await app.key(scopes: ["pos"])
            let promotionID = try await Self.promotion(client, app, [
                "name": "10 % off knitwear", "currency": "EUR", "budget": ["amount": 10_000, "redemptions": 100] as [String: any Sendable],
                "limits": ["per_customer": 2], "effects": [["type": "percent_off_lines", "percent": 10, "lines": Self.knitwear] as [String: any Sendable],
                                                          ["type": "bonus_points", "points": 50]],
            ])

            let first = try await Self.commit(client, key: till, "R-1", customer: ana, lines: Self.basket, promotions: [promotionID])
            #expect(first.status == .created, "\(first.text)")
            let sale = try #require(first.object["transaction"] as? [String: Any])
            let saleID = try #require(sale["id"] as? String)
            #expect((sale["lines"] as? [[String: Any]])?.map { $0["discount"] as? Int } == [500, 400, 0], "\(first.text)")
            #expect(sale["total"] as? Int == 9_000 - 900 + 500 && first.object["bonus_points"] as? Int == 50)
            let redemption = try #require((first.object["promotions"] as? [[String: Any]])?.first)
            #expect(redemption["discount"] as? Int == 900 && redemption["version"] as? Int == 1)
            #expect((redemption["lines"] as? [[String: Any]])?.map { [$0["line"] as? Int, $0["amount"] as? Int] } == [[1, 500], [2, 400]])
            // 45 + 36 + 5 points on the nets, and the 50 bonus points spread 28 / 22 over the discounted lines.
            #expect(try await LoyaltyAPITests.balance(client, app, ana) == 136)

            // A retry answers the same sale and takes nothing more.
            let retry = try await Self.commit(client, key: till, "R-1", customer: ana, lines: Self.basket, promotions: [promotionID])
            #expect(retry.status == .ok && (retry.object["transaction"] as? [String: Any])?["id"] as? String == saleID, "\(retry.text)")
            var used = try await Self.usage(app, promotionID)
            #expect(used["total"]?.uses == 1 && used["total"]?.discount == 900 && used["customer"]?.uses == 1)
            let reused = try await Self.commit(client, key: till, "R-1", customer: ana, lines: [("SOCKS", "men/socks", 1, 500)])
            #expect(reused.status == .conflict && reused.problemCode == "external_id_taken", "\(reused.text)")
            // The budget is a ledger account: it can be raised, not lowered below what is spent; its currency stays.
            let lowered = try await client.call(.patch, "/v1/promotions/\(promotionID)", key: app.adminKey, json: ["budget": ["amount": 500]])
            #expect((lowered.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "budget_below_spent", "\(lowered.text)")
            let recurrency = try await client.call(.patch, "/v1/promotions/\(promotionID)", key: app.adminKey, json: ["currency": "SEK"])
            #expect((recurrency.object["errors"] as? [[String: Any]])?.contains { $0["code"] as? String == "budget_currency" } == true, "\(recurrency.text)")
            let raised = try await client.call(.patch, "/v1/promotions/\(promotionID)", key: app.adminKey, json: ["budget": ["amount": 20_000, "redemptions": 100]])
            #expect(raised.status == .ok, "\(raised.text)")
            let budgetAccount = try await app.services.database.read { sql in
                try await LedgerStore(tenantID: app.tenantID).accounts(on: sql, ids: [PromotionBudgetLedger.accountID(of: promotionID)]).first
            }
            #expect(budgetAccount.map { Int($0.balance.available) } == 20_000 - 900, "funded to 20,000, 900 spent: \(String(describing: budgetAccount))")

            // Twice per customer: the second commit is the last.
            #expect(try await Self.commit(client, key: till, "R-2", customer: ana, lines: Self.basket).status == .created)
            let shown = try await client.call(.post, "/v1/checkout/evaluate", key: till, json: [
                "channel": "store-madrid-01", "currency": "EUR", "customer_id": ana, "explain": true,
                "lines": [["sku": "JUMPER", "category": "women/knitwear", "quantity": 1, "unit_price": 5_000] as [String: any Sendable]],
            ])
            let why = (shown.object["not_applied"] as? [[String: Any]])?.first { $0["promotion_id"] as? String == promotionID }
            #expect(why?["reason"] as? String == "promotion_limit_reached", "\(shown.text)")
            let transactionsBefore = try await app.count("transactions")
            let third = try await Self.commit(client, key: till, "R-3", customer: ana, lines: Self.basket, promotions: [promotionID])
            #expect(third.status == .conflict && third.problemCode == "promotion_limit_reached", "\(third.text)")
            #expect(try await app.count("transactions") == transactionsBefore, "a refused commit records nothing")

            // Returning one of the two scarves refunds its net, takes back its points, and gives back its discount.
            let partial = try await client.call(.post, "/v1/transactions", key: till, json: [
                "kind": "return", "external_id": "RET-1", "channel": "store-madrid-01", "occurred_at": LoyaltyAPITests.daysAgo(0.05),
                "original": ["id": saleID], "lines": [["original_line": 2, "quantity": 1] as [String: any Sendable]],
            ])
            #expect(partial.status == .created && partial.object["total"] as? Int == 1_800, "\(partial.text)")
            used = try await Self.usage(app, promotionID)
            #expect(used["total"]?.uses == 2 && used["total"]?.discount == 1_800 - 200, "\(used)")
            // The rest of the sale: the promotion has nothing left on it, so its use comes back too.
            let rest = try await client.call(.post, "/v1/transactions", key: till, json: [
                "kind": "return", "external_id": "RET-2", "channel": "web", "occurred_at": LoyaltyAPITests.daysAgo(0.04),
                "original": ["id": saleID], "lines": [["original_line": 1, "quantity": 1], ["original_line": 2, "quantity": 1] as [String: any Sendable]],
            ])
            #expect(rest.status == .created && rest.object["total"] as? Int == 4_500 + 1_800, "\(rest.text)")
            used = try await Self.usage(app, promotionID)
            #expect(used["total"]?.uses == 1 && used["total"]?.discount == 900 && used["customer"]?.uses == 1, "\(used)")
            let again = try await Self.commit(client, key: till, "R-3", customer: ana, lines: Self.basket, promotions: [promotionID])
            #expect(again.status == .created, "the customer's use came back with the return: \(again.text)")
            try await LoyaltyAPITests.verifySound(app)
        }
    }

    @Test("a budget used up between evaluate and commit refuses the commit cleanly; other changes say evaluation_changed", arguments: TestBackend.available)
    func exhaustedBetweenEvaluateAndCommit(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let till = try await app.key(scopes: ["pos"])
            let web = try await app.key(scopes: ["ecommerce"])
            let promotionID = try await Self.promotion(client, app, [
                "name": "5 off, first sale only", "currency": "EUR", "budget": ["redemptions": 1],
                "effects": [["type": "amount_off_cart", "amount": 500] as [String: any Sendable]],
            ])
            let evaluated = try await client.call(.post, "/v1/checkout/evaluate", key: till, json: [
                "channel": "store-madrid-01", "currency": "EUR", "lines": [["sku": "JUMPER", "quantity": 1, "unit_price": 5_000] as [String: any Sendable]],
            ])
            #expect((evaluated.object["applied"] as? [[String: Any]])?.first?["promotion_id"] as? String == promotionID, "\(evaluated.text)")
            // Meanwhile the web shop takes the last of the budget.
            let online = try await Self.commit(client, key: web, "W-1", lines: [("JUMPER", "women/knitwear", 1, 5_000)], channel: "web")
            #expect(online.status == .created && online.object["discount"] as? Int == 500, "\(online.text)")
            let (transactions, redemptions) = (try await app.count("transactions"), try await app.count("promotion_redemptions"))
            let refused = try await Self.commit(client, key: till, "T-1", lines: [("JUMPER", "women/knitwear", 1, 5_000)], promotions: [promotionID])
            #expect(refused.status == .conflict && refused.problemCode == "promotion_budget_exhausted", "\(refused.text)")
            #expect(refused.object["promotion_id"] as? String == promotionID)
            let (transactionsAfter, redemptionsAfter) = (try await app.count("transactions"), try await app.count("promotion_redemptions"))
            #expect(transactionsAfter == transactions && redemptionsAfter == redemptions)
            #expect(try await Self.usage(app, promotionID)["total"]?.uses == 1)

            // Told the cart has no promotion, when one now applies: the price shown is not the price.
            let newer = try await Self.promotion(client, app, ["name": "Everything 10 %", "effects": [["type": "percent_off_cart", "percent": 10] as [String: any Sendable]]])
            let changed = try await Self.commit(client, key: till, "T-2", lines: [("JUMPER", "women/knitwear", 1, 5_000)], promotions: [])
            #expect(changed.status == .conflict && changed.problemCode == "evaluation_changed", "\(changed.text)")
            #expect(changed.object["newly_applied"] as? [String] == [newer])
            // Without `promotions` the commit takes what applies now.
            let plain = try await Self.commit(client, key: till, "T-3", lines: [("JUMPER", "women/knitwear", 1, 5_000)])
            #expect(plain.status == .created && plain.object["discount"] as? Int == 500, "\(plain.text)")
        }
    }

    @Test("64 clients committing against a hot budget never take more than it", arguments: TestBackend.available)
    func hotBudget(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let promotionID = try await Self.promotion(client, app, [
                "name": "Flash 1 off", "currency": "EUR", "budget": ["amount": 1_000, "redemptions": 50] as [String: any Sendable],
                "effects": [["type": "amount_off_cart", "amount": 100] as [String: any Sendable]],
            ])
            let keys = [try await app.key(scopes: ["pos"]), try await app.key(scopes: ["ecommerce"])]
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<64 {
                    group.addTask {
                        let response = try await Self.commit(
                            client, key: keys[index % 2], "HOT-\(index)", lines: [("SOCKS", "men/socks", 1, 500)],
                            promotions: index.isMultiple(of: 3) ? nil : [promotionID], channel: index % 2 == 0 ? "store-madrid-01" : "web")
                        if response.status == .created { return "discount \(response.object["discount"] as? Int ?? -1)" }
                        return "\(response.status.code) \(response.problemCode ?? response.text)"
                    }
                }
                return try await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
            }
            // Ten sales got the 1.00 off; the rest were refused, or (without `promotions`) sold at full price.
            #expect(outcomes["discount 100"] == 10, "\(outcomes)")
            #expect((outcomes["discount 100"] ?? 0) + (outcomes["discount 0"] ?? 0) + (outcomes["409 promotion_budget_exhausted"] ?? 0) == 64, "\(outcomes)")
            let used = try await Self.usage(app, promotionID)
            #expect(used["total"]?.uses == 10 && used["total"]?.discount == 1_000, "\(used)")
            #expect(try await app.count("promotion_redemptions") == 10)
            let left = try await app.services.database.read { sql in
                try await PromotionBudgetLedger(tenantID: app.tenantID).available(on: sql, promotionIDs: [promotionID])[promotionID]
            }
            #expect(left.map(Int.init) == 0, "the ledger account gave exactly its budget")
            try await LoyaltyAPITests.verifySound(app)
        }
    }

    @Test("a coupon-unlocked promotion takes the coupon's use with the sale; a full return gives it back", arguments: TestBackend.available)
    func couponUse(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let web = try await app.key(scopes: ["ecommerce"])
            let campaign = try await client.call(.post, "/v1/coupon_campaigns", key: app.adminKey, json: ["name": "Come back", "kind": "unique"])
            let campaignID = try #require(campaign.object["id"] as? String, "\(campaign.text)")
            _ = try await client.call(.post, "/v1/coupon_campaigns/\(campaignID)/codes", key: app.adminKey, json: ["count": 1])
            let csv = try await client.call(.get, "/v1/coupon_campaigns/\(campaignID)/codes.csv", key: app.adminKey)
            let code = String(try #require(csv.text.split(separator: "\n").dropFirst().first?.split(separator: ",").first))
            let promotionID = try await Self.promotion(client, app, [
                "name": "Come back: 15 %", "coupon_campaign_id": campaignID, "effects": [["type": "percent_off_cart", "percent": 15] as [String: any Sendable]],
            ])
            let first = try await Self.commit(client, key: web, "C-1", lines: [("JUMPER", "women/knitwear", 1, 4_000)], codes: [code], promotions: [promotionID],
                                              channel: "web")
            #expect(first.status == .created && first.object["discount"] as? Int == 600, "\(first.text)")
            #expect((first.object["promotions"] as? [[String: Any]])?.first?["coupon_code"] as? String == code)
            let saleID = try #require((first.object["transaction"] as? [String: Any])?["id"] as? String)
            // The code is spent: the same cart elsewhere gets no discount, and says why.
            let second = try await Self.commit(client, key: web, "C-2", lines: [("JUMPER", "women/knitwear", 1, 4_000)], codes: [code], channel: "web")
            #expect(second.status == .created && second.object["discount"] as? Int == 0, "\(second.text)")
            #expect((second.object["codes"] as? [[String: Any]])?.first?["reason"] as? String == "coupon_already_redeemed", "\(second.text)")
            let returned = try await client.call(.post, "/v1/transactions", key: web, json: [
                "kind": "return", "external_id": "C-1-R", "channel": "web", "occurred_at": LoyaltyAPITests.daysAgo(0.05), "original": ["id": saleID],
                "lines": [["original_line": 1, "quantity": 1] as [String: any Sendable]],
            ])
            #expect(returned.status == .created && returned.object["total"] as? Int == 3_400, "\(returned.text)")
            let third = try await Self.commit(client, key: web, "C-3", lines: [("JUMPER", "women/knitwear", 1, 4_000)], codes: [code], channel: "web")
            #expect(third.object["discount"] as? Int == 600, "the return gave the code back: \(third.text)")
        }
    }

    @Test("bad commits and budgets are refused precisely and change nothing", arguments: TestBackend.available)
    func badInput(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let till = try await app.key(scopes: ["pos"])
            let budgets = try await client.call(.post, "/v1/promotions", key: app.adminKey, json: [
                "name": "Bad budget", "budget": ["amount": 0, "redemptions": -1] as [String: any Sendable], "limits": ["per_day": 0],
                "effects": [["type": "percent_off_cart", "percent": 5] as [String: any Sendable]],
            ])
            #expect(budgets.status == .badRequest, "\(budgets.text)")
            #expect(Set((budgets.object["errors"] as? [[String: Any]] ?? []).compactMap { "\($0["field"] ?? ""):\($0["code"] ?? "")" })
                == ["budget.amount:out_of_range", "budget.redemptions:out_of_range", "limits.per_day:out_of_range"], "\(budgets.text)")
            let noCurrency = try await client.call(.post, "/v1/promotions", key: app.adminKey, json: [
                "name": "Budget without currency", "budget": ["amount": 5_000],
                "effects": [["type": "percent_off_cart", "percent": 5] as [String: any Sendable]],
            ])
            #expect((noCurrency.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "currency_required", "\(noCurrency.text)")

            let missing = try await client.call(.post, "/v1/checkout/commit", key: till, json: [
                "channel": "store-madrid-01", "currency": "EUR", "promotions": ["nope"],
                "lines": [["sku": "X", "quantity": -1, "unit_price": 100] as [String: any Sendable]],
            ])
            #expect(missing.status == .badRequest, "\(missing.text)")
            #expect(Set((missing.object["errors"] as? [[String: Any]] ?? []).compactMap { "\($0["field"] ?? ""):\($0["code"] ?? "")" })
                == ["external_id:required", "promotions[0]:unknown_promotion"], "\(missing.text)")
            let negative = try await Self.commit(client, key: till, "B-1", lines: [("X", "men/socks", -2, 100)])
            #expect((negative.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "negative_quantity", "\(negative.text)")
            var body: [String: any Sendable] = [
                "external_id": "B-2", "channel": "store-madrid-01", "currency": "EUR",
                "lines": [["sku": "X", "quantity": 1, "unit_price": 1_000] as [String: any Sendable]],
                "tenders": [["kind": "card", "amount": 900] as [String: any Sendable]],
            ]
            let short = try await client.call(.post, "/v1/checkout/commit", key: till, json: body)
            #expect(short.status.code == 422 && short.problemCode == "tenders_mismatch", "\(short.text)")
            body["currency"] = "JPY"
            let foreign = try await client.call(.post, "/v1/checkout/commit", key: till, json: body)
            #expect((foreign.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "currency_not_accepted", "\(foreign.text)")
            let (transactions, redemptions) = (try await app.count("transactions"), try await app.count("promotion_redemptions"))
            #expect(transactions == 0 && redemptions == 0)
        }
    }

    @Test("an evaluation with wallet lists what the customer can pay with here: in the cart's currency, channel and country", arguments: TestBackend.available)
    func walletTenders(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            _ = try await LoyaltyAPITests.programme(client, app)
            let ana = try await LoyaltyAPITests.customer(client, app, "ana@example.com")
            try await LoyaltyAPITests.sale(client, app, "S-1", customer: ana, lines: [("JUMPER", "women/knitwear", 1, 5_000)])
            let credit = try await client.call(.post, "/v1/customers/\(ana)/store_credit", key: app.adminKey, json: ["amount": 1_500, "reason": "goodwill"])
            #expect(credit.status == .created, "\(credit.text)")
            let webCard = try await client.call(.post, "/v1/gift_cards", key: app.adminKey, json: ["amount": 2_500, "customer_id": ana, "channels": ["web"]])
            #expect(webCard.status == .created, "\(webCard.text)")
            _ = try await client.call(.post, "/v1/gift_cards", key: app.adminKey, json: ["amount": 0, "customer_id": ana])
            func tenders(_ channel: String, wallet: Bool = true) async throws -> [String]? {
                let evaluated = try await client.call(.post, "/v1/checkout/evaluate", key: app.adminKey, json: [
                    "channel": channel, "currency": "EUR", "customer_id": ana, "wallet": wallet,
                    "lines": [["sku": "SOCKS", "quantity": 1, "unit_price": 500] as [String: any Sendable]],
                ])
                #expect(evaluated.status == .ok, "\(evaluated.text)")
                return (evaluated.object["tenders"] as? [[String: Any]])?.map { "\($0["type"] ?? ""):\($0["available"] ?? "")" }
            }
            // The points: 50 for the 50.00 sale, worth 0.50; the empty card is left out, the web-only one is not for the till.
            #expect(try await tenders("store-madrid-01") == ["store_credit:1500", "points:50"])
            #expect(try await tenders("web") == ["gift_card:2500", "store_credit:1500", "points:50"])
            #expect(try await tenders("web", wallet: false) == nil)
        }
    }

    @Test("a commit issues the promotions' coupon and gift card for next time; returning the sale disables the card", arguments: TestBackend.available)
    func issuedForNextTime(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let ana = try await LoyaltyAPITests.customer(client, app, "ana@example.com")
            let till = try await app.key(scopes: ["pos"])
            let unique = try await client.call(.post, "/v1/coupon_campaigns", key: app.adminKey, json: ["name": "Next visit", "kind": "unique"])
            let uniqueID = try #require(unique.object["id"] as? String, "\(unique.text)")
            _ = try await client.call(.post, "/v1/coupon_campaigns/\(uniqueID)/codes", key: app.adminKey, json: ["count": 5])
            let generic = try await client.call(.post, "/v1/coupon_campaigns", key: app.adminKey, json: ["name": "Everyone", "kind": "generic", "code": "ALL5"])
            let refused = try await client.call(.post, "/v1/promotions", key: app.adminKey, json: [
                "name": "Generic next time", "effects": [["type": "issue_coupon", "campaign_id": try #require(generic.object["id"] as? String)] as [String: any Sendable]],
            ])
            #expect((refused.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "not_unique_campaign", "\(refused.text)")
            _ = try await Self.promotion(client, app, [
                "name": "Spend and come back", "currency": "EUR", "condition": "cart.subtotal >= 50.00 EUR",
                "effects": [["type": "issue_coupon", "campaign_id": uniqueID] as [String: any Sendable], ["type": "issue_gift_card", "amount": 1_000]],
            ])
            let committed = try await Self.commit(client, key: till, "N-1", customer: ana, lines: Self.basket)
            #expect(committed.status == .created, "\(committed.text)")
            let issued = try #require(committed.object["issued"] as? [[String: Any]])
            let coupon = try #require(issued.first { $0["type"] as? String == "coupon" }?["coupon_code"] as? String, "\(committed.text)")
            let card = try #require(issued.first { $0["type"] as? String == "gift_card" })
            let cardID = try #require(card["gift_card_id"] as? String)
            #expect(card["gift_card_code"] is String && card["amount"] as? Int == 1_000, "the card's code is shown once, for the receipt")
            let wallet = try await client.call(.get, "/v1/customers/\(ana)/wallet", key: app.adminKey)
            #expect((wallet.object["coupons"] as? [[String: Any]])?.map { $0["code"] as? String } == [coupon], "\(wallet.text)")
            #expect((wallet.object["gift_cards"] as? [[String: Any]])?.first { $0["id"] as? String == cardID }?["balance"] as? Int == 1_000)
            let retry = try await Self.commit(client, key: till, "N-1", customer: ana, lines: Self.basket)
            let replayed = try #require(retry.object["issued"] as? [[String: Any]], "\(retry.text)")
            #expect(retry.status == .ok && replayed.count == 2 && replayed.allSatisfy { $0["gift_card_code"] == nil }, "\(retry.text)")

            let saleID = try #require((committed.object["transaction"] as? [String: Any])?["id"] as? String)
            // Returning part of the sale keeps the card; returning the rest disables it.
            for (number, lines) in [(1, [(3, 1)]), (2, [(1, 1), (2, 2)])] {
                let returned = try await client.call(.post, "/v1/transactions", key: till, json: [
                    "kind": "return", "external_id": "N-1-R\(number)", "channel": "store-madrid-01", "occurred_at": LoyaltyAPITests.daysAgo(0.05),
                    "original": ["id": saleID], "lines": lines.map { ["original_line": $0.0, "quantity": $0.1] as [String: any Sendable] },
                ])
                #expect(returned.status == .created, "\(returned.text)")
                let card = try await client.call(.get, "/v1/gift_cards/\(cardID)", key: app.adminKey)
                #expect(card.object["status"] as? String == (number == 1 ? "active" : "disabled"), "after return \(number): \(card.text)")
            }
        }
    }
}
