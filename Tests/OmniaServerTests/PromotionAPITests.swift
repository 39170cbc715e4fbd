import Foundation
import HTTPTypes
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import Testing

/// Promotions through the real router, on both databases: created with rules and effects, refused
/// precisely when wrong, versioned when edited, and evaluated identically by every channel.
@Suite("Promotions")
struct PromotionAPITests {
    private static let cart: [[String: any Sendable]] = [
        ["sku": "JUMPER", "category": "women/knitwear", "quantity": 1, "unit_price": 5000],
        ["sku": "CARDIGAN", "category": "women/knitwear", "quantity": 1, "unit_price": 4000],
        ["sku": "SCARF", "category": "women/knitwear", "quantity": 1, "unit_price": 2000],
        ["sku": "SOCKS", "category": "men/socks", "quantity": 2, "unit_price": 500],
    ]

    private static func evaluate(_ client: any TestClientProtocol, key: String, channel: String, customer: String? = nil, codes: [String] = [],
                                 at: String = "2026-12-26T10:00:00Z") async throws -> TestResponse {
        var body: [String: any Sendable] = ["channel": channel, "currency": "EUR", "lines": Self.cart, "codes": codes, "at": at, "explain": true]
        if let customer { body["customer_id"] = customer }
        return try await client.call(.post, "/v1/checkout/evaluate", key: key, json: body)
    }

