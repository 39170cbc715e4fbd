import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

/// Triggered campaigns on both databases: a trigger scheduled once per customer and source, acted
/// on after its delay — a coupon, points, and a message by the first channel the customer
/// consented to — or skipped with why (a cart recovered, no consent, quiet hours), and consents.
@Suite("Triggered campaigns")
struct CampaignTriggerTests {
    /// The app's services with the clock moved by `seconds`: what the workers see later on.
    private static func later(_ app: TestApp, _ seconds: Double) -> AppServices {
        AppServices(config: app.services.config, database: app.services.database, logger: Logger(label: "later"),
                    now: { Date().addingTimeInterval(seconds) })
    }

    private static func customer(_ client: any TestClientProtocol, _ app: TestApp, _ name: String, consents: [String: any Sendable]? = nil,
                                 birthDate: String? = nil) async throws -> String {
        var body: [String: any Sendable] = ["first_name": name, "identifiers": [["kind": "email", "value": "\(name.lowercased())@example.com"]]]
        if let birthDate { body["birth_date"] = birthDate }
        let created = try await client.call(.post, "/v1/customers", key: app.adminKey, json: body)
        let id = try #require(created.object["id"] as? String, "\(created.text)")
        if let consents {
            let set = try await client.call(.patch, "/v1/customers/\(id)/consents", key: app.adminKey, json: consents)
            #expect(set.status == .ok, "\(set.text)")
        }
        return id
    }

    private static func deliveries(_ app: TestApp) async throws -> [String: [String: String]] {
        try await app.services.database.read { sql in
            try await sql.raw("SELECT customer_id, status, reason, message_channel, coupon_code FROM campaign_deliveries").all().reduce(into: [:]) { found, row in
                found[try row.decode(column: "customer_id", as: String.self)] = [
                    "status": try row.decode(column: "status", as: String.self), "reason": try row.decode(column: "reason", as: String?.self) ?? "",
                    "channel": try row.decode(column: "message_channel", as: String?.self) ?? "",
                    "coupon": try row.decode(column: "coupon_code", as: String?.self) ?? "",
                ]
            }
        }
    }

    @Test("an abandoned cart fires the campaign after its delay: a coupon and a message by the first consented channel; a recovered cart is skipped",
          arguments: TestBackend.available)
    func cartAbandoned(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let coupons = try await client.call(.post, "/v1/coupon_campaigns", key: app.adminKey, json: ["name": "Come back", "kind": "unique"])
            let couponsID = try #require(coupons.object["id"] as? String)
            _ = try await client.call(.post, "/v1/coupon_campaigns/\(couponsID)/codes", key: app.adminKey, json: ["count": 10])
            let ana = try await Self.customer(client, app, "Ana", consents: ["email": true, "sms": true, "source": "web_signup"])
            let bruno = try await Self.customer(client, app, "Bruno")
            let carla = try await Self.customer(client, app, "Carla", consents: ["email": true])
            let created = try await client.call(.post, "/v1/campaigns", key: app.adminKey, json: [
                "name": "Forgot something?", "kind": "triggered", "status": "active", "control_percent": 0,
                "trigger": ["event": "cart_abandoned", "delay_minutes": 120] as [String: any Sendable],
                "actions": [["type": "assign_coupon", "coupon_campaign_id": couponsID] as [String: any Sendable],
                            ["type": "message", "template": "Hi {{first_name}}, {{ coupon_code }} takes 10 % off your cart", "channels": ["sms", "email"]]],
            ])
            #expect(created.status == .created && created.object["queued_run"] == nil, "\(created.text)")
            #expect(try await CampaignTriggers(services: app.services).scan() == 0)

            try await app.services.database.transaction { sql in
                for customer in [ana, bruno, carla] {
                    try await app.services.events.append(on: sql, tenantID: app.tenantID, type: "cart.abandoned",
                                                         data: JSONValue.object(["customer_id": .string(customer)]), requestID: nil)
                }
                try await app.services.events.append(on: sql, tenantID: app.tenantID, type: "cart.abandoned", data: JSONValue.object([:]), requestID: nil)
            }
            // Carla comes back and buys before the reminder is due.
            let soon = ISO8601DateFormatter().string(from: Date().addingTimeInterval(60))
            let bought = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale("C-1", customer: ["id": carla], at: soon))
            #expect(bought.status == .created, "\(bought.text)")

