import Foundation
import HTTPTypes
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import Testing

/// Coupons through the real router, on both databases: a generic code with total and per-customer
/// limits, a unique campaign's generated codes exported and assigned, used through holds and
/// redemptions; a single-use code taken by 64 clients at once is used once.
@Suite("Coupons")
struct CouponAPITests {
    private static func customer(_ client: any TestClientProtocol, _ app: TestApp, _ name: String) async throws -> String {
        let created = try await client.call(.post, "/v1/customers", key: app.adminKey, json: ["first_name": name, "last_name": "Test"])
        return try #require(created.object["id"] as? String, "\(created.text)")
    }

    private static func coupon(_ code: String) -> [String: any Sendable] { ["type": "coupon", "code": code] }

    private static func redeem(_ client: any TestClientProtocol, key: String, _ code: String, customer: String?, channel: String = "web") async throws -> TestResponse {
        var body: [String: any Sendable] = ["channel": channel, "instruments": [Self.coupon(code)]]
        if let customer { body["customer_id"] = customer }
        return try await client.call(.post, "/v1/redemptions", key: key, json: body)
    }

    @Test("a generic code keeps its total and per-customer limits in every channel; a refund gives a use back", arguments: TestBackend.available)
    func genericLimits(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let agent = try await app.key(scopes: ["service"])
            let web = try await app.key(scopes: ["ecommerce"])
            let created = try await client.call(.post, "/v1/coupon_campaigns", key: agent, json: [
                "name": "Summer", "kind": "generic", "code": "summer10", "total_limit": 3, "per_customer_limit": 1, "channels": ["web"],
            ])
            #expect(created.status == .created && created.object["code"] as? String == "SUMMER10", "\(created.text)")
            let (ana, bruno, carla, dan) = (try await Self.customer(client, app, "Ana"), try await Self.customer(client, app, "Bruno"),
                                            try await Self.customer(client, app, "Carla"), try await Self.customer(client, app, "Dan"))

            let valid = try await client.call(.get, "/v1/coupons/validate?code=Summer10&channel=web&customer_id=\(ana)", key: web)
            #expect(valid.status == .ok && valid.object["status"] as? String == "available", "\(valid.text)")
            let inStore = try await client.call(.get, "/v1/coupons/validate?code=SUMMER10&channel=store-madrid-01", key: web)
            #expect(inStore.status == .conflict && inStore.problemCode == "instrument_restricted")
            #expect(try await client.call(.get, "/v1/coupons/validate?code=WINTER99&channel=web", key: web).problemCode == "coupon_not_found")

            #expect(try await Self.redeem(client, key: web, "SUMMER10", customer: nil).problemCode == "coupon_needs_customer")
            let first = try await Self.redeem(client, key: web, "summer10", customer: ana)
            #expect(first.status == .created, "\(first.text)")
            let part = try #require((first.object["parts"] as? [[String: Any]])?.first)
            #expect(part["instrument_type"] as? String == "coupon" && part["unit"] as? String == "uses" && part["transfer_id"] == nil)
            #expect(try await Self.redeem(client, key: web, "SUMMER10", customer: ana).problemCode == "coupon_customer_limit_reached")
            let second = try await Self.redeem(client, key: web, "SUMMER10", customer: bruno)
            #expect(try await Self.redeem(client, key: web, "SUMMER10", customer: carla).status == .created)
            #expect(try await Self.redeem(client, key: web, "SUMMER10", customer: dan).problemCode == "coupon_limit_reached")
            // Bruno's order is returned: the whole refund gives his use back, and Dan can use the code.
            let secondID = try #require(second.object["id"] as? String)
            let refunded = try await client.call(.post, "/v1/holds/\(secondID)/refund", key: web, json: [:])
            #expect(refunded.status == .ok && (refunded.object["parts"] as? [[String: Any]])?.first?["refunded"] as? Int == 1, "\(refunded.text)")
            #expect(try await Self.redeem(client, key: web, "SUMMER10", customer: dan).status == .created)
            let campaign = try await client.call(.get, "/v1/coupon_campaigns/\(try #require(created.object["id"] as? String))", key: web)
            #expect(campaign.object["uses"] as? Int == 3)
        }
    }

    @Test("a unique campaign's codes are generated, exported, assigned, held, released and used once", arguments: TestBackend.available)
    func uniqueCodes(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let agent = try await app.key(scopes: ["service"])
            let till = try await app.key(scopes: ["pos"])
            let created = try await client.call(.post, "/v1/coupon_campaigns", key: agent, json: ["name": "Welcome back", "kind": "unique"])
            let campaignID = try #require(created.object["id"] as? String, "\(created.text)")
            let generated = try await client.call(.post, "/v1/coupon_campaigns/\(campaignID)/codes", key: agent, json: ["count": 100])
            #expect(generated.status == .ok && generated.object["code_count"] as? Int == 100, "\(generated.text)")
            let csv = try await client.call(.get, "/v1/coupon_campaigns/\(campaignID)/codes.csv", key: agent)
            let lines = csv.text.split(separator: "\n")
            #expect(csv.status == .ok && csv.headers[.contentType]?.hasPrefix("text/csv") == true && lines.count == 101 && lines[0] == "code,status,customer_id")
            #expect(Set(lines.dropFirst()).count == 100, "every code once")
            let code = String(try #require(lines.dropFirst().first?.split(separator: ",").first))
            #expect(CouponCode.normalize(code) != nil)

            let ana = try await Self.customer(client, app, "Ana")
            let bruno = try await Self.customer(client, app, "Bruno")
            let assigned = try await client.call(.post, "/v1/coupons/assign", key: agent, json: ["code": code, "customer_id": ana])
            #expect(assigned.status == .ok && assigned.object["customer_id"] as? String == ana, "\(assigned.text)")
            #expect(try await client.call(.post, "/v1/coupons/assign", key: agent, json: ["code": code, "customer_id": bruno]).problemCode
                    == "coupon_assigned_to_another_customer")
            let wallet = try await client.call(.get, "/v1/customers/\(ana)/wallet", key: till)
            #expect((wallet.object["coupons"] as? [[String: Any]])?.map { $0["code"] as? String } == [code], "\(wallet.text)")
            #expect(try await Self.redeem(client, key: till, code, customer: bruno, channel: "store-madrid-01").problemCode
                    == "coupon_assigned_to_another_customer")

            // Held at a till: gone online until the hold is voided, and used once it is captured.
            let held = try await client.call(.post, "/v1/holds", key: till, json: [
                "channel": "store-madrid-01", "customer_id": ana, "instruments": [Self.coupon(code)],
            ])
            let holdID = try #require(held.object["id"] as? String, "\(held.text)")
            #expect(try await client.call(.get, "/v1/coupons/validate?code=\(code)&channel=web&customer_id=\(ana)", key: till).problemCode
                    == "coupon_already_redeemed")
            #expect(try await client.call(.post, "/v1/holds/\(holdID)/void", key: till, json: [:]).status == .ok)
            #expect(try await client.call(.get, "/v1/coupons/validate?code=\(code)&channel=web&customer_id=\(ana)", key: till).status == .ok)
            let again = try await client.call(.post, "/v1/holds", key: till, json: [
                "channel": "store-madrid-01", "customer_id": ana, "instruments": [Self.coupon(code)],
            ])
            let againID = try #require(again.object["id"] as? String)
            let captured = try await client.call(.post, "/v1/holds/\(againID)/capture", key: till, json: [:])
            #expect(captured.status == .ok && (captured.object["parts"] as? [[String: Any]])?.first?["captured"] as? Int == 1, "\(captured.text)")
            #expect(try await Self.redeem(client, key: till, code, customer: ana).problemCode == "coupon_already_redeemed")
            let after = try await client.call(.get, "/v1/customers/\(ana)/wallet", key: till)
            #expect((after.object["coupons"] as? [[String: Any]])?.isEmpty == true, "a used coupon leaves the wallet")
        }
    }

    @Test("generations of one campaign at once each add all their codes to its count", arguments: TestBackend.available)
    func concurrentGeneration(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let agent = try await app.key(scopes: ["service"])
            let campaign = try await client.call(.post, "/v1/coupon_campaigns", key: agent, json: ["name": "Spring", "kind": "unique"])
            let campaignID = try #require(campaign.object["id"] as? String)
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        let generated = try await client.call(.post, "/v1/coupon_campaigns/\(campaignID)/codes", key: agent, json: ["count": 3_000])
                        #expect(generated.status == .ok && generated.object["generated"] as? Int == 3_000, "\(generated.text)")
                        return generated.object["code_count"] as? Int ?? 0
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            // Each answer counts its own codes and those committed before it; the last counts all.
            #expect(counts.sorted() == [3_000, 6_000, 9_000, 12_000], "\(counts)")
            let stored = try await client.call(.get, "/v1/coupon_campaigns/\(campaignID)", key: agent)
            #expect(stored.object["code_count"] as? Int == 12_000, "\(stored.text)")
            #expect(try await app.count("coupon_codes") == 12_000)
        }
    }

    @Test("64 clients using one single-use code at once: one uses it, the others get coupon_already_redeemed", arguments: TestBackend.available)
    func concurrentUse(backend: TestBackend) async throws {
        // One key sends all 64: its code-lookup allowance (bursts of 50) is lifted for the test.
        try await TestApp.run(backend, configure: { $0.codeLookupsPerMinute = 0 }) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let agent = try await app.key(scopes: ["service"])
            let campaign = try await client.call(.post, "/v1/coupon_campaigns", key: agent, json: ["name": "Flash", "kind": "unique"])
            let campaignID = try #require(campaign.object["id"] as? String)
            _ = try await client.call(.post, "/v1/coupon_campaigns/\(campaignID)/codes", key: agent, json: ["count": 1])
            let csv = try await client.call(.get, "/v1/coupon_campaigns/\(campaignID)/codes.csv", key: agent)
            let code = String(try #require(csv.text.split(separator: "\n").dropFirst().first?.split(separator: ",").first))
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<64 {
                    group.addTask {
                        let response = try await Self.redeem(client, key: app.adminKey, code, customer: nil, channel: index.isMultiple(of: 2) ? "web" : "store-madrid-01")
                        return response.status == .created ? "created" : "\(response.status.code) \(response.problemCode ?? "")"
                    }
                }
                return try await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
            }
            #expect(outcomes == ["created": 1, "409 coupon_already_redeemed": 63])
            let stored = try await client.call(.get, "/v1/coupon_campaigns/\(campaignID)", key: agent)
            #expect(stored.object["uses"] as? Int == 1)
        }
    }

    @Test("bad campaigns and codes are refused precisely and change nothing", arguments: TestBackend.available)
    func badInput(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let agent = try await app.key(scopes: ["service"])
            func codes(_ body: [String: any Sendable]) async throws -> [String] {
                let response = try await client.call(.post, "/v1/coupon_campaigns", key: agent, json: body)
                #expect(response.status == .badRequest, "\(response.text)")
                return (response.object["errors"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
            }
            #expect(try await codes(["kind": "generic", "code": "X1"]) == ["required", "invalid_code"])
            #expect(try await codes(["name": "A", "kind": "bogus"]) == ["invalid_enum"])
            #expect(try await codes(["name": "A", "kind": "unique", "code": "ABC", "total_limit": 5]) == ["not_for_unique", "not_for_unique"])
            #expect(try await codes(["name": "A", "kind": "generic", "code": "ABC", "starts_at": "2027-01-02T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"])
                    == ["before_start"])
            #expect(try await codes(["name": "A", "kind": "generic", "code": "ABC", "per_customer_limit": 0, "channels": ["nowhere"]])
                    == ["out_of_range", "unknown_channel"])
            #expect(try await codes(["name": "A", "kind": "unique", "channels": ["web\u{0}"]]) == ["invalid_characters"], "a NUL never reaches the database")
            #expect(try await app.count("coupon_campaigns") == 0)
            _ = try await client.call(.post, "/v1/coupon_campaigns", key: agent, json: ["name": "Soon", "kind": "generic", "code": "SOON",
                                                                                     "starts_at": "2099-01-01T00:00:00Z"])
            _ = try await client.call(.post, "/v1/coupon_campaigns", key: agent, json: ["name": "Over", "kind": "generic", "code": "OVER",
                                                                                     "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2020-02-01T00:00:00Z"])
            let taken = try await client.call(.post, "/v1/coupon_campaigns", key: agent, json: ["name": "Twice", "kind": "generic", "code": "soon"])
            #expect(taken.status == .conflict && taken.problemCode == "coupon_code_taken")
            #expect(try await Self.redeem(client, key: agent, "SOON", customer: nil).problemCode == "coupon_not_started")
            #expect(try await Self.redeem(client, key: agent, "OVER", customer: nil).problemCode == "coupon_ended")
            #expect(try await Self.redeem(client, key: agent, "NOPE", customer: nil).problemCode == "coupon_not_found")
            let twice = try await client.call(.post, "/v1/redemptions", key: agent, json: [
                "channel": "web", "instruments": [["type": "coupon", "code": "SOON", "amount": 2] as [String: any Sendable]],
            ])
            #expect((twice.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "coupon_amount")
            let generic = try await client.call(.post, "/v1/coupon_campaigns", key: agent, json: ["name": "G", "kind": "generic", "code": "GEN"])
            let genericID = try #require(generic.object["id"] as? String)
            let notUnique = try await client.call(.post, "/v1/coupon_campaigns/\(genericID)/codes", key: agent, json: ["count": 5])
            #expect(notUnique.status == .conflict && notUnique.problemCode == "coupon_campaign_generic")
            #expect(try await app.count("checkout_holds") == 0)
        }
    }
}