    @Test("a 3-for-2 in knitwear and a gold weekend are created, activated and evaluated alike in every channel", arguments: TestBackend.available)
    func createActivateEvaluate(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let marketer = try await app.key(scopes: ["service"])
            let till = try await app.key(scopes: ["pos"])
            let web = try await app.key(scopes: ["ecommerce"])
            let threeForTwo = try await client.call(.post, "/v1/promotions", key: marketer, json: [
                "name": "3 for 2 knitwear", "status": "active", "priority": 10,
                "effects": [["type": "cheapest_free", "lines": #"category startsWith "women/knitwear""#, "every": 3] as [String: any Sendable]],
            ])
            #expect(threeForTwo.status == .created && threeForTwo.object["version"] as? Int == 1, "\(threeForTwo.text)")
            let goldWeekend = try await client.call(.post, "/v1/promotions", key: marketer, json: [
                "name": "Gold weekend", "condition": #"cart.subtotal >= 50.00 EUR  and context.weekday in ["saturday","sunday"]"#,
                "effects": [["type": "percent_off_cart", "percent": "10"]], "channel_kinds": ["store", "web"],
            ])
            #expect(goldWeekend.status == .created && goldWeekend.object["status"] as? String == "draft", "\(goldWeekend.text)")
            #expect(goldWeekend.object["condition"] as? String == #"cart.subtotal >= 50.00 EUR and context.weekday in ["saturday", "sunday"]"#)
            let goldID = try #require(goldWeekend.object["id"] as? String)

            // A draft does not apply.
            let before = try await Self.evaluate(client, key: till, channel: "store-madrid-01")
            #expect(before.status == .ok, "\(before.text)")
            #expect(before.object["discount"] as? Int == 2_000)
            #expect((before.object["applied"] as? [[String: Any]])?.count == 1)

            let activated = try await client.call(.patch, "/v1/promotions/\(goldID)", key: marketer, json: ["status": "active"])
            #expect(activated.status == .ok && activated.object["version"] as? Int == 1, "a status change is not a new version: \(activated.text)")
            let inStore = try await Self.evaluate(client, key: till, channel: "store-madrid-01")
            let online = try await Self.evaluate(client, key: web, channel: "web")
            // 120.00: the scarf free (20.00), then 10 % of the 100.00 left.
            #expect(inStore.object["discount"] as? Int == 3_000, "\(inStore.text)")
            #expect(inStore.object["total"] as? Int == 9_000)
            let lines = try #require(inStore.object["lines"] as? [[String: Any]])
            #expect(lines.map { $0["discount"] as? Int } == [500, 400, 2_000, 100])
            #expect(lines.map { $0["net_total"] as? Int } == [4_500, 3_600, 0, 900])
            for key in ["discount", "total", "subtotal"] { #expect(online.object[key] as? Int == inStore.object[key] as? Int, "\(key) differs by channel") }
            #expect((online.object["lines"] as? [[String: Any]])?.map { $0["discount"] as? Int } == lines.map { $0["discount"] as? Int })
            // On a Wednesday the weekend promotion says why it does not apply.
            let wednesday = try await Self.evaluate(client, key: till, channel: "store-madrid-01", at: "2026-12-23T10:00:00Z")
            let notApplied = try #require(wednesday.object["not_applied"] as? [[String: Any]])
            #expect(notApplied.first { $0["promotion_id"] as? String == goldID }?["reason"] as? String == "condition_not_met", "\(wednesday.text)")

            // An edit of terms is a new version; the old one stays readable.
            let edited = try await client.call(.patch, "/v1/promotions/\(goldID)", key: marketer, json: ["effects": [["type": "percent_off_cart", "percent": 15] as [String: any Sendable]]])
            #expect(edited.status == .ok && edited.object["version"] as? Int == 2, "\(edited.text)")
            let first = try await client.call(.get, "/v1/promotions/\(goldID)/versions/1", key: web)
            #expect(((first.object["terms"] as? [String: Any])?["effects"] as? [[String: Any]])?.first?["percent"] as? String == "10", "\(first.text)")
            let after = try await Self.evaluate(client, key: web, channel: "web")
            #expect(after.object["discount"] as? Int == 2_000 + 1_500, "the change applies at once: \(after.text)")
            let listed = try await client.call(.get, "/v1/promotions?status=active&limit=1", key: web)
            #expect((listed.object["data"] as? [[String: Any]])?.count == 1 && listed.object["has_more"] as? Bool == true, "\(listed.text)")
        }
    }

    @Test("codes unlock promotions; a wrong code is refused with its reason, never an error", arguments: TestBackend.available)
    func codes(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let marketer = try await app.key(scopes: ["service"])
            let web = try await app.key(scopes: ["ecommerce"])
            let campaign = try await client.call(.post, "/v1/coupon_campaigns", key: marketer, json: ["name": "Welcome", "kind": "generic", "code": "HELLO5"])
            let campaignID = try #require(campaign.object["id"] as? String, "\(campaign.text)")
            _ = try await client.call(.post, "/v1/promotions", key: marketer, json: [
                "name": "Welcome 10", "status": "active", "code": "welcome10", "effects": [["type": "percent_off_cart", "percent": 10] as [String: any Sendable]],
            ])
            let fiveOff = try await client.call(.post, "/v1/promotions", key: marketer, json: [
                "name": "Coupon 5 off", "status": "active", "coupon_campaign_id": campaignID, "currency": "EUR", "description": "for newsletter readers",
                "effects": [["type": "amount_off_cart", "amount": 500] as [String: any Sendable], ["type": "free_shipping"]],
            ])
            let fiveOffID = try #require(fiveOff.object["id"] as? String, "\(fiveOff.text)")
            // Its amounts are euros: a new currency needs the effects again; an empty description clears it.
            let recurrency = try await client.call(.patch, "/v1/promotions/\(fiveOffID)", key: marketer, json: ["currency": "SEK"])
            #expect((recurrency.object["errors"] as? [[String: Any]])?.contains { $0["code"] as? String == "effects_required" } == true, "\(recurrency.text)")
            let cleared = try await client.call(.patch, "/v1/promotions/\(fiveOffID)", key: marketer, json: ["description": ""])
            #expect(cleared.status == .ok && cleared.object["description"] == nil && cleared.object["version"] as? Int == 2, "\(cleared.text)")
            let none = try await Self.evaluate(client, key: web, channel: "web")
            #expect(none.object["discount"] as? Int == 0 && (none.object["not_applied"] as? [[String: Any]])?.allSatisfy { $0["reason"] as? String == "code_required" } == true)
            let both = try await Self.evaluate(client, key: web, channel: "web", codes: ["Welcome10", "hello5", "NOPE99"])
            #expect(both.status == .ok, "\(both.text)")
            #expect(both.object["discount"] as? Int == 1_200 + 500 && both.object["free_shipping"] as? Bool == true, "\(both.text)")
            let codes = try #require(both.object["codes"] as? [[String: Any]])
            #expect(codes.map { $0["status"] as? String } == ["accepted", "accepted", "rejected"])
            #expect(codes[1]["unlocks"] as? String == campaignID && codes[2]["reason"] as? String == "coupon_not_found")
        }
    }

    @Test("bad promotions and carts are refused with every field named, and change nothing", arguments: TestBackend.available)
    func badInput(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let marketer = try await app.key(scopes: ["service"])
            let web = try await app.key(scopes: ["ecommerce"])
            let bad = try await client.call(.post, "/v1/promotions", key: marketer, json: [
                "name": "Broken", "condition": "cart.subtotal >= 50 and\ncustomer.tier == 3",
                "effects": [["type": "percent_off_cart", "percent": "120"], ["type": "amount_off_cart", "amount": 500, "percent": 5] as [String: any Sendable],
                            ["type": "cheapest_free", "lines": "category startsWith", "every": 3], ["type": "teleport"]],
                "stacking": "exclusive", "stacking_group": "welcome", "schedule": ["starts_on": "2026-12-31", "ends_on": "2026-12-01", "weekdays": ["caturday"]] as [String: any Sendable],
            ])
            #expect(bad.status == .badRequest && bad.problemCode == "validation_failed", "\(bad.text)")
            let errors = try #require(bad.object["errors"] as? [[String: Any]])
            let byField = Dictionary(errors.map { ($0["field"] as? String ?? "", $0["code"] as? String ?? "") }) { first, _ in first }
            #expect(byField["condition"] == "type_mismatch", "\(errors)")
            #expect(errors.first { $0["field"] as? String == "condition" }?["detail"] as? String == "1:15: '>=' orders values of one type (write money with its currency: 50.00 EUR); here a money and a number")
            #expect(byField["effects[0].percent"] == "out_of_range")
            #expect(byField["effects[1].percent"] == "not_for_type")
            #expect(byField["currency"] == "required")
            #expect(byField["effects[2].lines"] == "syntax_error")
            #expect(byField["effects[3].type"] == "invalid_enum")
            #expect(byField["stacking_group"] == "not_for_exclusive")
            #expect(byField["schedule.ends_on"] == "before_start")
            #expect(byField["schedule.weekdays[0]"] == "invalid_enum")
            let json = try await client.call(.post, "/v1/promotions", key: marketer, json: [
                "name": "JSON", "condition_json": ["op": ">=", "args": [["field": "cart.subtotal"], ["money": "50 EURO"]]] as [String: any Sendable],
                "effects": [["type": "free_shipping"]],
            ])
            #expect(json.status == .badRequest, "\(json.text)")
            #expect(((json.object["errors"] as? [[String: Any]])?.first?["detail"] as? String)?.hasPrefix(#"$.args[1].money: '50 EURO' is not a money amount such as "50.00 EUR""#) == true, "\(json.text)")
            let listed = try await client.call(.get, "/v1/promotions", key: web)
            #expect((listed.object["data"] as? [Any])?.isEmpty == true, "nothing was stored: \(listed.text)")

            let sale = try await client.call(.post, "/v1/transactions", key: app.adminKey,
                                             json: SalesFixtures.sale("t-1", lines: [("JUMPER", "women/knitwear", 1, 5000)]))
            #expect(sale.status == .created, "\(sale.text)")
            let sku = try await client.call(.post, "/v1/promotions", key: marketer, json: [
                "name": "Typo", "effects": [["type": "percent_off_lines", "lines": #"sku in ["JUMPER", "JUMPRE"]"#, "percent": 20] as [String: any Sendable]],
            ])
            #expect(sku.status == .created && (sku.object["warnings"] as? [String])?.count == 1
                && (sku.object["warnings"] as? [String])?.first?.contains("JUMPRE") == true, "\(sku.text)")

            let cart = try await client.call(.post, "/v1/checkout/evaluate", key: web, json: [
                "channel": "web", "currency": "SEK", "lines": [["sku": "A", "quantity": -1, "unit_price": 100] as [String: any Sendable], ["quantity": 1, "unit_price": -5]],
                "at": "yesterday",
            ])
            #expect(cart.status == .badRequest, "\(cart.text)")
            let cartErrors = Dictionary(((cart.object["errors"] as? [[String: Any]]) ?? []).map { ($0["field"] as? String ?? "", $0["code"] as? String ?? "") }) { a, _ in a }
            #expect(cartErrors["currency"] == "currency_not_accepted" && cartErrors["lines[0].quantity"] == "negative_quantity", "\(cartErrors)")
            #expect(cartErrors["lines[1].sku"] == "required" && cartErrors["lines[1].unit_price"] != nil && cartErrors["at"] == "invalid_time", "\(cartErrors)")
            let archived = try await client.call(.patch, "/v1/promotions/\(try #require(sku.object["id"] as? String))", key: marketer, json: ["status": "archived"])
            #expect(archived.status == .ok)
            let again = try await client.call(.patch, "/v1/promotions/\(try #require(sku.object["id"] as? String))", key: marketer, json: ["status": "active"])
            #expect(again.status == .conflict && again.problemCode == "promotion_archived")
        }
    }

    @Test("a change made through one server is in another server's next evaluation", arguments: TestBackend.available)
    func catalogAcrossServers(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let marketer = try await app.key(scopes: ["service"])
            // A second server: its own services and compiled catalog over the same database.
            let other = AppServices(config: AppConfig(), database: app.services.database, logger: TestBackend.logger)
            func activeOnOther() async throws -> [String] {
                try await other.database.read { sql in
                    try await other.promotionCatalog.engine(on: sql, tenantID: app.tenantID, services: other).engine.promotions.map(\.name)
                }
            }
            #expect(try await activeOnOther().isEmpty)
            let created = try await client.call(.post, "/v1/promotions", key: marketer, json: [
                "name": "Socks", "status": "active", "effects": [["type": "free_shipping"] as [String: any Sendable]],
            ])
            #expect(try await activeOnOther() == ["Socks"])
            let id = try #require(created.object["id"] as? String)
            _ = try await client.call(.patch, "/v1/promotions/\(id)", key: marketer, json: ["name": "Socks and more"])
            #expect(try await activeOnOther() == ["Socks and more"])
            _ = try await client.call(.patch, "/v1/promotions/\(id)", key: marketer, json: ["status": "paused"])
            #expect(try await activeOnOther().isEmpty)
        }
    }