            #expect(try await CampaignTriggers(services: Self.later(app, 10)).scan() == 3, "the anonymous cart fires nothing")
            #expect(try await CampaignTriggers(services: Self.later(app, 20)).scan() == 0, "each event is read once")
            #expect(try await CampaignDeliveries(services: Self.later(app, 20)).deliverDue() == 0, "not due before its delay")
            #expect(try await CampaignDeliveries(services: Self.later(app, 2 * 3_600 + 30)).deliverDue() == 3)

            let settled = try await Self.deliveries(app)
            #expect(settled[ana]?["status"] == "done" && settled[ana]?["channel"] == "email", "Ana has no phone: \(settled)")
            #expect(settled[bruno]?["status"] == "done" && settled[bruno]?["reason"] == "no_consent" && settled[bruno]?["coupon"]?.isEmpty == false,
                    "Bruno gets the coupon but no message: \(settled)")
            #expect(settled[carla]?["status"] == "skipped" && settled[carla]?["reason"] == "recovered", "\(settled)")
            let messages = try await app.services.database.read { sql in
                try await sql.raw("SELECT data FROM events WHERE type = 'campaign.message'").all().map { try $0.decode(column: "data", as: String.self) }
            }
            #expect(messages.count == 1)
            let message = try JSONSerialization.jsonObject(with: Data((messages.first ?? "{}").utf8)) as? [String: Any]
            #expect(message?["to"] as? String == "ana@example.com" && message?["channel"] as? String == "email", "\(messages)")
            #expect(message?["text"] as? String == "Hi Ana, \(settled[ana]?["coupon"] ?? "?") takes 10 % off your cart", "\(messages)")
            let wallet = try await client.call(.get, "/v1/customers/\(ana)/wallet", key: app.adminKey)
            #expect((wallet.object["coupons"] as? [[String: Any]])?.first?["code"] as? String == settled[ana]?["coupon"], "\(wallet.text)")
        }
    }

    @Test("quiet hours hold a message back; a birthday sweeps once a day and grants points; racing servers settle each delivery once",
          arguments: TestBackend.available)
    func quietHoursAndBirthdays(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            _ = try await LoyaltyAPITests.programme(client, app)
            let timeZone = try await app.services.database.read { sql in
                try await sql.raw("SELECT timezone FROM tenants WHERE id = \(bind: app.tenantID)").first(decodingColumn: "timezone", as: String.self)
            } ?? "UTC"
            let (today, minute) = LocalClock.day(at: app.services.nowMilliseconds, timeZone: timeZone)
            let (_, month, day) = RFC3339.civilFromDays(Int64(today))
            var birthdays: [String] = []
            for name in ["Dora", "Eva", "Fran"] {
                birthdays.append(try await Self.customer(client, app, name, consents: ["email": true], birthDate: String(format: "1990-%02d-%02d", month, day)))
            }
            _ = try await Self.customer(client, app, "Gil", birthDate: String(format: "1990-%02d-%02d", month % 12 + 1, 1))
            func hhmm(_ minutes: Int) -> String { String(format: "%02d:%02d", ((minutes % 1_440) + 1_440) % 1_440 / 60, ((minutes % 1_440) + 1_440) % 60) }
            let created = try await client.call(.post, "/v1/campaigns", key: app.adminKey, json: [
                "name": "Happy birthday", "kind": "triggered", "status": "active", "control_percent": 0,
                "trigger": ["event": "birthday"] as [String: any Sendable],
                "quiet_hours": ["from": hhmm(Int(minute) - 60), "to": hhmm(Int(minute) + 60)],
                "actions": [["type": "grant_points", "points": 100] as [String: any Sendable], ["type": "message", "template": "Happy birthday, {{first_name}}!"]],
            ])
            #expect(created.status == .created, "\(created.text)")
            let campaignID = try #require(created.object["id"] as? String)
            #expect(try await CampaignTriggers(services: app.services).scan() == 3, "the three born today")
            #expect(try await CampaignTriggers(services: app.services).scan() == 0, "once a day")

            // In quiet hours: held back until they end, nothing given yet.
            #expect(try await CampaignDeliveries(services: app.services).deliverDue() == 3)
            let held = try await Self.deliveries(app)
            #expect(held.values.allSatisfy { $0["status"] == "scheduled" && $0["reason"] == "quiet_hours" }, "\(held)")
            let membership = try await client.call(.get, "/v1/customers/\(birthdays[0])/loyalty", key: app.adminKey)
            #expect(membership.list.isEmpty, "no points yet: \(membership.text)")

            // After the quiet hours, servers racing for the due deliveries settle each once.
            let after = Self.later(app, 61 * 60 + 30)
            let settled = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<3 { group.addTask { try await CampaignDeliveries(services: after).deliverDue() } }
                return try await group.reduce(0, +)
            }
            #expect(settled == 3)
            for customer in birthdays { #expect(try await LoyaltyAPITests.balance(client, app, customer) == 100) }
            let messages = try await app.services.database.read { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM events WHERE type = 'campaign.message'").first(decodingColumn: "n", as: Int.self) ?? 0
            }
            #expect(messages == 3)
            let report = try await client.call(.get, "/v1/campaigns/\(campaignID)/report", key: app.adminKey)
            #expect((report.object["target"] as? [String: Any])?["customers"] as? Int == 3, "\(report.text)")
        }
    }

    @Test("consents are kept per channel of contact; bad triggered campaigns and consents are refused precisely", arguments: TestBackend.available)
    func consentsAndBadInput(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let ana = try await Self.customer(client, app, "Ana", consents: ["email": true, "sms": false, "source": "store_till"])
            let shown = try await client.call(.get, "/v1/customers/\(ana)/consents", key: try await app.key(scopes: ["analytics:read"]))
            let consents = try #require(shown.object["consents"] as? [[String: Any]], "\(shown.text)")
            #expect(consents.map { "\($0["channel"] ?? ""):\($0["granted"] as? Bool ?? false)" } == ["email:true", "sms:false", "whatsapp:false", "push:false"])
            #expect(consents.first?["source"] as? String == "store_till")
            let empty = try await client.call(.patch, "/v1/customers/\(ana)/consents", key: app.adminKey, json: ["source": "web"])
            #expect(empty.status == .badRequest, "\(empty.text)")
            let unknown = try await client.call(.patch, "/v1/customers/cus_01katk6b2c4e6g8j0m2p4r6t8v/consents", key: app.adminKey, json: ["email": true])
            #expect(unknown.status == .notFound, "\(unknown.text)")

            let bad = try await client.call(.post, "/v1/campaigns", key: app.adminKey, json: [
                "name": "Broken", "kind": "triggered", "every_days": 7, "quiet_hours": ["from": "25:00", "to": "07:00"],
                "trigger": ["event": "cart_abandoned", "delay_minutes": 50_000, "days_before": 3] as [String: any Sendable],
                "actions": [["type": "message", "template": "Hi {{name}}", "channels": ["pigeon"]] as [String: any Sendable]],
            ])
            let errors = Set((bad.object["errors"] as? [[String: Any]] ?? []).compactMap { "\($0["field"] ?? ""):\($0["code"] ?? "")" })
            #expect(errors == ["trigger.delay_minutes:out_of_range", "trigger.days_before:not_for_event", "quiet_hours.from:invalid_time",
                               "every_days:not_for_kind", "actions[0].template:unknown_placeholder", "actions[0].channels[0]:invalid_enum"], "\(bad.text)")
            let noTrigger = try await client.call(.post, "/v1/campaigns", key: app.adminKey, json: [
                "name": "No trigger", "kind": "triggered", "actions": [["type": "grant_points", "points": 5] as [String: any Sendable]],
            ])
            #expect((noTrigger.object["errors"] as? [[String: Any]])?.map { "\($0["field"] ?? ""):\($0["code"] ?? "")" } == ["trigger:required"], "\(noTrigger.text)")
            let audienceMessage = try await client.call(.post, "/v1/campaigns", key: app.adminKey, json: [
                "name": "Audience message", "trigger": ["event": "birthday"] as [String: any Sendable],
                "actions": [["type": "message", "template": "Hello"] as [String: any Sendable]],
            ])
            #expect(Set((audienceMessage.object["errors"] as? [[String: Any]] ?? []).compactMap { "\($0["field"] ?? ""):\($0["code"] ?? "")" })
                == ["trigger:not_for_kind", "actions[0].type:not_for_kind"], "\(audienceMessage.text)")
            let triggered = try await client.call(.post, "/v1/campaigns", key: app.adminKey, json: [
                "name": "Returns", "kind": "triggered", "status": "active", "trigger": ["event": "return_recorded"] as [String: any Sendable],
                "actions": [["type": "grant_points", "points": 5] as [String: any Sendable]],
            ])
            let triggeredID = try #require(triggered.object["id"] as? String, "\(triggered.text)")
            let run = try await client.call(.post, "/v1/campaigns/\(triggeredID)/runs", key: app.adminKey, json: [String: any Sendable]())
            #expect(run.status == .conflict && run.problemCode == "not_an_audience_campaign", "\(run.text)")
        }
    }

    @Test("expiring points, a first store purchase after buying online, and a return fire their campaigns once", arguments: TestBackend.available)
    func otherTriggers(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            _ = try await LoyaltyAPITests.programme(client, app, ["points_expire_after_days": 10])
            let ana = try await Self.customer(client, app, "Ana")
            let bruno = try await Self.customer(client, app, "Bruno")
            let carla = try await Self.customer(client, app, "Carla")
            let anaSale = try await LoyaltyAPITests.sale(client, app, "A-1", customer: ana, lines: [("JUMPER", "women/knitwear", 1, 5_000)], daysAgo: 1)
            try await LoyaltyAPITests.sale(client, app, "B-WEB", customer: bruno, channel: "web", lines: [("SCARF", "women/knitwear", 1, 2_000)], daysAgo: 2)
            var campaigns: [String: String] = [:]
            for (name, trigger) in [("Your points expire soon", ["event": "points_expiring", "days_before": 9] as [String: any Sendable]),
                                    ("Welcome to our stores", ["event": "first_store_purchase"]), ("Sorry it did not fit", ["event": "return_recorded"])] {
                let created = try await client.call(.post, "/v1/campaigns", key: app.adminKey, json: [
                    "name": name, "kind": "triggered", "status": "active", "control_percent": 0, "trigger": trigger,
                    "actions": [["type": "grant_points", "points": 25] as [String: any Sendable]],
                ])
                campaigns[name] = try #require(created.object["id"] as? String, "\(created.text)")
            }
            // The day's sweep finds Ana's points, earned yesterday and expiring in 9 days.
            #expect(try await CampaignTriggers(services: app.services).scan() == 1)
            try await LoyaltyAPITests.sale(client, app, "B-STORE", customer: bruno, lines: [("SOCKS", "men/socks", 1, 500)], daysAgo: 0)
            try await LoyaltyAPITests.sale(client, app, "C-STORE", customer: carla, lines: [("SOCKS", "men/socks", 1, 500)], daysAgo: 0)
            try await LoyaltyAPITests.returned(client, app, "A-1-R", sale: anaSale, lines: [(1, 1)])
            // Bruno bought online before; Carla had never bought anywhere: only Bruno's is a first store purchase.
            #expect(try await CampaignTriggers(services: Self.later(app, 10)).scan() == 2)
            #expect(try await CampaignTriggers(services: Self.later(app, 20)).scan() == 0)
            #expect(try await CampaignDeliveries(services: Self.later(app, 30)).deliverDue() == 3)
            let settled = try await app.services.database.read { sql in
                try await sql.raw("SELECT campaign_id, customer_id, status FROM campaign_deliveries").all().map {
                    "\(try $0.decode(column: "campaign_id", as: String.self)):\(try $0.decode(column: "customer_id", as: String.self)):\(try $0.decode(column: "status", as: String.self))"
                }.sorted()
            }
            #expect(settled == [
                "\(campaigns["Your points expire soon"]!):\(ana):done", "\(campaigns["Welcome to our stores"]!):\(bruno):done",
                "\(campaigns["Sorry it did not fit"]!):\(ana):done",
            ].sorted(), "\(settled)")
        }
    }

    @Test("entering a segment fires a campaign for the new member only, once", arguments: TestBackend.available)
    func segmentEntered(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            _ = try await LoyaltyAPITests.programme(client, app)
            let ana = try await Self.customer(client, app, "Ana")
            let segment = try await client.call(.post, "/v1/segments", key: app.adminKey, json: ["code": "buyers", "name": "Buyers", "rule": "customer.orders >= 1"])
            let segmentID = try #require(segment.object["id"] as? String, "\(segment.text)")
            let missing = try await client.call(.post, "/v1/campaigns", key: app.adminKey, json: [
                "name": "Welcome, buyer", "kind": "triggered", "trigger": ["event": "segment_entered", "segment": "nobody"] as [String: any Sendable],
                "actions": [["type": "grant_points", "points": 10] as [String: any Sendable]],
            ])
            #expect(missing.status == .badRequest && missing.text.contains("segment_not_found"), "\(missing.text)")
            let created = try await client.call(.post, "/v1/campaigns", key: app.adminKey, json: [
                "name": "Welcome, buyer", "kind": "triggered", "status": "active", "control_percent": 0,
                "trigger": ["event": "segment_entered", "segment": "buyers"] as [String: any Sendable],
                "actions": [["type": "grant_points", "points": 10] as [String: any Sendable]],
            ])
            #expect(created.status == .created, "\(created.text)")
            #expect(try await SegmentRefresher(services: app.services).refresh(tenantID: app.tenantID)?.entered == 0)
            #expect(try await CampaignTriggers(services: app.services).scan() == 0)

            try await LoyaltyAPITests.sale(client, app, "A-1", customer: ana, lines: [("SOCKS", "men/socks", 1, 500)], daysAgo: 0)
            #expect(try await SegmentRefresher(services: app.services).refresh(tenantID: app.tenantID)?.entered == 1)
            #expect(try await CampaignTriggers(services: Self.later(app, 10)).scan() == 1)
            #expect(try await CampaignTriggers(services: Self.later(app, 20)).scan() == 0, "each entry is read once")
            #expect(try await CampaignDeliveries(services: Self.later(app, 30)).deliverDue() == 1)
            #expect(try await Self.deliveries(app)[ana]?["status"] == "done")
            #expect(try await LoyaltyAPITests.balance(client, app, ana) == 5 + 10, "5 earned on the sale, 10 from the campaign")
            let members = try await client.call(.get, "/v1/segments/\(segmentID)/members", key: app.adminKey)
            #expect(members.list.map { $0["customer_id"] as? String } == [ana])
        }
    }
}
