import Foundation
import HTTPTypes
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

/// Audience campaigns through the real router and the run job, on both databases: the audience
/// reached with coupons and points, a stable control group held out, frequency caps, runs that
/// resume after a crash without reaching anyone twice, and the uplift report.
@Suite("Campaigns")
struct CampaignAPITests {
    /// A unique coupon campaign with `codes` codes.
    private static func couponCampaign(_ client: any TestClientProtocol, _ app: TestApp, codes: Int) async throws -> String {
        let campaign = try await client.call(.post, "/v1/coupon_campaigns", key: app.adminKey, json: ["name": "We miss you", "kind": "unique"])
        let id = try #require(campaign.object["id"] as? String, "\(campaign.text)")
        _ = try await client.call(.post, "/v1/coupon_campaigns/\(id)/codes", key: app.adminKey, json: ["count": codes])
        return id
    }

    /// `count` customers; the first `buyers` of them with a sale yesterday. Their ids in creation order.
    private static func customers(_ client: any TestClientProtocol, _ app: TestApp, count: Int, buyers: Int) async throws -> [String] {
        var ids: [String] = []
        for index in 0..<count {
            let id = try await LoyaltyAPITests.customer(client, app, "c\(index)@example.com")
            if index < buyers { try await LoyaltyAPITests.sale(client, app, "S-\(index)", customer: id, lines: [("JUMPER", "women/knitwear", 1, 5_000)]) }
            ids.append(id)
        }
        return ids
    }

    private static func campaign(_ client: any TestClientProtocol, _ app: TestApp, coupons: String, extra: [String: any Sendable] = [:]) async throws -> [String: Any] {
        var body: [String: any Sendable] = [
            "name": "Win back buyers", "status": "active", "audience": "customer.orders >= 1", "control_percent": 25,
            "actions": [["type": "assign_coupon", "coupon_campaign_id": coupons] as [String: any Sendable], ["type": "grant_points", "points": 100]],
        ]
        for (key, value) in extra { body[key] = value }
        let created = try await client.call(.post, "/v1/campaigns", key: app.adminKey, json: body)
        #expect(created.status == .created, "\(created.text)")
        return created.object
    }