    @Test("rules read the customer's history, tier and birthday as the live aggregates have them", arguments: TestBackend.available)
    func customerFacts(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let marketer = try await app.key(scopes: ["service"])
            let till = try await app.key(scopes: ["pos"])
            for (index, at) in ["2026-03-01T10:15:00Z", "2026-04-01T10:15:00Z"].enumerated() {
                let sale = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale("t-\(index)", at: at))
                #expect(sale.status == .created, "\(sale.text)")
            }
            let identified = try await client.call(.post, "/v1/identify", key: app.adminKey, json: ["identifiers": [["kind": "email", "value": "ana@example.com"]]])
            let customer = try #require(identified.object["customer_id"] as? String ?? (identified.object["customer"] as? [String: Any])?["id"] as? String,
                                        "\(identified.text)")
            _ = try await client.call(.patch, "/v1/customers/\(customer)", key: app.adminKey, json: ["birth_date": "1990-12-28"])
            _ = try await client.call(.post, "/v1/promotions", key: marketer, json: [
                "name": "Loyal", "status": "active",
                "condition": "customer.orders >= 2 and customer.lifetime_spend >= 79.90 EUR and not customer.first_purchase and customer.days_to_birthday <= 7",
                "effects": [["type": "bonus_points", "points": 50] as [String: any Sendable]],
            ])
            let known = try await Self.evaluate(client, key: till, channel: "store-madrid-01", customer: customer)
            #expect(known.status == .ok && known.object["bonus_points"] as? Int == 50, "\(known.text)")
            #expect(known.object["points_to_earn"] == nil, "no programme yet: \(known.text)")
            let anonymous = try await Self.evaluate(client, key: till, channel: "store-madrid-01")
            #expect(anonymous.object["bonus_points"] as? Int == 0, "\(anonymous.text)")
            // With a programme (a point a euro), the cart of 120.00 would earn 120 points on top of the bonus; an anonymous one nothing.
            let programme = try await client.call(.post, "/v1/loyalty_programmes", key: marketer, json: ["name": "Club", "currency": "EUR"])
            #expect(programme.status == .created, "\(programme.text)")
            let member = try await Self.evaluate(client, key: till, channel: "store-madrid-01", customer: customer)
            #expect(member.object["points_to_earn"] as? Int == 120 && member.object["bonus_points"] as? Int == 50, "\(member.text)")
            #expect(try await Self.evaluate(client, key: till, channel: "store-madrid-01").object["points_to_earn"] == nil)
            let later = try await Self.evaluate(client, key: till, channel: "store-madrid-01", customer: customer, at: "2027-01-15T10:00:00Z")
            #expect(later.object["bonus_points"] as? Int == 0, "the birthday has passed: \(later.text)")
        }
    }

    @Test("an expired code and a code of another channel are refused in the evaluation with their reason; the cart is still evaluated",
          arguments: TestBackend.available)
    func expiredAndForeignCodes(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let marketer = try await app.key(scopes: ["service"])
            let till = try await app.key(scopes: ["pos"])
            var unlocks: [String] = []
            for body: [String: any Sendable] in [
                ["name": "Last winter", "kind": "generic", "code": "OLD5", "starts_at": "2025-01-01T00:00:00Z", "ends_at": "2025-02-01T00:00:00Z"],
                ["name": "Web only", "kind": "generic", "code": "WEB5", "channels": ["web"]],
            ] {
                let campaign = try await client.call(.post, "/v1/coupon_campaigns", key: marketer, json: body)
                let id = try #require(campaign.object["id"] as? String, "\(campaign.text)")
                unlocks.append(id)
                _ = try await client.call(.post, "/v1/promotions", key: marketer, json: [
                    "name": "5 off with \(body["code"] ?? "")", "status": "active", "currency": "EUR", "coupon_campaign_id": id,
                    "effects": [["type": "amount_off_cart", "amount": 500] as [String: any Sendable]],
                ])
            }
            let inStore = try await Self.evaluate(client, key: till, channel: "store-madrid-01", codes: ["old5", "WEB5"])
            #expect(inStore.status == .ok && inStore.object["discount"] as? Int == 0, "\(inStore.text)")
            let codes = try #require(inStore.object["codes"] as? [[String: Any]])
            #expect(codes.map { "\($0["code"] ?? ""):\($0["status"] ?? ""):\($0["reason"] ?? "")" } == [
                "OLD5:rejected:coupon_ended", "WEB5:rejected:instrument_restricted",
            ], "\(inStore.text)")
            #expect((codes[1]["detail"] as? String)?.contains("store-madrid-01") == true, "the reason names the channel: \(inStore.text)")
            let online = try await Self.evaluate(client, key: try await app.key(scopes: ["ecommerce"]), channel: "web", codes: ["WEB5"])
            #expect(online.object["discount"] as? Int == 500, "the same code on the web: \(online.text)")
        }
    }
}
