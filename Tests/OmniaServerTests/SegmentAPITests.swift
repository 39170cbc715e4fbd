import Foundation
import HTTPTypes
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

/// Live profiles, computed attributes and segments through the real router, on both databases.
@Suite("Profiles and segments")
struct SegmentAPITests {
    private static func segment(_ client: any TestClientProtocol, _ app: TestApp, _ body: [String: any Sendable]) async throws -> [String: Any] {
        let created = try await client.call(.post, "/v1/segments", key: app.adminKey, json: body)
        #expect(created.status == .created, "\(created.text)")
        return created.object
    }

    private static func refresh(_ client: any TestClientProtocol, _ app: TestApp, _ id: String) async throws -> [String: Any] {
        let refreshed = try await client.call(.post, "/v1/segments/\(id)/refresh", key: app.adminKey, json: [String: any Sendable]())
        #expect(refreshed.status == .ok, "\(refreshed.text)")
        return refreshed.object
    }

    private static func events(_ client: any TestClientProtocol, _ app: TestApp, _ type: String) async throws -> [[String: Any]] {
        let found = try await client.call(.get, "/v1/events?type=\(type)&limit=100", key: app.adminKey)
        return found.list.compactMap { $0["data"] as? [String: Any] }
    }

    @Test("a profile sums every channel, returns and a merged customer's history, with the tenant's computed attributes", arguments: TestBackend.available)
    func profile(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let ana = try await LoyaltyAPITests.customer(client, app, "ana@example.com")
            let other = try await LoyaltyAPITests.customer(client, app, "ana.old@example.com")
            try await LoyaltyAPITests.sale(client, app, "S-1", customer: ana, lines: [("JUMPER", "women/knitwear", 2, 5_000)], daysAgo: 10)
            try await LoyaltyAPITests.sale(client, app, "S-2", customer: ana, lines: [("SCARF", "women/accessories", 1, 2_000)], daysAgo: 6)
            let web = try await LoyaltyAPITests.sale(client, app, "W-1", customer: other, channel: "web", lines: [("COAT", "women/coats", 1, 9_000)],
                                                     daysAgo: 2)
            try await LoyaltyAPITests.returned(client, app, "R-1", sale: web, lines: [(1, 1)])
            let merged = try await client.call(.post, "/v1/customers/\(ana)/merge", key: app.adminKey, json: ["customer_id": other])
            #expect(merged.status == .ok || merged.status == .created, "\(merged.text)")

            let attribute = try await client.call(.post, "/v1/profile_attributes", key: app.adminKey, json: [
                "code": "big_spender", "type": "bool", "rule": "customer.lifetime_spend >= 100.00 EUR",
            ])
            #expect(attribute.status == .created, "\(attribute.text)")
            let spendPerOrder = try await client.call(.post, "/v1/profile_attributes", key: app.adminKey, json: [
                "code": "spend_per_order", "type": "money", "rule": "customer.lifetime_spend / customer.orders",
            ])
            #expect(spendPerOrder.status == .created, "\(spendPerOrder.text)")

            let profile = try await client.call(.get, "/v1/customers/\(ana)/profile", key: app.adminKey)
            #expect(profile.status == .ok, "\(profile.text)")
            let body = profile.object
            #expect(body["orders"] as? Int == 3 && body["returns"] as? Int == 1, "\(profile.text)")
            #expect(body["sales_amount"] as? Int == 21_000 && body["returned_amount"] as? Int == 9_000 && body["lifetime_spend"] as? Int == 12_000)
            #expect(body["average_order_value"] as? Int == 7_000)
            #expect(body["returns_rate"] as? Double == 0.4286, "9,000 of 21,000 came back")
            #expect(body["channel_mix"] as? String == "omnichannel" && body["channel_kinds"] as? [String] == ["store", "web"])
            #expect(body["preferred_channel"] as? String == "store-madrid-01" && body["preferred_store"] as? String == "madrid-01")
            #expect(body["top_categories"] as? [String] == ["women/knitwear", "women/accessories"], "the returned coat is net zero: \(profile.text)")
            #expect(body["days_since_last_purchase"] as? Int == 2)
            #expect(body["purchase_interval_days"] as? Double == 4, "8 days over 2 gaps")
            let attributes = try #require(body["attributes"] as? [String: Any])
            #expect(attributes["big_spender"] as? Bool == true)
            #expect((attributes["spend_per_order"] as? [String: Any])?["amount"] as? Int == 4_000, "\(attributes)")

            // The merged customer's id answers the survivor's profile.
            let throughMerged = try await client.call(.get, "/v1/customers/\(other)/profile", key: app.adminKey)
            #expect(throughMerged.object["customer_id"] as? String == ana)

            // A rule naming what the profile does not have says where and what exists.
            let unknown = try await client.call(.post, "/v1/profile_attributes", key: app.adminKey, json: [
                "code": "vip", "type": "bool", "rule": "customer.lifetime_spendd > 1",
            ])
            #expect(unknown.status == .badRequest && unknown.fieldCodes == ["rule": "unknown_field"], "\(unknown.text)")
            #expect((unknown.object["errors"] as? [[String: Any]])?.first?["detail"] as? String ?? "" >= "1:", "\(unknown.text)")
            let mistyped = try await client.call(.post, "/v1/profile_attributes", key: app.adminKey, json: [
                "code": "vip", "type": "number", "rule": "customer.lifetime_spend > 100.00 EUR",
            ])
            #expect(mistyped.status == .badRequest && mistyped.fieldCodes == ["rule": "type_mismatch"], "\(mistyped.text)")
            let badCode = try await client.call(.post, "/v1/profile_attributes", key: app.adminKey, json: ["code": "VIP", "type": "bool", "rule": "true"])
            #expect(badCode.fieldCodes == ["code": "invalid_code"], "\(badCode.text)")
            let listed = try await client.call(.get, "/v1/profile_attributes", key: app.adminKey)
            #expect(listed.list.map { $0["code"] as? String } == ["big_spender", "spend_per_order"])
        }
    }

    @Test("a dynamic segment follows profiles as sales and returns land, announcing who enters and leaves, with its size history",
          arguments: TestBackend.available)
    func dynamic(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let ana = try await LoyaltyAPITests.customer(client, app, "ana@example.com")
            let bea = try await LoyaltyAPITests.customer(client, app, "bea@example.com")
            let carla = try await LoyaltyAPITests.customer(client, app, "carla@example.com")
            try await LoyaltyAPITests.sale(client, app, "S-1", customer: ana, lines: [("JUMPER", "women/knitwear", 1, 6_000)])
            try await LoyaltyAPITests.sale(client, app, "W-1", customer: ana, channel: "web", lines: [("SCARF", "women/accessories", 1, 2_000)])
            let beaSale = try await LoyaltyAPITests.sale(client, app, "S-2", customer: bea, lines: [("COAT", "women/coats", 1, 9_000)])
            try await LoyaltyAPITests.sale(client, app, "S-3", customer: carla, lines: [("SOCKS", "women/socks", 1, 500)])

            let rule = "customer.lifetime_spend >= 50.00 EUR and customer.channel_mix != \"none\""
            let estimate = try await client.call(.post, "/v1/segments/estimate", key: app.adminKey, json: ["rule": rule])
            #expect(estimate.status == .ok && estimate.object["size"] as? Int == 2 && estimate.object["customers"] as? Int == 3, "\(estimate.text)")
            #expect(estimate.object["sample"] as? [String] == [ana, bea].sorted())

            let created = try await Self.segment(client, app, ["code": "valuable", "name": "Valuable", "rule": rule])
            let id = try #require(created["id"] as? String)
            #expect(created["size"] as? Int == 0 && created["refreshed_at"] as? String == nil, "computed by the refresher: \(created)")
            let first = try await Self.refresh(client, app, id)
            #expect(first["size"] as? Int == 2 && first["refreshed_at"] as? String != nil, "\(first)")
            #expect(try await Self.events(client, app, "segment.entered").isEmpty, "a segment's first computation is no one's entry")

            // Carla buys enough to enter; Bea returns her coat and leaves.
            try await LoyaltyAPITests.sale(client, app, "W-2", customer: carla, channel: "web", lines: [("BOOTS", "women/shoes", 1, 7_000)])
            try await LoyaltyAPITests.returned(client, app, "R-1", sale: beaSale, lines: [(1, 1)])
            let second = try await Self.refresh(client, app, id)
            #expect(second["size"] as? Int == 2)
            let entered = try await Self.events(client, app, "segment.entered")
            let exited = try await Self.events(client, app, "segment.exited")
            #expect(entered.map { $0["customer_id"] as? String } == [carla] && entered.first?["segment_code"] as? String == "valuable", "\(entered)")
            #expect(exited.map { $0["customer_id"] as? String } == [bea], "\(exited)")

            let members = try await client.call(.get, "/v1/segments/\(id)/members?limit=1", key: app.adminKey)
            #expect(members.list.count == 1 && members.object["has_more"] as? Bool == true, "\(members.text)")
            let rest = try await client.call(.get, "/v1/segments/\(id)/members?starting_after=\(members.object["next_cursor"] as? String ?? "")", key: app.adminKey)
            #expect((members.list + rest.list).compactMap { $0["customer_id"] as? String } == [ana, carla].sorted(), "\(rest.text)")
            let csv = try await client.call(.get, "/v1/segments/\(id)/members.csv", key: app.adminKey)
            let lines = csv.text.split(separator: "\n")
            #expect(lines.first == "customer_id,first_name,last_name,entered_at" && lines.count == 3, "\(csv.text)")
            #expect(lines.dropFirst().map { String($0.prefix { $0 != "," }) } == [ana, carla].sorted())

            let sizes = try await client.call(.get, "/v1/segments/\(id)/sizes", key: app.adminKey)
            #expect(sizes.list.map { [$0["size"] as? Int, $0["entered"] as? Int, $0["exited"] as? Int] } == [[2, 1, 1], [2, 2, 0]], "\(sizes.text)")

            // The profile lists the segment, so other segments, promotions and campaigns can read it.
            let profile = try await client.call(.get, "/v1/customers/\(carla)/profile", key: app.adminKey)
            #expect(profile.object["segments"] as? [String] == ["valuable"], "\(profile.text)")

            // A changed rule is computed again; archiving stops it.
            let changed = try await client.call(.patch, "/v1/segments/\(id)", key: app.adminKey, json: ["rule": "customer.orders >= 2"])
            #expect(changed.object["version"] as? Int == 2 && changed.object["refreshed_at"] as? String == nil, "\(changed.text)")
            #expect(try await SegmentRefresher(services: app.services).refreshDue() == 1)
            let recomputed = try await client.call(.get, "/v1/segments/\(id)", key: app.adminKey)
            #expect(recomputed.object["size"] as? Int == 2, "Ana and Carla have two orders each: \(recomputed.text)")
            #expect(try await SegmentRefresher(services: app.services).refreshDue() == 0, "nothing due until the interval passes")
        }
    }

    @Test("a refresh that computes the members it wrote last time compares none; a change made meanwhile is put right by the next",
          arguments: TestBackend.available)
    func fingerprint(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let ana = try await LoyaltyAPITests.customer(client, app, "ana@example.com")
            let bea = try await LoyaltyAPITests.customer(client, app, "bea@example.com")
            try await LoyaltyAPITests.sale(client, app, "S-1", customer: ana, lines: [("JUMPER", "women/knitwear", 1, 6_000)])
            try await LoyaltyAPITests.sale(client, app, "S-2", customer: bea, lines: [("COAT", "women/coats", 1, 9_000)])
            let created = try await Self.segment(client, app, ["code": "buyers", "name": "Buyers", "rule": "customer.orders >= 1"])
            let id = try #require(created["id"] as? String)
            func stored() async throws -> Int64? {
                try await app.services.database.read { sql in
                    try await sql.raw("SELECT members_fingerprint FROM segments WHERE tenant_id = \(bind: app.tenantID) AND id = \(bind: id)")
                        .first(decodingColumn: "members_fingerprint", as: Int64?.self) ?? nil
                }
            }
            func members() async throws -> [String] {
                let listed = try await client.call(.get, "/v1/segments/\(id)/members", key: app.adminKey)
                return listed.list.compactMap { $0["customer_id"] as? String }
            }

            _ = try await Self.refresh(client, app, id)
            #expect(try await stored() == SegmentFingerprint.of([ana, bea].sorted()))
            _ = try await Self.refresh(client, app, id)
            #expect(try await members() == [ana, bea].sorted())
            let sizes = try await client.call(.get, "/v1/segments/\(id)/sizes", key: app.adminKey)
            #expect(sizes.list.count == 1, "the same members again are no change: \(sizes.text)")

            // Members changed outside a refresh: the fingerprint no longer holds, so the refresh compares and Bea comes back.
            try await app.services.database.transaction { sql in
                try await SegmentMembership(tenantID: app.tenantID, segmentID: id, code: "buyers")
                    .change(on: sql, entered: [], exited: [bea], size: 1, at: app.services.nowMilliseconds, events: app.services.events,
                            requestID: nil, announce: false)
            }
            #expect(try await stored() == nil)
            #expect(try await members() == [ana])
            _ = try await Self.refresh(client, app, id)
            #expect(try await members() == [ana, bea].sorted())
            #expect(try await stored() == SegmentFingerprint.of([bea, ana]), "the sum of the ids' hashes: any order")
            #expect(SegmentFingerprint.of([ana]) != SegmentFingerprint.of([bea]) && SegmentFingerprint.of([]) == 0)
        }
    }

    @Test("segments refuse bad rules with their position, clashing codes and another server's refresh", arguments: TestBackend.available)
    func badInput(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let unknown = try await client.call(.post, "/v1/segments", key: app.adminKey, json: ["code": "x", "name": "X", "rule": "customer.ordrs > 1"])
            #expect(unknown.status == .badRequest && unknown.fieldCodes == ["rule": "unknown_field"], "\(unknown.text)")
            let detail = (unknown.object["errors"] as? [[String: Any]])?.first?["detail"] as? String ?? ""
            #expect(detail.hasPrefix("1:1:") && detail.contains("orders"), "the position and the fields that exist: \(unknown.text)")
            let mistyped = try await client.call(.post, "/v1/segments/estimate", key: app.adminKey, json: ["rule": "customer.lifetime_spend > 100"])
            #expect(mistyped.status == .badRequest && mistyped.fieldCodes == ["rule": "type_mismatch"], "\(mistyped.text)")
            let missing = try await client.call(.post, "/v1/segments", key: app.adminKey, json: ["code": "x", "name": "X"])
            #expect(missing.fieldCodes == ["rule": "required"], "\(missing.text)")
            let listedDynamic = try await client.call(.post, "/v1/segments", key: app.adminKey, json: [
                "code": "x", "name": "X", "rule": "true", "customer_ids": ["cus_x"],
            ] as [String: any Sendable])
            #expect(listedDynamic.fieldCodes == ["customer_ids": "not_for_kind"], "\(listedDynamic.text)")
            let badKind = try await client.call(.get, "/v1/segments?kind=smart", key: app.adminKey)
            #expect(badKind.status == .badRequest, "\(badKind.text)")

            let created = try await Self.segment(client, app, ["code": "all", "name": "Everyone", "rule": "true"])
            let clash = try await client.call(.post, "/v1/segments", key: app.adminKey, json: ["code": "all", "name": "Again", "rule": "true"])
            #expect(clash.status == .conflict && clash.object["code"] as? String == "segment_code_taken", "\(clash.text)")
            let recode = try await client.call(.patch, "/v1/segments/\(created["id"] as? String ?? "")", key: app.adminKey, json: ["code": "everyone"])
            #expect(recode.fieldCodes == ["code": "immutable"], "\(recode.text)")

            // Another server holds the tenant's refresh: this one leaves it alone.
            try await app.services.database.transaction { sql in
                try await sql.raw("""
                    INSERT INTO segment_refreshes (tenant_id, lease_token, lease_until) VALUES (\(bind: app.tenantID), 'other', \(bind: Int64.max / 2))
                    """).run()
            }
            let busy = try await client.call(.post, "/v1/segments/\(created["id"] as? String ?? "")/refresh", key: app.adminKey, json: [String: any Sendable]())
            #expect(busy.status == .conflict && busy.object["code"] as? String == "refresh_in_progress", "\(busy.text)")
            #expect(try await SegmentRefresher(services: app.services).refresh(tenantID: app.tenantID) == nil)
        }
    }

    @Test("a static segment holds the customers listed, by their surviving id, and announces each change", arguments: TestBackend.available)
    func staticList(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let ana = try await LoyaltyAPITests.customer(client, app, "ana@example.com")
            let bea = try await LoyaltyAPITests.customer(client, app, "bea@example.com")
            let carla = try await LoyaltyAPITests.customer(client, app, "carla@example.com")
            let unknown = try await client.call(.post, "/v1/segments", key: app.adminKey, json: [
                "code": "press", "name": "Press list", "kind": "static", "customer_ids": [ana, "cus_01jxxxxxxxxxxxxxxxxxxxxxxx"],
            ] as [String: any Sendable])
            #expect(unknown.fieldCodes == ["customer_ids[1]": "customer_not_found"], "\(unknown.text)")
            let created = try await Self.segment(client, app, ["code": "press", "name": "Press list", "kind": "static", "customer_ids": [ana, bea, ana]])
            let id = try #require(created["id"] as? String)
            #expect(created["size"] as? Int == 2, "\(created)")
            let changed = try await client.call(.post, "/v1/segments/\(id)/members", key: app.adminKey, json: ["add": [carla], "remove": [bea]])
            #expect(changed.status == .ok && changed.object["size"] as? Int == 2, "\(changed.text)")
            #expect(try await Self.events(client, app, "segment.entered").map { $0["customer_id"] as? String } == [carla])
            #expect(try await Self.events(client, app, "segment.exited").map { $0["customer_id"] as? String } == [bea])
            let members = try await client.call(.get, "/v1/segments/\(id)/members", key: app.adminKey)
            #expect(members.list.compactMap { $0["customer_id"] as? String } == [ana, carla].sorted())
            let refresh = try await client.call(.post, "/v1/segments/\(id)/refresh", key: app.adminKey, json: [String: any Sendable]())
            #expect(refresh.status == .conflict, "a static segment is not computed: \(refresh.text)")

            // Promotions read the segments the customer is in.
            _ = try await SalesFixtures.make(app, client)
            let promotion = try await client.call(.post, "/v1/promotions", key: app.adminKey, json: [
                "name": "Press preview", "status": "active", "condition": #""press" in customer.segments"#,
                "effects": [["type": "percent_off_cart", "percent": 20] as [String: any Sendable]],
            ])
            #expect(promotion.status == .created, "\(promotion.text)")
            for (customer, discount) in [(ana, 1_000), (bea, 0)] {
                let evaluated = try await client.call(.post, "/v1/checkout/evaluate", key: app.adminKey, json: [
                    "channel": "web", "currency": "EUR", "customer_id": customer,
                    "lines": [["sku": "JUMPER", "category": "women/knitwear", "quantity": 1, "unit_price": 5_000] as [String: any Sendable]],
                ])
                #expect(evaluated.object["discount"] as? Int == discount, "\(evaluated.text)")
            }
        }
    }
}

extension TestResponse {
    /// A validation problem's field errors, code by field.
    var fieldCodes: [String: String] {
        var codes: [String: String] = [:]
        for error in object["errors"] as? [[String: Any]] ?? [] {
            if let field = error["field"] as? String, let code = error["code"] as? String { codes[field] = code }
        }
        return codes
    }
}
