import Foundation
import HTTPTypes
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

/// Loyalty through the real router, on both databases: programmes and their validation, points
/// earned by sales from any channel (tier and earn rules applied), spent as a tender, taken back
/// in proportion by returns, adjusted by agents, expired, tiers moving up and down, and merges
/// moving points between members and back.
@Suite("Loyalty")
struct LoyaltyAPITests {
    static let tiers: [[String: any Sendable]] = [
        ["code": "member", "name": "Member", "threshold": 0],
        ["code": "gold", "name": "Gold", "threshold": 100, "earn_percent": 150],
    ]

    /// RFC 3339 text for `days` ago: sales in these tests happen recently, whenever the tests run.
    static func daysAgo(_ days: Double) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date().addingTimeInterval(-days * 86_400))
    }

    static func programme(_ client: any TestClientProtocol, _ app: TestApp, _ extra: [String: any Sendable] = [:]) async throws -> String {
        var body: [String: any Sendable] = ["name": "Moda Rewards", "currency": "EUR", "tiers": tiers,
                                            "earn_rules": [["name": "Double points on the web", "channels": ["web"], "earn_percent": 200] as [String: any Sendable]]]
        for (key, value) in extra { body[key] = value }
        let created = try await client.call(.post, "/v1/loyalty_programmes", key: app.adminKey, json: body)
        return try #require(created.object["id"] as? String, "\(created.text)")
    }

    static func customer(_ client: any TestClientProtocol, _ app: TestApp, _ email: String) async throws -> String {
        let created = try await client.call(.post, "/v1/customers", key: app.adminKey, json: [
            "first_name": "Test", "identifiers": [["kind": "email", "value": email]],
        ] as [String: any Sendable])
        return try #require(created.object["id"] as? String, "\(created.text)")
    }

    /// Records a sale (or, with `returning`, a return) and answers its id.
    @discardableResult
    static func sale(_ client: any TestClientProtocol, _ app: TestApp, _ externalID: String, customer: String, channel: String = "store-madrid-01",
                     lines: [(String, String, Int, Int)], daysAgo: Double = 1) async throws -> String {
        let recorded = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale(
            externalID, channel: channel, customer: ["id": customer], lines: lines, at: Self.daysAgo(daysAgo)))
        #expect(recorded.status == .created, "\(recorded.text)")
        return try #require(recorded.object["id"] as? String, "\(recorded.text)")
    }

    static func returned(_ client: any TestClientProtocol, _ app: TestApp, _ externalID: String, sale: String, lines: [(Int, Int)]) async throws {
        let recorded = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: [
            "kind": "return", "external_id": externalID, "channel": "web", "occurred_at": Self.daysAgo(0.5), "original": ["id": sale],
            "lines": lines.map { ["original_line": $0.0, "quantity": $0.1] as [String: any Sendable] },
        ])
        #expect(recorded.status == .created, "\(recorded.text)")
    }

    static func membership(_ client: any TestClientProtocol, _ app: TestApp, _ customer: String) async throws -> [String: Any] {
        let found = try await client.call(.get, "/v1/customers/\(customer)/loyalty", key: app.adminKey)
        return try #require(found.list.first, "\(found.text)")
    }

    static func balance(_ client: any TestClientProtocol, _ app: TestApp, _ customer: String) async throws -> Int? {
        try await membership(client, app, customer)["balance"] as? Int
    }

    static func verifySound(_ app: TestApp) async throws {
        let findings = try await OperatorTools(services: app.services).verifyLedger(tenant: app.tenantID).flatMap(\.findings)
        #expect(findings.isEmpty, "\(findings)")
    }

    @Test("a programme is validated field by field, one is active per currency, and its currency never changes", arguments: TestBackend.available)
    func programmes(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let bad = try await client.call(.post, "/v1/loyalty_programmes", key: app.adminKey, json: [
                "name": "Bad", "currency": "USD", "earn_points": 0, "negative_balance": "maybe", "points_expire_after_days": 99_999,
                "tiers": [["code": "silver", "name": "Silver", "threshold": 10] as [String: any Sendable],
                          ["code": "gold", "name": "Gold", "threshold": 5, "earn_percent": 5_000]],
                "earn_rules": [["name": "Nowhere", "channels": ["mars"], "tiers": ["platinum"], "starts_at": "2026-12-24T00:00:00Z",
                                "ends_at": "2026-12-01T00:00:00Z", "earn_percent": 200] as [String: any Sendable],
                               ["name": "No rate", "categories": [String]()]],
            ] as [String: any Sendable])
            #expect(bad.status == .badRequest)
            let errors = Set((bad.object["errors"] as? [[String: Any]] ?? []).map { "\($0["field"] ?? ""):\($0["code"] ?? "")" })
            #expect(errors == [
                "currency:currency_not_accepted", "earn_points:out_of_range", "negative_balance:invalid_enum", "points_expire_after_days:out_of_range",
                "tiers[0].threshold:first_tier_threshold", "tiers[1].threshold:thresholds_not_ascending", "tiers[1].earn_percent:out_of_range",
                "earn_rules[0].channels:unknown_channel", "earn_rules[0].tiers:unknown_tier", "earn_rules[0].ends_at:ends_before_start",
                "earn_rules[1].categories:empty_list", "earn_rules[1].earn_percent:required",
            ], "\(bad.text)")
            #expect(try await app.count("loyalty_programmes") == 0)
            let till = try await app.key(scopes: ["pos"])
            #expect(try await client.call(.post, "/v1/loyalty_programmes", key: till, json: ["name": "x", "currency": "EUR"]).status == .forbidden)

            let id = try await Self.programme(client, app, ["points_expire_after_days": 365])
            let shown = try await client.call(.get, "/v1/loyalty_programmes/\(id)", key: till)
            #expect(shown.object["earn_points"] as? Int == 1 && shown.object["earn_per_amount"] as? Int == 100 && shown.object["point_value"] as? Int == 1)
            #expect(shown.object["points_expire_after_days"] as? Int == 365 && shown.object["negative_balance"] as? String == "forbid")
            #expect((shown.object["tiers"] as? [[String: Any]])?.map { $0["earn_percent"] as? Int } == [100, 150], "\(shown.text)")
            let second = try await client.call(.post, "/v1/loyalty_programmes", key: app.adminKey, json: ["name": "Again", "currency": "EUR"])
            #expect(second.status == .conflict && second.problemCode == "active_programme_exists" && second.object["programme_id"] as? String == id)
            let inactive = try await client.call(.post, "/v1/loyalty_programmes", key: app.adminKey, json: ["name": "Draft", "currency": "EUR", "status": "inactive"])
            #expect(inactive.status == .created)
            let draft = try #require(inactive.object["id"] as? String)
            let activate = try await client.call(.patch, "/v1/loyalty_programmes/\(draft)", key: app.adminKey, json: ["status": "active"])
            #expect(activate.problemCode == "active_programme_exists")
            let currency = try await client.call(.patch, "/v1/loyalty_programmes/\(id)", key: app.adminKey, json: ["currency": "GBP"])
            #expect((currency.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "immutable")
            let dropGold = try await client.call(.patch, "/v1/loyalty_programmes/\(id)", key: app.adminKey, json: [
                "tiers": [["code": "member", "name": "Member", "threshold": 0] as [String: any Sendable]],
                "earn_rules": [["name": "Gold bonus", "tiers": ["gold"], "earn_percent": 300] as [String: any Sendable]],
            ] as [String: any Sendable])
            #expect((dropGold.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "unknown_tier", "\(dropGold.text)")
            let renamed = try await client.call(.patch, "/v1/loyalty_programmes/\(id)", key: app.adminKey, json: ["name": "Moda Club", "points_expire_after_days": 0])
            #expect(renamed.status == .ok && renamed.object["name"] as? String == "Moda Club" && renamed.object["points_expire_after_days"] == nil)
            #expect((renamed.object["earn_rules"] as? [[String: Any]])?.count == 1, "fields left out are kept")
            let listed = try await client.call(.get, "/v1/loyalty_programmes?limit=1", key: till)
            #expect(listed.list.count == 1 && listed.object["has_more"] as? Bool == true)
            let other = try await app.otherTenant()
            #expect(try await client.call(.get, "/v1/loyalty_programmes/\(id)", key: other.key).status == .notFound)
        }
    }

    @Test("sales earn by tier and rule in every channel, points pay at checkout, returns take back their share, agents adjust", arguments: TestBackend.available)
    func earnSpendReturn(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let fixtures = try await SalesFixtures.make(app, client)
            _ = try await Self.programme(client, app)
            let ana = try await Self.customer(client, app, "ana@example.com")
            let till = try await app.key(scopes: ["pos"])

            // 5000 and 1999 net at a point per euro: 69 points, spread over the lines by largest remainder as [49, 20].
            let first = try await Self.sale(client, app, "S-1", customer: ana, lines: [("SKU-1", "women/knitwear", 2, 2_500), ("SKU-2", "men/shoes", 1, 1_999)])
            var member = try await Self.membership(client, app, ana)
            #expect(member["balance"] as? Int == 69 && (member["tier"] as? [String: Any])?["code"] as? String == "member", "\(member)")
            let lot = try await app.services.database.read { sql in
                try await sql.raw("SELECT line_points FROM loyalty_lots WHERE source_id = \(bind: first)").first(decodingColumn: "line_points", as: String.self)
            }
            #expect(lot == "[49,20]")
            // Double points on the web: 60; 129 qualifying reaches gold at once.
            let second = try await Self.sale(client, app, "W-1", customer: ana, channel: "web", lines: [("SKU-3", "home", 1, 3_000)])
            member = try await Self.membership(client, app, ana)
            #expect(member["balance"] as? Int == 129 && (member["tier"] as? [String: Any])?["code"] as? String == "gold" && member["qualifying_points"] as? Int == 129)
            // Gold earns half as much again.
            _ = try await Self.sale(client, app, "S-2", customer: ana, lines: [("SKU-4", "home", 1, 1_000)])
            #expect(try await Self.balance(client, app, ana) == 144)
            // Returning one of the two knitwear units takes back half of that line's 49: 24.
            try await Self.returned(client, app, "R-1", sale: first, lines: [(1, 1)])
            member = try await Self.membership(client, app, ana)
            #expect(member["balance"] as? Int == 120 && member["qualifying_points"] as? Int == 120)

            // Points pay in any channel: by the customer, without knowing the account.
            let redeemed = try await client.call(.post, "/v1/redemptions", key: till, json: [
                "channel": "store-madrid-01", "customer_id": ana, "instruments": [["type": "points", "amount": 50] as [String: any Sendable]],
            ])
            #expect(redeemed.status == .created, "\(redeemed.text)")
            let part = try #require((redeemed.object["parts"] as? [[String: Any]])?.first)
            #expect(part["unit"] as? String == "points" && part["point_value"] as? Int == 1 && part["instrument_type"] as? String == "points")
            let account = try #require(part["instrument_id"] as? String)
            #expect(try await Self.balance(client, app, ana) == 70)
            let tooMuch = try await client.call(.post, "/v1/redemptions", key: till, json: [
                "channel": "web", "customer_id": ana, "instruments": [["type": "points", "id": account, "amount": 71] as [String: any Sendable]],
            ])
            #expect(tooMuch.status == .conflict && tooMuch.problemCode == "insufficient_funds")
            let bruno = try await Self.customer(client, app, "bruno@example.com")
            let notTheirs = try await client.call(.post, "/v1/redemptions", key: till, json: [
                "channel": "web", "customer_id": bruno, "instruments": [["type": "points", "id": account, "amount": 1] as [String: any Sendable]],
            ])
            #expect(notTheirs.problemCode == "points_not_owned")
            let noCustomer = try await client.call(.post, "/v1/holds", key: till, json: [
                "channel": "web", "instruments": [["type": "points", "amount": 1] as [String: any Sendable]],
            ])
            #expect((noCustomer.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "required")

            // A hold of 30 points with a card; a capture of 2,020 (cents) takes the card first, then 20 points; a refund of 10 cents gives back 10 points.
            let card = try await client.call(.post, "/v1/gift_cards", key: app.adminKey, json: ["amount": 2_000])
            let cardID = try #require(card.object["id"] as? String)
            let held = try await client.call(.post, "/v1/holds", key: till, json: [
                "channel": "web", "customer_id": ana, "instruments": [["type": "gift_card", "id": cardID, "amount": 2_000] as [String: any Sendable],
                                                                      ["type": "points", "id": account, "amount": 30]],
            ])
            let holdID = try #require(held.object["id"] as? String, "\(held.text)")
            #expect((try await Self.membership(client, app, ana))["available"] as? Int == 40)
            let captured = try await client.call(.post, "/v1/holds/\(holdID)/capture", key: till, json: ["amount": 2_020])
            #expect((captured.object["parts"] as? [[String: Any]])?.map { $0["captured"] as? Int } == [2_000, 20], "\(captured.text)")
            #expect(try await Self.balance(client, app, ana) == 50)
            let refunded = try await client.call(.post, "/v1/holds/\(holdID)/refund", key: till, json: ["amount": 2_010])
            #expect((refunded.object["parts"] as? [[String: Any]])?.map { $0["refunded"] as? Int } == [2_000, 10], "\(refunded.text)")
            #expect(try await Self.balance(client, app, ana) == 60)

            // The rest of the first sale comes back: 25 + 20 more points.
            try await Self.returned(client, app, "R-2", sale: first, lines: [(1, 1), (2, 1)])
            #expect(try await Self.balance(client, app, ana) == 15)
            // The web sale's 60 points were partly spent: under `forbid` the 15 left are taken and 45 written off.
            try await Self.returned(client, app, "R-3", sale: second, lines: [(1, 1)])
            member = try await Self.membership(client, app, ana)
            #expect(member["balance"] as? Int == 0 && member["debt"] as? Int == 0)
            let reversed = try await app.services.database.read { sql in
                try await sql.raw("SELECT data FROM events WHERE type = 'loyalty.points_reversed' ORDER BY id DESC LIMIT 1").first(decodingColumn: "data", as: String.self)
            }
            #expect(reversed?.contains("\"written_off\":45") == true, "\(reversed ?? "")")

            // Agents adjust, with a reason, audited.
            let agent = try await app.key(scopes: ["service"])
            let added = try await client.call(.post, "/v1/customers/\(ana)/loyalty/adjustments", key: agent, json: ["points": 100, "reason": "apology"])
            #expect(added.status == .created && added.object["balance"] as? Int == 100, "\(added.text)")
            let overdrawn = try await client.call(.post, "/v1/customers/\(ana)/loyalty/adjustments", key: agent, json: ["points": -150, "reason": "fix"])
            #expect(overdrawn.status == .conflict && overdrawn.problemCode == "insufficient_points" && overdrawn.object["available"] as? Int == 100)
            let taken = try await client.call(.post, "/v1/customers/\(ana)/loyalty/adjustments", key: agent, json: ["points": -40, "reason": "double credit"])
            #expect(taken.object["balance"] as? Int == 60)
            #expect(try await client.call(.post, "/v1/customers/\(ana)/loyalty/adjustments", key: till, json: ["points": 1, "reason": "x"]).status == .forbidden)
            let noReason = try await client.call(.post, "/v1/customers/\(ana)/loyalty/adjustments", key: agent, json: ["points": 0])
            #expect(Set((noReason.object["errors"] as? [[String: Any]] ?? []).map { $0["field"] as? String ?? "" }) == ["points", "reason"])
            #expect(try await app.count("audit_log WHERE action = 'loyalty.adjust'") == 2)

            // Every movement is in her timeline, and they add up to her balance.
            let timeline = try await client.call(.get, "/v1/customers/\(ana)/timeline?type=points&limit=100", key: till)
            #expect(Set(timeline.list.compactMap { $0["movement"] as? String }) == ["earned", "spent", "refunded", "reversed", "adjusted"], "\(timeline.text)")
            #expect(timeline.list.count == 11 && timeline.list.compactMap { $0["points"] as? Int }.reduce(0, +) == 60)
            // An adjustment, either way, carries the agent's reason.
            let adjustedBecause = timeline.list.filter { $0["movement"] as? String == "adjusted" }.compactMap { $0["reason"] as? String }
            #expect(Set(adjustedBecause) == ["apology", "double credit"], "\(timeline.text)")
            #expect(try await client.call(.get, "/v1/customers/\(ana)/timeline?type=points&channel_id=\(fixtures.webChannelID)", key: till).list.isEmpty)

            let wallet = try await client.call(.get, "/v1/customers/\(ana)/wallet", key: till)
            #expect((wallet.object["points"] as? [[String: Any]])?.first?["available_value"] as? Int == 60, "\(wallet.text)")
            let link = try await client.call(.post, "/v1/customers/\(ana)/wallet_link", key: agent, json: [:])
            let page = try await client.call(.get, (link.object["path"] as? String ?? "") + "?format=html", key: nil)
            #expect(page.text.contains("60 points") && page.text.contains("Gold") && page.text.contains("0.60 EUR"), "\(page.text)")
            let types = try await app.services.database.read { sql in
                try await sql.raw("SELECT DISTINCT type FROM events WHERE type LIKE 'loyalty.%'").all(decodingColumn: "type", as: String.self)
            }
            #expect(Set(types) == ["loyalty.points_earned", "loyalty.points_reversed", "loyalty.points_adjusted", "loyalty.tier_changed"])
            try await Self.verifySound(app)
        }
    }

    @Test("under `allow` a return leaves a debt the next earnings repay; lots expire; a tier drops when its window ends", arguments: TestBackend.available)
    func debtExpiryAndTiers(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let programme = try await Self.programme(client, app, ["negative_balance": "allow", "points_expire_after_days": 365])
            let ana = try await Self.customer(client, app, "ana@example.com")
            let sale = try await Self.sale(client, app, "S-1", customer: ana, lines: [("SKU-1", "home", 1, 10_000)])
            #expect((try await Self.membership(client, app, ana)["tier"] as? [String: Any])?["code"] as? String == "gold")
            let spent = try await client.call(.post, "/v1/redemptions", key: app.adminKey, json: [
                "channel": "web", "customer_id": ana, "instruments": [["type": "points", "amount": 80] as [String: any Sendable]],
            ])
            #expect(spent.status == .created)
            try await Self.returned(client, app, "R-1", sale: sale, lines: [(1, 1)])
            var member = try await Self.membership(client, app, ana)
            #expect(member["balance"] as? Int == -80 && member["debt"] as? Int == 80 && member["available"] as? Int == 0, "\(member)")
            #expect((member["tier"] as? [String: Any])?["code"] as? String == "gold", "a tier reached is kept for its window")
            // Gold earns 150 on 10,000 cents... 75 on 5,000: all of it repays the debt.
            _ = try await Self.sale(client, app, "S-2", customer: ana, lines: [("SKU-2", "home", 1, 5_000)])
            #expect(try await Self.balance(client, app, ana) == -5)
            _ = try await Self.sale(client, app, "S-3", customer: ana, lines: [("SKU-3", "home", 1, 2_000)])
            member = try await Self.membership(client, app, ana)
            #expect(member["balance"] as? Int == 25 && member["debt"] as? Int == 0)

            // A year passes for the last lot: it expires.
            try await app.services.database.transaction { sql in
                try await sql.raw("UPDATE loyalty_lots SET expires_at = 1 WHERE remaining > 0").run()
            }
            let swept = try await LoyaltySweep(services: app.services).sweep()
            #expect(swept.points == 25)
            member = try await Self.membership(client, app, ana)
            #expect(member["balance"] as? Int == 0 && (member["next_expiries"] as? [Any])?.isEmpty == true)
            // The window ends with 105 qualifying of 100 for gold kept; with the earnings a year old, gold is lost.
            try await app.services.database.transaction { sql in
                try await sql.raw("UPDATE loyalty_members SET tier_until = 1").run()
            }
            #expect(try await LoyaltySweep(services: app.services).sweep().tiers == 1)
            #expect((try await Self.membership(client, app, ana)["tier"] as? [String: Any])?["code"] as? String == "gold")
            try await app.services.database.transaction { sql in
                try await sql.raw("UPDATE loyalty_members SET tier_until = 1").run()
                try await sql.raw("UPDATE loyalty_lots SET earned_at = 1").run()
            }
            #expect(try await LoyaltySweep(services: app.services).sweep().tiers == 1)
            member = try await Self.membership(client, app, ana)
            #expect((member["tier"] as? [String: Any])?["code"] as? String == "member" && member["qualifying_points"] as? Int == 0)
            _ = programme
            try await Self.verifySound(app)
        }
    }

    @Test("a merge moves points and lots to the survivor with the higher tier; an unmerge moves back what is left", arguments: TestBackend.available)
    func merges(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            _ = try await Self.programme(client, app)
            let ana = try await Self.customer(client, app, "ana@example.com")
            let bruno = try await Self.customer(client, app, "bruno@example.com")
            let anaSale = try await Self.sale(client, app, "S-1", customer: ana, lines: [("SKU-1", "home", 1, 3_000)])
            let brunoSale = try await Self.sale(client, app, "S-2", customer: bruno, lines: [("SKU-2", "home", 1, 10_000)])
            let agent = try await app.key(scopes: ["service"])
            let merged = try await client.call(.post, "/v1/customers/\(ana)/merge", key: agent, json: ["customer_id": bruno, "reason": "same person"])
            #expect(merged.status == .ok && merged.object["id"] as? String == ana, "\(merged.text)")
            var member = try await Self.membership(client, app, ana)
            #expect(member["balance"] as? Int == 130 && (member["tier"] as? [String: Any])?["code"] as? String == "gold", "\(member)")
            // The move between the two members' accounts is in the merged timeline once, though both its sides are the cluster's.
            let timeline = try await client.call(.get, "/v1/customers/\(ana)/timeline?type=points&limit=100", key: app.adminKey)
            #expect(timeline.list.compactMap { $0["movement"] as? String }.sorted() == ["earned", "earned", "moved"], "\(timeline.text)")
            // Each earning names the sale that earned it.
            let earnedFrom = timeline.list.filter { $0["movement"] as? String == "earned" }.compactMap { $0["reason"] as? String }
            #expect(Set(earnedFrom) == [anaSale, brunoSale], "\(timeline.text)")
            // The survivor spends first the lot earned first: Ana's own.
            let spent = try await client.call(.post, "/v1/redemptions", key: app.adminKey, json: [
                "channel": "web", "customer_id": ana, "instruments": [["type": "points", "amount": 20] as [String: any Sendable]],
            ])
            #expect(spent.status == .created, "\(spent.text)")
            let unmerged = try await client.call(.post, "/v1/customers/\(bruno)/unmerge", key: agent, json: [:])
            #expect(unmerged.status == .ok, "\(unmerged.text)")
            member = try await Self.membership(client, app, ana)
            #expect(member["balance"] as? Int == 10 && (member["tier"] as? [String: Any])?["code"] as? String == "member", "\(member)")
            let brunoMember = try await Self.membership(client, app, bruno)
            #expect(brunoMember["balance"] as? Int == 100 && (brunoMember["tier"] as? [String: Any])?["code"] as? String == "gold")
            #expect(try await app.count("loyalty_merge_moves") == 1)
            try await Self.verifySound(app)
        }
    }

    @Test("64 clients spending one points balance at once take exactly what it holds", arguments: TestBackend.available)
    func concurrentSpend(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            _ = try await Self.programme(client, app)
            let ana = try await Self.customer(client, app, "ana@example.com")
            let added = try await client.call(.post, "/v1/customers/\(ana)/loyalty/adjustments", key: app.adminKey, json: ["points": 100, "reason": "test"])
            let account = try #require(added.object["id"] as? String, "\(added.text)")
            let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        let response = try await client.call(.post, "/v1/redemptions", key: app.adminKey, json: [
                            "channel": "web", "customer_id": ana, "instruments": [["type": "points", "id": account, "amount": 3] as [String: any Sendable]],
                        ])
                        return (response.status, response.problemCode)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0.0 == .created }.count == 33)
            #expect(statuses.filter { $0.0 == .conflict && $0.1 == "insufficient_funds" }.count == 31, "\(statuses)")
            #expect(try await Self.balance(client, app, ana) == 1)
            try await Self.verifySound(app)
        }
    }

    @Test("sales earn whichever path records them: a bulk import, and a receipt claimed later", arguments: TestBackend.available)
    func everyPathEarns(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            _ = try await Self.programme(client, app)
            let at = Self.daysAgo(2)
            let records = (1...3).map { index in
                """
                {"external_id":"B-\(index)","channel":"store-madrid-01","occurred_at":"\(at)","currency":"EUR",\
                "customer":{"email":"ana@example.com"},"lines":[{"sku":"A","category":"home","quantity":2,"unit_price":500}]}
                """
            }
            let bulk = try await client.call(.post, "/v1/transactions/bulk", key: app.adminKey, rawBody: records.joined(separator: "\n") + "\n",
                                             headers: [.contentType: "application/x-ndjson"])
            #expect(bulk.object["created"] as? Int == 3, "\(bulk.text)")
            let ana = try #require(try await app.services.database.read { sql in
                try await sql.raw("SELECT customer_id FROM transactions LIMIT 1").first(decodingColumn: "customer_id", as: String.self)
            })
            #expect(try await Self.balance(client, app, ana) == 30)
            // A sale and its return in one file: the return takes back what the sale earned just before.
            let withReturn = """
                {"external_id":"B-4","channel":"store-madrid-01","occurred_at":"\(at)","currency":"EUR",\
                "customer":{"email":"ana@example.com"},"lines":[{"sku":"A","category":"home","quantity":2,"unit_price":500}]}
                {"kind":"return","external_id":"BR-4","channel":"store-madrid-01","occurred_at":"\(Self.daysAgo(1))",\
                "original":{"external_id":"B-4"},"lines":[{"original_line":1,"quantity":1}]}

                """
            let both = try await client.call(.post, "/v1/transactions/bulk", key: app.adminKey, rawBody: withReturn,
                                             headers: [.contentType: "application/x-ndjson"])
            #expect(both.object["created"] as? Int == 2, "\(both.text)")
            #expect(try await Self.balance(client, app, ana) == 35)

            let anonymous = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale(
                "A-1", customer: nil, lines: [("SKU-1", "home", 2, 1_000)], at: Self.daysAgo(1)))
            let code = try #require(anonymous.object["claim_code"] as? String, "\(anonymous.text)")
            let sale = try #require(anonymous.object["id"] as? String)
            try await Self.returned(client, app, "AR-1", sale: sale, lines: [(1, 1)])
            #expect(try await Self.balance(client, app, ana) == 35, "an anonymous sale earns nothing")
            let claimed = try await client.call(.post, "/v1/receipts/claim", key: app.adminKey, json: ["claim_code": code, "customer_id": ana])
            #expect(claimed.status == .ok || claimed.status == .created, "\(claimed.text)")
            // 20 earned, 10 taken back by the return claimed with it.
            #expect(try await Self.balance(client, app, ana) == 45)
            // A returning member's qualifying points (45), read with the chunk's lookups before its
            // transaction, count with the 60 its sale earns: 105 reaches gold.
            let upgrade = """
                {"external_id":"B-5","channel":"store-madrid-01","occurred_at":"\(at)","currency":"EUR",\
                "customer":{"email":"ana@example.com"},"lines":[{"sku":"A","category":"home","quantity":6,"unit_price":1000}]}

                """
            let upgraded = try await client.call(.post, "/v1/transactions/bulk", key: app.adminKey, rawBody: upgrade,
                                                 headers: [.contentType: "application/x-ndjson"])
            #expect(upgraded.object["created"] as? Int == 1, "\(upgraded.text)")
            let member = try await Self.membership(client, app, ana)
            #expect(member["balance"] as? Int == 105 && member["qualifying_points"] as? Int == 105, "\(member)")
            #expect((member["tier"] as? [String: Any])?["code"] as? String == "gold", "\(member)")
            try await Self.verifySound(app)
        }
    }
}