    @Test("an audience campaign assigns coupons and points to its audience, holds out a control group, and reports the uplift", arguments: TestBackend.available)
    func audience(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            _ = try await LoyaltyAPITests.programme(client, app)
            let coupons = try await Self.couponCampaign(client, app, codes: 100)
            let ids = try await Self.customers(client, app, count: 30, buyers: 20)
            let created = try await Self.campaign(client, app, coupons: coupons, extra: [
                "actions": [["type": "assign_coupon", "coupon_campaign_id": coupons] as [String: any Sendable], ["type": "grant_points", "points": 100],
                            ["type": "issue_gift_card", "amount": 500]],
            ])
            let campaignID = try #require(created["id"] as? String)
            let queued = try #require(created["queued_run"] as? [String: Any], "activation queues a run")
            #expect(queued["status"] as? String == "queued")

            let run = try #require(try await CampaignRuns(services: app.services).runNext())
            let expectedControl = ids.prefix(20).filter { AudienceSchema.isControl(campaignID: campaignID, customerID: $0, basisPoints: 2_500) }
            #expect(run.status == "succeeded" && run.considered == 30, "\(run)")
            #expect(run.control == Int64(expectedControl.count) && run.targeted == Int64(20 - expectedControl.count), "\(run)")
            #expect(run.coupons == run.targeted && run.points == run.targeted * 100 && run.giftCards == run.targeted, "\(run)")
            #expect(try await CampaignRuns(services: app.services).runNext() == nil, "nothing more to run")

            // A reached customer has a code in their wallet and 100 more points; a held-out one has neither.
            let reached = try #require(ids.prefix(20).first { !expectedControl.contains($0) })
            let wallet = try await client.call(.get, "/v1/customers/\(reached)/wallet", key: app.adminKey)
            #expect((wallet.object["coupons"] as? [[String: Any]])?.count == 1, "\(wallet.text)")
            #expect((wallet.object["gift_cards"] as? [[String: Any]])?.map { $0["balance"] as? Int } == [500], "\(wallet.text)")
            #expect(try await LoyaltyAPITests.balance(client, app, reached) == 50 + 100)
            if let held = expectedControl.first {
                let heldWallet = try await client.call(.get, "/v1/customers/\(held)/wallet", key: app.adminKey)
                #expect((heldWallet.object["coupons"] as? [[String: Any]])?.isEmpty == true, "\(heldWallet.text)")
            }

            // Capped at one reach a month, a second run reaches nobody again.
            let capped = try await client.call(.patch, "/v1/campaigns/\(campaignID)", key: app.adminKey, json: ["frequency_cap": ["max": 1, "per_days": 30]])
            #expect(capped.status == .ok && capped.object["version"] as? Int == 2, "\(capped.text)")
            let again = try await client.call(.post, "/v1/campaigns/\(campaignID)/runs", key: app.adminKey, json: [String: any Sendable]())
            #expect(again.status == .accepted, "\(again.text)")
            let second = try #require(try await CampaignRuns(services: app.services).runNext())
            #expect(second.version == 2 && second.targeted == 0 && second.capped == run.targeted && second.coupons == 0, "\(second)")

            // Two reached customers buy after the campaign; nobody in the control group does.
            let soon = ISO8601DateFormatter().string(from: Date().addingTimeInterval(120))
            for (index, customer) in ids.prefix(20).filter({ !expectedControl.contains($0) }).prefix(2).enumerated() {
                let sale = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale(
                    "AFTER-\(index)", customer: ["id": customer], lines: [("SCARF", "women/knitwear", 1, 2_000)], at: soon))
                #expect(sale.status == .created, "\(sale.text)")
            }
            let report = try await client.call(.get, "/v1/campaigns/\(campaignID)/report", key: try await app.key(scopes: ["analytics:read"]))
            #expect(report.status == .ok, "\(report.text)")
            let target = try #require(report.object["target"] as? [String: Any])
            let control = try #require(report.object["control"] as? [String: Any])
            #expect(target["customers"] as? Int == Int(run.targeted) && target["buyers"] as? Int == 2 && target["revenue"] as? Int == 4_000, "\(report.text)")
            #expect(control["customers"] as? Int == expectedControl.count && control["buyers"] as? Int == 0)
            #expect(report.object["coupons_assigned"] as? Int == Int(run.targeted) && report.object["runs"] as? Int == 2)
            let byChannel = try #require(report.object["by_channel"] as? [[String: Any]])
            #expect(byChannel.map { [$0["channel_code"] as? String, "\($0["target_sales"] ?? "")", "\($0["target_revenue"] ?? "")", "\($0["control_sales"] ?? "")"] }
                == [["store-madrid-01", "2", "4000", "0"]], "\(report.text)")
            if !expectedControl.isEmpty {
                let uplift = try #require(report.object["conversion_uplift"] as? Double)
                #expect(abs(uplift - (200.0 / Double(run.targeted))) < 0.01, "\(report.text)")
            }
            let runs = try await client.call(.get, "/v1/campaigns/\(campaignID)/runs", key: app.adminKey)
            #expect(runs.list.map { $0["id"] as? String } == [second.id, run.id], "newest first: \(runs.text)")
        }
    }

    @Test("a run taken over after its lease lapsed resumes after the last page; the stalled runner writes nothing", arguments: TestBackend.available)
    func resumable(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let coupons = try await Self.couponCampaign(client, app, codes: 50)
            let ids = try await Self.customers(client, app, count: 12, buyers: 0).sorted()
            let created = try await Self.campaign(client, app, coupons: coupons, extra: ["audience": "", "control_percent": 0,
                "actions": [["type": "assign_coupon", "coupon_campaign_id": coupons] as [String: any Sendable]]])
            let runID = try #require((created["queued_run"] as? [String: Any])?["id"] as? String)
            // A runner claimed it, reached the first five customers' page and then stalled past its lease.
            try await app.services.database.transaction { sql in
                try await sql.raw("""
                    UPDATE campaign_runs SET status = 'running', lease_token = 'stalled', lease_until = 1, cursor = \(bind: ids[4]), considered = 5, targeted = 5
                    WHERE id = \(bind: runID)
                    """).run()
            }
            let resumed = try #require(try await CampaignRuns(services: app.services).runNext())
            #expect(resumed.id == runID && resumed.status == "succeeded" && resumed.considered == 12 && resumed.coupons == 7, "\(resumed)")
            #expect(try await app.count("campaign_members") == 7, "only the customers after the cursor")
            await #expect(throws: CampaignRunLost.self) {
                _ = try await CampaignRuns(services: app.services).run(tenantID: app.tenantID, runID: runID, token: "stalled")
            }
            #expect(try await app.count("campaign_members") == 7)
        }
    }

    @Test("several runners racing for one run: one claims it, and every customer is reached once", arguments: TestBackend.available)
    func racingRunners(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let coupons = try await Self.couponCampaign(client, app, codes: 40)
            _ = try await Self.customers(client, app, count: 25, buyers: 0)
            _ = try await Self.campaign(client, app, coupons: coupons, extra: ["audience": "", "control_percent": 20])
            let claimed = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 { group.addTask { try await CampaignRuns(services: app.services).runNext() == nil ? 0 : 1 } }
                return try await group.reduce(0, +)
            }
            #expect(claimed == 1)
            let (members, assigned) = try await app.services.database.read { sql in
                (try await sql.raw("SELECT COUNT(DISTINCT customer_id) AS n FROM campaign_members").first(decodingColumn: "n", as: Int.self) ?? 0,
                 try await sql.raw("SELECT COUNT(*) AS n FROM coupon_codes WHERE customer_id IS NOT NULL").first(decodingColumn: "n", as: Int.self) ?? 0)
            }
            #expect(try await app.count("campaign_members") == 25 && members == 25)
            let targeted = try await app.services.database.read { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM campaign_members WHERE control = 0").first(decodingColumn: "n", as: Int.self) ?? 0
            }
            #expect(assigned == targeted, "one code per reached customer")
        }
    }

    @Test("bad campaigns are refused with every field named, and change nothing", arguments: TestBackend.available)
    func badInput(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let generic = try await client.call(.post, "/v1/coupon_campaigns", key: app.adminKey, json: ["name": "Open", "kind": "generic", "code": "OPEN10"])
            let genericID = try #require(generic.object["id"] as? String, "\(generic.text)")
            let bad = try await client.call(.post, "/v1/campaigns", key: app.adminKey, json: [
                "name": "Broken", "kind": "weekly", "audience": "customer.orders >=", "control_percent": 60, "every_days": 400,
                "frequency_cap": ["max": 0, "per_days": 7] as [String: any Sendable],
                "actions": [["type": "assign_coupon", "coupon_campaign_id": genericID] as [String: any Sendable], ["type": "grant_points"], ["type": "confetti"]],
            ])
            #expect(bad.status == .badRequest, "\(bad.text)")
            let errors = Set((bad.object["errors"] as? [[String: Any]] ?? []).compactMap { "\($0["field"] ?? ""):\($0["code"] ?? "")" })
            #expect(errors == ["kind:invalid_enum", "audience:syntax_error", "control_percent:out_of_range", "every_days:out_of_range",
                               "frequency_cap.max:out_of_range", "actions[0].coupon_campaign_id:not_unique_campaign", "actions[1].points:required",
                               "actions[2].type:invalid_enum"], "\(bad.text)")
            let noActions = try await client.call(.post, "/v1/campaigns", key: app.adminKey, json: ["name": "Nothing"])
            #expect((noActions.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "required", "\(noActions.text)")
            let draft = try await client.call(.post, "/v1/campaigns", key: app.adminKey, json: ["name": "Draft", "actions": [["type": "grant_points", "points": 5] as [String: any Sendable]]])
            let draftID = try #require(draft.object["id"] as? String, "\(draft.text)")
            #expect(draft.object["queued_run"] == nil && draft.object["control_percent"] as? Int == 10)
            let notActive = try await client.call(.post, "/v1/campaigns/\(draftID)/runs", key: app.adminKey, json: [String: any Sendable]())
            #expect(notActive.status == .conflict && notActive.problemCode == "campaign_not_active", "\(notActive.text)")
            let (campaigns, runs) = (try await app.count("campaigns"), try await app.count("campaign_runs"))
            #expect(campaigns == 1 && runs == 0)
            let till = try await app.key(scopes: ["pos"])
            #expect(try await client.call(.get, "/v1/campaigns/\(draftID)", key: till).status == .forbidden)
        }
    }
}
