import Foundation
import HTTPTypes
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

/// Journey analytics and the maturity scorecard through the real router, on both databases, each
/// against figures worked out by hand from a crafted set of sales, returns, events and benefits.
/// The journeys happen in March 2025 (the tenant's zone is Europe/Madrid) and are read with explicit
/// `from` and `to`; the scorecard reads the default period, the last 90 days.
@Suite("Journey analytics")
struct JourneyAnalyticsTests {
    static let march = "from=2025-03-01&to=2025-03-31"

    /// `2025-03-DD` at `hour`:00 UTC.
    static func at(_ day: Int, _ hour: Int = 10, month: Int = 3) -> String {
        func two(_ number: Int) -> String { number < 10 ? "0\(number)" : "\(number)" }
        return "2025-\(two(month))-\(two(day))T\(two(hour)):00:00Z"
    }

    static func report(_ client: any TestClientProtocol, _ app: TestApp, _ path: String) async throws -> [String: Any] {
        let response = try await client.call(.get, "/v1/analytics/\(path)", key: app.adminKey)
        #expect(response.status == .ok, "\(path): \(response.text)")
        #expect(!response.text.contains("NaN") && !response.text.contains("Infinity"), "\(path): \(response.text)")
        return response.object
    }

    static func customers(_ client: any TestClientProtocol, _ app: TestApp, _ names: String...) async throws -> [String] {
        var ids: [String] = []
        for name in names { ids.append(try await LoyaltyAPITests.customer(client, app, "\(name)@example.com")) }
        return ids
    }

    static func channel(_ client: any TestClientProtocol, _ app: TestApp, code: String, kind: String, location: String? = nil) async throws -> String {
        var body: [String: any Sendable] = ["code": code, "name": code, "kind": kind]
        if let location { body["location_id"] = location }
        let created = try await client.call(.post, "/v1/channels", key: app.adminKey, json: body)
        return try #require(created.object["id"] as? String, "\(created.text)")
    }

    /// Records a sale of `lines` (sku, price; one unit each) and answers its id.
    @discardableResult
    static func sale(_ client: any TestClientProtocol, _ app: TestApp, _ externalID: String, _ channel: String, customer: String?,
                     _ lines: [(String, Int)], at: String) async throws -> String {
        let body = SalesFixtures.sale(externalID, channel: channel, customer: customer.map { ["id": $0] },
                                      lines: lines.map { ($0.0, "general", 1, $0.1) }, at: at)
        let recorded = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: body)
        #expect(recorded.status == .created, "\(recorded.text)")
        return try #require(recorded.object["id"] as? String, "\(recorded.text)")
    }

    /// Returns the first line of `sale` in `channel`.
    static func returned(_ client: any TestClientProtocol, _ app: TestApp, _ externalID: String, sale: String, _ channel: String, at: String) async throws {
        let recorded = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: [
            "kind": "return", "external_id": externalID, "channel": channel, "occurred_at": at, "original": ["id": sale],
            "lines": [["original_line": 1, "quantity": 1] as [String: any Sendable]],
        ])
        #expect(recorded.status == .created, "\(recorded.text)")
    }

    static func track(_ client: any TestClientProtocol, _ app: TestApp, _ type: String, customer: String, _ channel: String, at: String,
                      sku: String? = nil) async throws {
        var body: [String: any Sendable] = ["type": type, "customer_id": customer, "channel": channel, "occurred_at": at]
        if let sku { body["properties"] = ["sku": sku] }
        let tracked = try await client.call(.post, "/v1/events/track", key: app.adminKey, json: body)
        #expect(tracked.status == .created, "\(tracked.text)")
    }

    /// A `cart_abandoned` event as the abandonment sweep writes it, at a chosen time (the sweep stamps its own clock).
    static func abandoned(_ app: TestApp, customer: String?, anonymous: String? = nil, channelID: String, at: String) async throws {
        let when = try #require(RFC3339.milliseconds(at))
        let (services, tenantID) = (app.services, app.tenantID)
        try await services.database.transaction { sql in
            let event = JourneyEvent(id: services.ids.make(.journeyEvent), type: JourneyEventType.cartAbandoned.rawValue, customerId: customer,
                                     anonymousId: anonymous, channelId: channelID, occurredAt: StoredTime(milliseconds: when),
                                     properties: StoredJSON(.object([:])), createdAt: StoredTime(milliseconds: when))
            try await JourneyService(services: services).insert(on: sql, tenantID: tenantID, event)
        }
    }

    static func merge(_ client: any TestClientProtocol, _ app: TestApp, _ merged: String, into survivor: String) async throws {
        let response = try await client.call(.post, "/v1/customers/\(survivor)/merge", key: app.adminKey, json: ["customer_id": merged])
        #expect(response.status == .ok || response.status == .created, "\(response.text)")
    }

    static func fieldErrors(_ response: TestResponse) -> Set<String> {
        Set((response.object["errors"] as? [[String: Any]] ?? []).map { "\($0["field"] as? String ?? ""):\($0["code"] as? String ?? "")" })
    }

    /// The object of `list` whose `key` is `name` (empty when there is none).
    static func entry(_ list: Any?, _ key: String, _ name: String) -> [String: Any] {
        (list as? [[String: Any]])?.first { $0[key] as? String == name } ?? [:]
    }

    // MARK: Transitions, cross-channel value, channel mix

    /// The journeys, in March 2025 (S store, W web, A app), sale by sale:
    ///
    /// | customer | purchases | transitions |
    /// | --- | --- | --- |
    /// | Ana (with Ana's old account, merged) | S 3rd 100.00, W 4th 50.00 (old), W 6th 30.00, S 11th 20.00 (old) | S→W, W→W, W→S |
    /// | Bruno | A 5th 40.00, W 7th 60.00 | A→W |
    /// | Carla | S 3rd 25.00, S 10th 35.00 (and W on 21 February, outside the period) | S→S |
    /// | Dan | W 13th 15.00, returned in store on the 14th | — |
    /// | Eva | S and W at the same instant on the 12th, 10.00 and 20.00: store first | S→W |
    /// | anonymous | S 6th 8.00 | — |
    ///
    /// Store → web 2, store → store 1, web → web 1, web → store 1, app → web 1: six transitions out of
    /// three store, two web and one app purchase. Five customers, three of them (Ana, Bruno, Eva) in two kinds.
    @Test("the transition matrix, cross-channel value and channel mix of a crafted journey set match the hand-computed figures",
          arguments: TestBackend.available)
    func transitionsAndMix(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            _ = try await Self.channel(client, app, code: "app", kind: "app")
            let ids = try await Self.customers(client, app, "ana", "ana.old", "bruno", "carla", "dan", "eva")
            let (ana, anaOld, bruno, carla, dan, eva) = (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5])
            let store = "store-madrid-01"
            try await Self.sale(client, app, "S-1", store, customer: ana, [("JUMPER", 10_000)], at: Self.at(3))
            try await Self.sale(client, app, "W-1", "web", customer: anaOld, [("SCARF", 5_000)], at: Self.at(4))
            try await Self.sale(client, app, "W-2", "web", customer: ana, [("HAT", 3_000)], at: Self.at(6))
            try await Self.sale(client, app, "S-2", store, customer: anaOld, [("SOCKS", 2_000)], at: Self.at(11))
            try await Self.sale(client, app, "A-1", "app", customer: bruno, [("COAT", 4_000)], at: Self.at(5))
            try await Self.sale(client, app, "W-3", "web", customer: bruno, [("BOOTS", 6_000)], at: Self.at(7))
            try await Self.sale(client, app, "S-3", store, customer: carla, [("BAG", 2_500)], at: Self.at(3))
            try await Self.sale(client, app, "S-4", store, customer: carla, [("BELT", 3_500)], at: Self.at(10))
            try await Self.sale(client, app, "W-4", "web", customer: carla, [("DRESS", 9_900)], at: Self.at(21, month: 2))
            let dansSale = try await Self.sale(client, app, "W-5", "web", customer: dan, [("TIE", 1_500)], at: Self.at(13))
            try await Self.returned(client, app, "R-1", sale: dansSale, store, at: Self.at(14))
            try await Self.sale(client, app, "S-5", store, customer: eva, [("CAP", 1_000)], at: Self.at(12))
            try await Self.sale(client, app, "W-6", "web", customer: eva, [("GLOVES", 2_000)], at: Self.at(12))
            try await Self.sale(client, app, "S-6", store, customer: nil, [("PIN", 800)], at: Self.at(6))

            // Before the merge Ana's two accounts are two journeys: S→W and W→S instead of S→W, W→W, W→S.
            let unmerged = try await Self.report(client, app, "channel-transitions?\(Self.march)")
            let before = try #require(unmerged["matrix"] as? [String: Any], "\(unmerged)")
            #expect(before["customers"] as? Int == 6 && before["cross_channel_customers"] as? Int == 4, "\(before)")
            #expect(before["transitions"] as? Int == 5)

            try await Self.merge(client, app, anaOld, into: ana)
            let transitions = try await Self.report(client, app, "channel-transitions?\(Self.march)")
            let matrix = try #require(transitions["matrix"] as? [String: Any], "\(transitions)")
            #expect(transitions["by"] as? String == "kind")
            #expect(matrix["channels"] as? [String] == ["store", "web", "app", "call_center", "marketplace", "social"], "\(matrix)")
            let zeros = [0, 0, 0, 0, 0, 0]
            #expect(matrix["counts"] as? [[Int]] == [[1, 2, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], zeros, zeros, zeros], "\(matrix)")
            #expect(matrix["row_totals"] as? [Int] == [3, 2, 1, 0, 0, 0])
            #expect(matrix["transitions"] as? Int == 6)
            let probabilities = try #require(matrix["probabilities"] as? [[Double]])
            #expect(probabilities[0] == [0.3333, 0.6667, 0, 0, 0, 0] && probabilities[1] == [0.5, 0.5, 0, 0, 0, 0] && probabilities[2] == [0, 1, 0, 0, 0, 0])
            #expect(matrix["customers"] as? Int == 5 && matrix["cross_channel_customers"] as? Int == 3 && matrix["cross_channel_share"] as? Double == 0.6)

            // A tenant of many customers is read in ranges of them at once: wherever the ranges split, the figures are the same.
            let march = JourneyAnalyticsQuery(
                from: 1_740_787_200_000, to: 1_743_465_599_999, timeZone: "UTC", offsetMilliseconds: 0, interval: .day, grouping: .kind,
                channel: nil, channelKind: nil, days: 7, currency: "EUR")
            for pivot in ids.sorted() {
                let ranged = JourneyAnalytics(services: app.services, ranges: CustomerKeyRanges(starts: [pivot]))
                let split = try await ranged.channelTransitions(march, tenantID: app.tenantID).matrix
                #expect(split.counts == [[1, 2, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], zeros, zeros, zeros], "split at \(pivot)")
                #expect(split.customers == 5 && split.crossChannelCustomers == 3, "split at \(pivot)")
                let crossSplit = try await ranged.crossChannel(march, tenantID: app.tenantID)
                #expect(crossSplit.customers == 5 && crossSplit.crossChannel.orders == 8 && crossSplit.crossChannel.revenue == 33_000
                    && crossSplit.singleChannel.orders == 3 && crossSplit.singleChannel.revenue == 7_500, "split at \(pivot)")
            }

            // A tenant of many channels has each sale's channel looked up instead of spelled out: the same paths, by kind and by code.
            let basis = try await JourneyAnalytics.basis(in: app.services.database, tenantID: app.tenantID)
            for grouping in JourneyAnalyticsQuery.Grouping.allCases {
                func paths(spelledOut: Int) async throws -> JourneyAnalytics.PurchasePaths {
                    try await JourneyAnalytics.paths(in: app.services.database, basis: basis, tenantID: app.tenantID,
                                                     from: march.from, to: march.to, grouping: grouping, channelsSpelledOut: spelledOut)
                }
                let (spelled, looked) = (try await paths(spelledOut: 32), try await paths(spelledOut: 0))
                #expect(spelled.groups.count == 3 && spelled.groups == looked.groups && spelled.counts == looked.counts, "\(grouping)")
                #expect(spelled.customers == 5 && looked.customers == 5 && spelled.crossChannel == looked.crossChannel)
            }
            // The scorecard's buyers, counted without paths: the same customers and cross-channel customers, both ways of naming channels.
            let tenantID = app.tenantID
            let reachedAsSet = JourneyAnalytics.Reached.set { inRange in
                "SELECT id AS customer_id FROM customers WHERE tenant_id = \(bind: tenantID) AND id IN (\(bind: ana), \(bind: bruno))\(inRange("id"))"
            }
            for spelledOut in [32, 0] {
                for reached in [JourneyAnalytics.Reached.condition("g.ckey = \(bind: ana)"), reachedAsSet] {
                    let buyers = try await JourneyAnalytics.buyers(in: app.services.database, basis: basis, tenantID: app.tenantID, from: march.from,
                                                                   to: march.to, reached: reached, channelsSpelledOut: spelledOut)
                    let expected: Int64 = if case .set = reached { 2 } else { 1 }
                    #expect(buyers == JourneyAnalytics.Buyers(customers: 5, crossChannel: 3, reached: expected), "\(spelledOut)")
                }
            }
            for pivot in ids.sorted() {
                let split = try await JourneyAnalytics.buyers(in: app.services.database, basis: JourneyAnalytics.basis(
                    in: app.services.database, tenantID: app.tenantID, ranges: CustomerKeyRanges(starts: [pivot])), tenantID: app.tenantID,
                    from: march.from, to: march.to, reached: reachedAsSet)
                #expect(split == JourneyAnalytics.Buyers(customers: 5, crossChannel: 3, reached: 2), "the reached set read by ranges, split at \(pivot)")
            }
            var lookingUp = JourneyAnalytics(services: app.services)
            lookingUp.channelsSpelledOut = 0
            for filtered in [march, JourneyAnalyticsQuery(from: march.from, to: march.to, timeZone: "UTC", offsetMilliseconds: 0, interval: .day,
                                                          grouping: .kind, channel: nil, channelKind: "app", days: 7, currency: "EUR")] {
                let spelled = try await JourneyAnalytics(services: app.services).crossChannel(filtered, tenantID: app.tenantID)
                let looked = try await lookingUp.crossChannel(filtered, tenantID: app.tenantID)
                #expect(spelled.customers == looked.customers && spelled.crossChannel.orders == looked.crossChannel.orders
                    && spelled.crossChannel.revenue == looked.crossChannel.revenue && spelled.singleChannel.orders == looked.singleChannel.orders,
                    "\(filtered.channelKind ?? "all")")
                #expect(spelled.customers == (filtered.channelKind == nil ? 5 : 1), "Bruno alone bought in the app")
            }

            let byChannel = try await Self.report(client, app, "channel-transitions?\(Self.march)&by=channel")
            let codes = try #require(byChannel["matrix"] as? [String: Any])
            #expect(codes["channels"] as? [String] == ["app", "store-madrid-01", "web"], "\(codes)")
            #expect(codes["counts"] as? [[Int]] == [[0, 0, 1], [0, 1, 2], [0, 1, 1]])

            // Cross-channel: Ana 4 orders 200.00, Bruno 2 / 100.00, Eva 2 / 30.00 against Carla 2 / 60.00 and Dan 1 / 15.00.
            let cross = try await Self.report(client, app, "cross-channel?\(Self.march)")
            #expect(cross["customers"] as? Int == 5 && cross["cross_channel_share"] as? Double == 0.6 && cross["currency"] as? String == "EUR")
            let multi = try #require(cross["cross_channel"] as? [String: Any], "\(cross)")
            #expect(multi["customers"] as? Int == 3 && multi["orders"] as? Int == 8 && multi["revenue"] as? Int == 33_000, "\(multi)")
            #expect(multi["average_order_value"] as? Int == 4_125 && multi["revenue_per_customer"] as? Int == 11_000)
            #expect(multi["orders_per_customer"] as? Double == 2.6667 && multi["revenue_share"] as? Double == 0.8148 && multi["customer_share"] as? Double == 0.6)
            let single = try #require(cross["single_channel"] as? [String: Any])
            #expect(single["customers"] as? Int == 2 && single["orders"] as? Int == 3 && single["revenue"] as? Int == 7_500, "\(single)")
            #expect(single["average_order_value"] as? Int == 2_500 && single["revenue_per_customer"] as? Int == 3_750 && single["orders_per_customer"] as? Double == 1.5)
            #expect(cross["value_ratio"] as? Double == 2.9333, "110.00 a cross-channel customer against 37.50")
            #expect((cross["anonymous"] as? [String: Any])?["orders"] as? Int == 1 && (cross["anonymous"] as? [String: Any])?["revenue"] as? Int == 800)

            // The app's customers: Bruno alone, who also bought on the web; no single-channel group to compare with.
            let appBuyers = try await Self.report(client, app, "cross-channel?\(Self.march)&channel_kind=app")
            #expect(appBuyers["customers"] as? Int == 1 && (appBuyers["cross_channel"] as? [String: Any])?["revenue"] as? Int == 10_000, "\(appBuyers)")
            #expect(appBuyers["value_ratio"] == nil && (appBuyers["anonymous"] as? [String: Any])?["orders"] as? Int == 0)

            // Weekly mix (weeks from Monday; the period's first day, Saturday 1 March, is in the week of 24 February).
            let mix = try await Self.report(client, app, "channel-mix?\(Self.march)&interval=week")
            #expect(mix["series"] as? [String] == ["store", "web", "app"], "\(mix)")
            #expect(mix["sales"] as? Int == 12 && mix["revenue"] as? Int == 41_300 && mix["time_zone"] as? String == "Europe/Madrid")
            let buckets = try #require(mix["buckets"] as? [[String: Any]])
            #expect(buckets.map { $0["start"] as? String ?? "" } == ["2025-02-24", "2025-03-03", "2025-03-10", "2025-03-17", "2025-03-24", "2025-03-31"])
            #expect(buckets.map { $0["sales"] as? Int ?? -1 } == [0, 7, 5, 0, 0, 0] && buckets.map { $0["revenue"] as? Int ?? -1 } == [0, 31_300, 10_000, 0, 0, 0])
            let firstWeek = Self.entry(buckets[1]["channels"], "channel", "store")
            #expect(firstWeek["sales"] as? Int == 3 && firstWeek["revenue"] as? Int == 13_300 && firstWeek["revenue_share"] as? Double == 0.4249, "\(buckets[1])")
            #expect(Self.entry(buckets[1]["channels"], "channel", "web")["revenue"] as? Int == 14_000)
            #expect(Self.entry(buckets[1]["channels"], "channel", "app")["revenue_share"] as? Double == 0.1278)
            let secondWeek = Self.entry(buckets[2]["channels"], "channel", "store")
            #expect(secondWeek["sales"] as? Int == 3 && secondWeek["revenue"] as? Int == 6_500 && secondWeek["returns"] as? Int == 1
                    && secondWeek["refunded"] as? Int == 1_500, "\(buckets[2])")
            #expect(Self.entry(buckets[2]["channels"], "channel", "app")["sales"] as? Int == 0, "every series in every interval")
            let storeTotals = Self.entry(mix["totals"], "channel", "store")
            #expect(storeTotals["sales"] as? Int == 6 && storeTotals["revenue"] as? Int == 19_800 && storeTotals["revenue_share"] as? Double == 0.4794,
                    "\(mix)")
            #expect(Self.entry(mix["totals"], "channel", "web")["revenue_share"] as? Double == 0.4237)

            let monthly = try await Self.report(client, app, "channel-mix?\(Self.march)&interval=month&channel_kind=web")
            #expect((monthly["buckets"] as? [[String: Any]])?.map { $0["start"] as? String ?? "" } == ["2025-03-01"], "\(monthly)")
            #expect(monthly["series"] as? [String] == ["web"] && monthly["sales"] as? Int == 5 && monthly["revenue"] as? Int == 17_500)
            let daily = try await Self.report(client, app, "channel-mix?\(Self.march)&channel=store-madrid-01")
            #expect((daily["buckets"] as? [[String: Any]])?.count == 31 && daily["channel"] as? String == "store-madrid-01" && daily["sales"] as? Int == 6)
        }
    }

    // MARK: ROPO

    /// Store sales: Ana's jumper three days after viewing it on the web (ROPO); Bruno's coat nine days
    /// after viewing it in the app (ROPO within 10 days, not 7); Carla's hat after viewing a scarf; Dan's
    /// bag after viewing it at the store's kiosk; Eva's shoes (with socks, 75.00) a day after her old,
    /// merged account viewed them on the web (ROPO); an anonymous jumper; Fay's jumper, viewed only after.
    /// Online sales: Gil's two days after a store visit (reverse ROPO); Hugo's fourteen days after one
    /// (reverse within 14 days); Ana's without a visit; an anonymous one.
    @Test("research online, purchase offline and the reverse are counted per sale within the window, across a merge",
          arguments: TestBackend.available)
    func ropo(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            _ = try await Self.channel(client, app, code: "app", kind: "app")
            let ids = try await Self.customers(client, app, "ana", "bruno", "carla", "dan", "eva", "eva.old", "fay", "gil", "hugo")
            let (ana, bruno, carla, dan, eva, evaOld, fay, gil, hugo) = (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[7], ids[8])
            let store = "store-madrid-01"
            try await Self.track(client, app, "product_viewed", customer: ana, "web", at: Self.at(2), sku: "JUMPER")
            try await Self.track(client, app, "product_viewed", customer: bruno, "app", at: Self.at(1), sku: "COAT")
            try await Self.track(client, app, "product_viewed", customer: carla, "web", at: Self.at(4), sku: "SCARF")
            try await Self.track(client, app, "product_viewed", customer: dan, store, at: Self.at(4), sku: "BAG")
            try await Self.track(client, app, "product_viewed", customer: evaOld, "web", at: Self.at(6), sku: "SHOES")
            try await Self.track(client, app, "product_viewed", customer: fay, "web", at: Self.at(20), sku: "JUMPER")
            try await Self.track(client, app, "store_visited", customer: gil, store, at: Self.at(10))
            try await Self.track(client, app, "store_visited", customer: hugo, store, at: Self.at(1))

            try await Self.sale(client, app, "S-1", store, customer: ana, [("JUMPER", 5_000)], at: Self.at(5))
            try await Self.sale(client, app, "S-2", store, customer: bruno, [("COAT", 9_000)], at: Self.at(10))
            try await Self.sale(client, app, "S-3", store, customer: carla, [("HAT", 2_000)], at: Self.at(5))
            try await Self.sale(client, app, "S-4", store, customer: dan, [("BAG", 3_000)], at: Self.at(5))
            try await Self.sale(client, app, "S-5", store, customer: eva, [("SHOES", 7_000), ("SOCKS", 500)], at: Self.at(7))
            try await Self.sale(client, app, "S-6", store, customer: nil, [("JUMPER", 5_000)], at: Self.at(8))
            try await Self.sale(client, app, "S-7", store, customer: fay, [("JUMPER", 5_000)], at: Self.at(19))
            try await Self.sale(client, app, "W-1", "web", customer: gil, [("LAMP", 4_000)], at: Self.at(12))
            try await Self.sale(client, app, "A-1", "app", customer: hugo, [("MUG", 2_500)], at: Self.at(15))
            try await Self.sale(client, app, "W-2", "web", customer: ana, [("HAT", 3_000)], at: Self.at(20))
            try await Self.sale(client, app, "W-3", "web", customer: nil, [("PEN", 1_000)], at: Self.at(21))
            try await Self.merge(client, app, evaOld, into: eva)

            let week = try await Self.report(client, app, "ropo?\(Self.march)")
            #expect(week["days"] as? Int == 7)
            let ropo = try #require(week["research_online_purchase_offline"] as? [String: Any], "\(week)")
            #expect(ropo["purchases"] as? Int == 7 && ropo["identified_purchases"] as? Int == 6, "\(ropo)")
            #expect(ropo["matched_purchases"] as? Int == 2 && ropo["revenue"] as? Int == 12_500 && ropo["customers"] as? Int == 2)
            #expect(ropo["share_of_identified"] as? Double == 0.3333 && (ropo["definition"] as? String)?.isEmpty == false)
            let reverse = try #require(week["research_offline_purchase_online"] as? [String: Any])
            #expect(reverse["purchases"] as? Int == 4 && reverse["identified_purchases"] as? Int == 3, "\(reverse)")
            #expect(reverse["matched_purchases"] as? Int == 1 && reverse["revenue"] as? Int == 4_000 && reverse["share_of_identified"] as? Double == 0.3333)

            let fortnight = try await Self.report(client, app, "ropo?\(Self.march)&days=14")
            let wider = try #require(fortnight["research_online_purchase_offline"] as? [String: Any])
            #expect(wider["matched_purchases"] as? Int == 3 && wider["revenue"] as? Int == 21_500 && wider["share_of_identified"] as? Double == 0.5, "\(wider)")
            let widerReverse = try #require(fortnight["research_offline_purchase_online"] as? [String: Any])
            #expect(widerReverse["matched_purchases"] as? Int == 2 && widerReverse["revenue"] as? Int == 6_500
                    && widerReverse["share_of_identified"] as? Double == 0.6667, "a visit exactly 14 days before counts: \(widerReverse)")

            // The report reads the matches from the smaller side (here the events); from the sales they are the same.
            // And read in ranges of customers, wherever they split.
            let splits = [nil] + ids.sorted().map { CustomerKeyRanges(starts: [$0]) }
            for (days, matched, revenue, reverseMatched, reverseRevenue) in [(7, 2, 12_500, 1, 4_000), (14, 3, 21_500, 2, 6_500)] {
                let query = JourneyAnalyticsQuery(
                    from: 1_740_787_200_000, to: 1_743_465_599_999, timeZone: "UTC", offsetMilliseconds: 0, interval: .day, grouping: .kind,
                    channel: nil, channelKind: nil, days: days, currency: "EUR")
                for drive in [JourneyAnalytics.MatchDrive.events, .sales] {
                    for ranges in splits {
                        let analytics = JourneyAnalytics(services: app.services, ranges: ranges)
                        let report = try await analytics.ropo(query, tenantID: app.tenantID, drive: drive)
                        let forward = report.researchOnlinePurchaseOffline, backward = report.researchOfflinePurchaseOnline
                        #expect(forward.matchedPurchases == Int64(matched) && forward.revenue == Int64(revenue) && forward.customers == Int64(matched),
                                "\(days) days from the \(drive): \(forward)")
                        #expect(backward.matchedPurchases == Int64(reverseMatched) && backward.revenue == Int64(reverseRevenue),
                                "\(days) days from the \(drive): \(backward)")
                    }
                }
            }
        }
    }

    // MARK: Abandoned carts

    /// Abandoned: Ana's web cart on the 2nd (she buys in store on the 4th), Bruno's app cart on the
    /// 5th (he buys on the web ten days later), an anonymous web cart, Carla's web cart on the 10th at
    /// 10:00 (she buys on the web at 12:00), Dan's web cart on the 12th (he had bought the day before),
    /// Eva's old account's app cart on the 20th (she buys in the app 23 hours later); Fay's in February
    /// is outside the period. Two orders are placed in the period, both on the web.
    @Test("abandoned carts give the abandonment rate, the recovery rate within the window and the channel of recovery",
          arguments: TestBackend.available)
    func abandonedCarts(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let fixtures = try await SalesFixtures.make(app, client)
            let appChannel = try await Self.channel(client, app, code: "app", kind: "app")
            let ids = try await Self.customers(client, app, "ana", "bruno", "carla", "dan", "eva", "eva.old", "fay", "gil")
            let (ana, bruno, carla, dan, eva, evaOld, fay, gil) = (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[7])
            let web = fixtures.webChannelID
            try await Self.abandoned(app, customer: ana, channelID: web, at: Self.at(2))
            try await Self.abandoned(app, customer: bruno, channelID: appChannel, at: Self.at(5))
            try await Self.abandoned(app, customer: nil, anonymous: "anon-1", channelID: web, at: Self.at(6))
            try await Self.abandoned(app, customer: carla, channelID: web, at: Self.at(10))
            try await Self.abandoned(app, customer: dan, channelID: web, at: Self.at(12))
            try await Self.abandoned(app, customer: evaOld, channelID: appChannel, at: Self.at(20))
            try await Self.abandoned(app, customer: fay, channelID: web, at: Self.at(25, month: 2))
            try await Self.sale(client, app, "S-1", "store-madrid-01", customer: ana, [("JUMPER", 5_000)], at: Self.at(4))
            try await Self.sale(client, app, "W-1", "web", customer: bruno, [("COAT", 9_000)], at: Self.at(15))
            try await Self.sale(client, app, "W-2", "web", customer: carla, [("HAT", 2_000)], at: Self.at(10, 12))
            try await Self.sale(client, app, "S-2", "store-madrid-01", customer: dan, [("BAG", 3_000)], at: Self.at(11))
            try await Self.sale(client, app, "A-1", "app", customer: eva, [("MUG", 2_500)], at: Self.at(21, 9))
            try await Self.sale(client, app, "W-3", "web", customer: fay, [("PEN", 1_000)], at: Self.at(1))
            try await Self.track(client, app, "order_placed", customer: carla, "web", at: Self.at(10, 12))
            try await Self.track(client, app, "order_placed", customer: gil, "web", at: Self.at(14))
            try await Self.merge(client, app, evaOld, into: eva)

            let carts = try await Self.report(client, app, "abandoned-carts?\(Self.march)")
            #expect(carts["abandoned"] as? Int == 6 && carts["orders_placed"] as? Int == 2 && carts["abandonment_rate"] as? Double == 0.75, "\(carts)")
            #expect(carts["identified"] as? Int == 5 && carts["recovered"] as? Int == 3 && carts["recovery_days"] as? Int == 7)
            #expect(carts["recovery_rate"] as? Double == 0.5 && carts["identified_recovery_rate"] as? Double == 0.6)
            let webCarts = Self.entry(carts["by_cart_channel"], "channel", "web")
            #expect(webCarts["abandoned"] as? Int == 4 && webCarts["identified"] as? Int == 3 && webCarts["recovered"] as? Int == 2
                    && webCarts["recovery_rate"] as? Double == 0.5, "\(carts)")
            let appCarts = Self.entry(carts["by_cart_channel"], "channel", "app")
            #expect(appCarts["abandoned"] as? Int == 2 && appCarts["recovered"] as? Int == 1)
            let recovered = try #require(carts["recovered_in"] as? [[String: Any]])
            #expect(recovered.map { $0["channel"] as? String ?? "" } == ["store", "web", "app"], "\(recovered)")
            #expect(recovered.allSatisfy { $0["recovered"] as? Int == 1 && $0["share"] as? Double == 0.3333 })

            let sameDay = try await Self.report(client, app, "abandoned-carts?\(Self.march)&days=1")
            #expect(sameDay["recovered"] as? Int == 2, "Carla's and Eva's: \(sameDay)")
            #expect((sameDay["recovered_in"] as? [[String: Any]])?.map { $0["channel"] as? String ?? "" } == ["web", "app"])
            let tenDays = try await Self.report(client, app, "abandoned-carts?\(Self.march)&days=10")
            #expect(tenDays["recovered"] as? Int == 4, "Bruno's purchase exactly ten days later counts: \(tenDays)")

            let appOnly = try await Self.report(client, app, "abandoned-carts?\(Self.march)&channel_kind=app")
            #expect(appOnly["abandoned"] as? Int == 2 && appOnly["orders_placed"] as? Int == 0 && appOnly["abandonment_rate"] as? Double == 1, "\(appOnly)")
            #expect(appOnly["recovered"] as? Int == 1 && appOnly["channel_kind"] as? String == "app")
            let webOnly = try await Self.report(client, app, "abandoned-carts?\(Self.march)&channel=web")
            #expect((webOnly["by_cart_channel"] as? [[String: Any]])?.map { $0["channel"] as? String ?? "" } == ["web"], "\(webOnly)")
            #expect(webOnly["abandoned"] as? Int == 4 && webOnly["orders_placed"] as? Int == 2)
        }
    }

    // MARK: Store identification and returns

    @Test("identified store sales are shared out by store, and returns are counted by sale channel and return channel",
          arguments: TestBackend.available)
    func identificationAndReturns(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let location = try await client.call(.post, "/v1/locations", key: app.adminKey, json: [
                "code": "barcelona-01", "name": "Barcelona", "kind": "store", "country": "ES",
            ])
            let locationID = try #require(location.object["id"] as? String, "\(location.text)")
            _ = try await Self.channel(client, app, code: "store-bcn-01", kind: "store", location: locationID)
            let ids = try await Self.customers(client, app, "ana", "bruno", "carla", "dan")
            let (ana, bruno, carla, dan) = (ids[0], ids[1], ids[2], ids[3])
            let (madrid, barcelona) = ("store-madrid-01", "store-bcn-01")
            try await Self.sale(client, app, "M-1", madrid, customer: ana, [("JUMPER", 10_000)], at: Self.at(2))
            let brunosSale = try await Self.sale(client, app, "M-2", madrid, customer: bruno, [("COAT", 5_000)], at: Self.at(3))
            try await Self.sale(client, app, "M-3", madrid, customer: nil, [("HAT", 2_000)], at: Self.at(4))
            try await Self.sale(client, app, "M-4", madrid, customer: nil, [("BAG", 3_000)], at: Self.at(5))
            let carlasSale = try await Self.sale(client, app, "B-1", barcelona, customer: carla, [("SCARF", 4_000)], at: Self.at(3))
            try await Self.sale(client, app, "B-2", barcelona, customer: nil, [("PIN", 1_000)], at: Self.at(4))
            let anasWebSale = try await Self.sale(client, app, "W-1", "web", customer: ana, [("DRESS", 6_000)], at: Self.at(6))
            let dansWebSale = try await Self.sale(client, app, "W-2", "web", customer: dan, [("BOOTS", 8_000)], at: Self.at(6))
            try await Self.returned(client, app, "R-1", sale: anasWebSale, madrid, at: Self.at(8))
            try await Self.returned(client, app, "R-2", sale: dansWebSale, "web", at: Self.at(9))
            try await Self.returned(client, app, "R-3", sale: brunosSale, barcelona, at: Self.at(10))
            try await Self.returned(client, app, "R-4", sale: carlasSale, "web", at: Self.at(11))

            let identification = try await Self.report(client, app, "store-identification?\(Self.march)")
            #expect(identification["sales"] as? Int == 6 && identification["identified"] as? Int == 3 && identification["anonymous"] as? Int == 3,
                    "\(identification)")
            #expect(identification["identified_share"] as? Double == 0.5 && identification["revenue"] as? Int == 25_000
                    && identification["identified_revenue"] as? Int == 19_000 && identification["identified_revenue_share"] as? Double == 0.76)
            let stores = try #require(identification["stores"] as? [[String: Any]])
            #expect(stores.map { $0["channel"] as? String ?? "" } == [barcelona, madrid], "\(stores)")
            #expect(stores[0]["location"] as? String == "barcelona-01" && stores[0]["location_name"] as? String == "Barcelona"
                    && stores[0]["identified_share"] as? Double == 0.5 && stores[0]["identified_revenue_share"] as? Double == 0.8)
            #expect(stores[1]["sales"] as? Int == 4 && stores[1]["identified"] as? Int == 2 && stores[1]["identified_revenue_share"] as? Double == 0.75)
            let oneStore = try await Self.report(client, app, "store-identification?\(Self.march)&channel=\(barcelona)")
            #expect(oneStore["sales"] as? Int == 2 && (oneStore["stores"] as? [[String: Any]])?.count == 1 && oneStore["channel"] as? String == barcelona)

            let returns = try await Self.report(client, app, "returns?\(Self.march)")
            #expect(returns["returns"] as? Int == 4 && returns["amount"] as? Int == 23_000 && returns["linked"] as? Int == 4 && returns["unlinked"] as? Int == 0,
                    "\(returns)")
            #expect(returns["cross_channel"] as? Int == 2 && returns["cross_channel_amount"] as? Int == 10_000 && returns["cross_channel_share"] as? Double == 0.5)
            let matrix = try #require(returns["matrix"] as? [String: Any])
            let zeros = [0, 0, 0, 0, 0, 0]
            #expect(matrix["counts"] as? [[Int]] == [[1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0], zeros, zeros, zeros, zeros], "\(matrix)")
            #expect(matrix["amounts"] as? [[Int]] == [[5_000, 4_000, 0, 0, 0, 0], [6_000, 8_000, 0, 0, 0, 0], zeros, zeros, zeros, zeros])
            let flows = try #require(returns["flows"] as? [[String: Any]])
            #expect(flows.map { "\($0["sold_in"] ?? "")>\($0["returned_in"] ?? ""):\($0["cross_channel"] as? Bool ?? false)" }
                    == ["store>store:false", "store>web:true", "web>store:true", "web>web:false"], "\(flows)")
        }
    }

    // MARK: Maturity

    /// In the last 90 days: store sales by Ana (40.00), Bruno (30.00), Dan (15.00) and two anonymous
    /// ones, web sales by Ana (10.00) and Carla (20.00) — points earned at a point per euro, double on
    /// the web: Ana 40 in store and 20 on the web, Bruno 30, Carla 40, Dan 15. Ana spends 30 points on
    /// the web (40 of her 60 were earned elsewhere: 0.6667) and 10 in store (20 of 60: 0.3333); Dan
    /// spends 5 points in store twice (all his were earned there: 0). A gift card sold over the API and
    /// spent on the web records no issuing channel and is left out. Bruno's store sale comes back on
    /// the web, Carla's web sale on the web. Ana is in a segment; the campaign reached Bruno and held Carla out.
    ///
    /// | indicator | value | level |
    /// | --- | --- | --- |
    /// | identified sales share | 3 / 5 = 0.6 | managed (next: 0.70) |
    /// | cross-channel customers | 1 / 4 = 0.25 | optimized |
    /// | cross-channel benefit use | 1 / 4 = 0.25 | managed (next: 0.30) |
    /// | cross-channel returns | 1 / 2 = 0.5 | optimized |
    /// | personalization coverage | 2 / 4 = 0.5 | repeatable (next: 0.60) |
    /// | service response time | not measurable | — |
    @Test("the maturity scorecard measures each indicator in the tenant's data and takes the weakest as the level",
          arguments: TestBackend.available)
    func maturity(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            _ = try await LoyaltyAPITests.programme(client, app)
            let ids = try await Self.customers(client, app, "ana", "bruno", "carla", "dan")
            let (ana, bruno, carla, dan) = (ids[0], ids[1], ids[2], ids[3])
            try await LoyaltyAPITests.sale(client, app, "S-1", customer: ana, lines: [("JUMPER", "general", 1, 4_000)], daysAgo: 10)
            try await LoyaltyAPITests.sale(client, app, "W-1", customer: ana, channel: "web", lines: [("HAT", "general", 1, 1_000)], daysAgo: 8)
            let brunosSale = try await LoyaltyAPITests.sale(client, app, "S-2", customer: bruno, lines: [("COAT", "general", 1, 3_000)], daysAgo: 7)
            let carlasSale = try await LoyaltyAPITests.sale(client, app, "W-2", customer: carla, channel: "web", lines: [("BAG", "general", 1, 2_000)],
                                                            daysAgo: 6)
            try await LoyaltyAPITests.sale(client, app, "S-3", customer: dan, lines: [("SOCKS", "general", 1, 1_500)], daysAgo: 5)
            for number in 1...2 {
                let anonymous = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale(
                    "S-A\(number)", customer: nil, lines: [("PIN", "general", 1, 1_000)], at: LoyaltyAPITests.daysAgo(4)))
                #expect(anonymous.status == .created, "\(anonymous.text)")
            }
            #expect(try await LoyaltyAPITests.balance(client, app, ana) == 60)

            for (customer, channel, points) in [(ana, "web", 30), (ana, "store-madrid-01", 10), (dan, "store-madrid-01", 5), (dan, "store-madrid-01", 5)] {
                let redeemed = try await client.call(.post, "/v1/redemptions", key: app.adminKey, json: [
                    "channel": channel, "customer_id": customer, "instruments": [["type": "points", "amount": points] as [String: any Sendable]],
                ])
                #expect(redeemed.status == .created, "\(redeemed.text)")
            }
            let card = try await client.call(.post, "/v1/gift_cards", key: app.adminKey, json: ["amount": 2_000])
            let cardID = try #require(card.object["id"] as? String, "\(card.text)")
            let spent = try await client.call(.post, "/v1/redemptions", key: app.adminKey, json: [
                "channel": "web", "instruments": [["type": "gift_card", "id": cardID, "amount": 500] as [String: any Sendable]],
            ])
            #expect(spent.status == .created, "\(spent.text)")

            let returns = [("R-1", brunosSale), ("R-2", carlasSale)]
            for (externalID, sale) in returns {
                let returned = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: [
                    "kind": "return", "external_id": externalID, "channel": "web", "occurred_at": LoyaltyAPITests.daysAgo(1), "original": ["id": sale],
                    "lines": [["original_line": 1, "quantity": 1] as [String: any Sendable]],
                ])
                #expect(returned.status == .created, "\(returned.text)")
            }

            let segment = try await client.call(.post, "/v1/segments", key: app.adminKey, json: [
                "code": "vip", "name": "VIP", "kind": "static", "customer_ids": [ana],
            ])
            #expect(segment.status == .created, "\(segment.text)")
            let (services, tenantID) = (app.services, app.tenantID)
            try await services.database.transaction { sql in
                for (customer, control) in [(bruno, 0), (carla, 1)] {
                    try await sql.raw("""
                        INSERT INTO campaign_members (tenant_id, run_id, customer_id, campaign_id, control, coupon_code, points, gift_card_id, created_at)
                        VALUES (\(bind: tenantID), 'run_test', \(bind: customer), 'cmp_test', \(bind: control), NULL, 0, NULL, \(bind: services.nowMilliseconds))
                        """).run()
                }
            }

            let card360 = try await Self.report(client, app, "maturity")
            #expect(card360["level"] as? String == "repeatable" && card360["level_number"] as? Int == 3, "\(card360)")
            #expect(card360["limiting_indicators"] as? [String] == ["personalization_coverage"] && card360["measured_indicators"] as? Int == 5)
            let indicators = card360["indicators"]
            let expected: [(String, Double, String, Int, Int, String?, Double?)] = [
                ("identified_sales_share", 0.6, "managed", 3, 5, "optimized", 0.7),
                ("cross_channel_customers", 0.25, "optimized", 1, 4, nil, nil),
                ("cross_channel_benefit_use", 0.25, "managed", 1, 4, "optimized", 0.3),
                ("cross_channel_returns", 0.5, "optimized", 1, 2, nil, nil),
                ("personalization_coverage", 0.5, "repeatable", 2, 4, "managed", 0.6),
            ]
            for (name, value, level, numerator, denominator, next, threshold) in expected {
                let indicator = Self.entry(indicators, "indicator", name)
                #expect(indicator["value"] as? Double == value && indicator["level"] as? String == level, "\(name): \(indicator)")
                #expect(indicator["numerator"] as? Double == Double(numerator) && indicator["denominator"] as? Int == denominator, "\(name): \(indicator)")
                #expect(indicator["next_level"] as? String == next && indicator["next_threshold"] as? Double == threshold, "\(name): \(indicator)")
                #expect((indicator["definition"] as? String)?.isEmpty == false)
            }
            let service = Self.entry(indicators, "indicator", "service_response_time")
            #expect(service["value"] == nil && service["level"] == nil && service["unit"] as? String == "hours", "\(service)")
            #expect(service["unmeasurable"] is String && service["advice"] as? String == MaturityIndicator.serviceResponseTime.howToMeasure)
            #expect(Self.entry(indicators, "indicator", "personalization_coverage")["advice"] as? String == MaturityIndicator.personalizationCoverage.advice)
        }
    }

    /// A sale in store issues a coupon and a gift card through its promotion; the card is spent on the
    /// web (another channel kind), the coupon back in store (the same). A card sold over the API records
    /// no issuing channel and is left out: one of two attributable uses is cross-channel.
    @Test("coupons and gift cards issued by a sale's promotion count as benefits issued in the sale's channel",
          arguments: TestBackend.available)
    func promotionBenefits(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let ana = try await LoyaltyAPITests.customer(client, app, "ana@example.com")
            let unique = try await client.call(.post, "/v1/coupon_campaigns", key: app.adminKey, json: ["name": "Next visit", "kind": "unique"])
            let uniqueID = try #require(unique.object["id"] as? String, "\(unique.text)")
            _ = try await client.call(.post, "/v1/coupon_campaigns/\(uniqueID)/codes", key: app.adminKey, json: ["count": 5])
            let promotion = try await client.call(.post, "/v1/promotions", key: app.adminKey, json: [
                "name": "Spend and come back", "currency": "EUR", "condition": "cart.subtotal >= 50.00 EUR", "status": "active",
                "effects": [["type": "issue_coupon", "campaign_id": uniqueID] as [String: any Sendable], ["type": "issue_gift_card", "amount": 1_000]],
            ])
            #expect(promotion.status == .created, "\(promotion.text)")
            let committed = try await client.call(.post, "/v1/checkout/commit", key: app.adminKey, json: [
                "external_id": "N-1", "channel": "store-madrid-01", "currency": "EUR", "at": LoyaltyAPITests.daysAgo(0.1), "codes": [String](),
                "customer_id": ana, "lines": [["sku": "JUMPER", "name": "Jumper", "category": "women/knitwear", "quantity": 1, "unit_price": 10_000]
                    as [String: any Sendable]],
            ])
            #expect(committed.status == .created, "\(committed.text)")
            let issued = try #require(committed.object["issued"] as? [[String: Any]], "\(committed.text)")
            let coupon = try #require(issued.first { $0["type"] as? String == "coupon" }?["coupon_code"] as? String)
            let cardID = try #require(issued.first { $0["type"] as? String == "gift_card" }?["gift_card_id"] as? String)
            let other = try await client.call(.post, "/v1/gift_cards", key: app.adminKey, json: ["amount": 2_000])
            let otherID = try #require(other.object["id"] as? String, "\(other.text)")
            let uses: [[String: any Sendable]] = [
                ["channel": "web", "customer_id": ana, "instruments": [["type": "gift_card", "id": cardID, "amount": 500] as [String: any Sendable]]],
                ["channel": "store-madrid-01", "customer_id": ana, "instruments": [["type": "coupon", "code": coupon] as [String: any Sendable]]],
                ["channel": "web", "instruments": [["type": "gift_card", "id": otherID, "amount": 500] as [String: any Sendable]]],
            ]
            for use in uses {
                let redeemed = try await client.call(.post, "/v1/redemptions", key: app.adminKey, json: use)
                #expect(redeemed.status == .created, "\(redeemed.text)")
            }
            let card = try await Self.report(client, app, "maturity")
            let benefits = Self.entry(card["indicators"], "indicator", "cross_channel_benefit_use")
            #expect(benefits["numerator"] as? Double == 1 && benefits["denominator"] as? Int == 2 && benefits["value"] as? Double == 0.5, "\(card)")
            #expect(benefits["level"] as? String == "optimized")
        }
    }

    // MARK: Bad input and empty tenants

    @Test("reversed, too long or malformed periods and bad filters are 400s naming each field, never 500s", arguments: TestBackend.available)
    func badInput(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let cases: [(String, Set<String>)] = [
                ("channel-mix?from=2025-03-31&to=2025-03-01", ["from:invalid_range"]),
                ("channel-transitions?from=2025-03-31T00:00:00Z&to=2025-03-30T23:59:59Z", ["from:invalid_range"]),
                ("channel-mix?from=2023-01-01&to=2025-03-01", ["from:range_too_long"]),
                ("maturity?from=2020-01-01", ["from:range_too_long"]),
                ("returns?from=yesterday&to=2025-02-30", ["from:invalid_time", "to:invalid_time"]),
                ("channel-mix?interval=hour&by=region&channel_kind=kiosk", ["interval:invalid_enum", "by:invalid_enum", "channel_kind:invalid_enum"]),
                ("cross-channel?channel=nowhere", ["channel:unknown_channel"]),
                ("ropo?days=0", ["days:out_of_range"]),
                ("abandoned-carts?days=91", ["days:out_of_range"]),
                ("ropo?days=seven", ["days:out_of_range"]),
                ("store-identification?currency=GBP", ["currency:currency_not_accepted"]),
                ("returns?channel=web", ["channel:unsupported_parameter"]),
                ("store-identification?channel_kind=store", ["channel_kind:unsupported_parameter"]),
                ("maturity?interval=week&currency=EUR", ["interval:unsupported_parameter", "currency:unsupported_parameter"]),
                ("channel-transitions?channel=web", ["channel:unsupported_parameter"]),
            ]
            for (path, fields) in cases {
                let response = try await client.call(.get, "/v1/analytics/\(path)", key: app.adminKey)
                #expect(response.status == .badRequest && response.problemCode == "validation_failed", "\(path): \(response.text)")
                #expect(Self.fieldErrors(response) == fields, "\(path): \(response.text)")
            }
            // Two years: 1 April 2024 to 31 March 2026 is 730 days.
            #expect(try await client.call(.get, "/v1/analytics/channel-mix?from=2024-04-01&to=2026-03-31", key: app.adminKey).status == .ok)

            let till = try await app.key(scopes: ["pos"])
            #expect(try await client.call(.get, "/v1/analytics/maturity", key: till).problemCode == "insufficient_scope")
            let analyst = try await app.key(scopes: ["analytics:read"])
            #expect(try await client.call(.get, "/v1/analytics/returns", key: analyst).status == .ok)
        }
    }

    @Test("a tenant with no data gets zeros, never NaN, and a scorecard with nothing measurable", arguments: TestBackend.available)
    func emptyTenant(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let mix = try await Self.report(client, app, "channel-mix?interval=month")
            #expect(mix["sales"] as? Int == 0 && (mix["series"] as? [String])?.isEmpty == true && (mix["buckets"] as? [[String: Any]])?.isEmpty == false)
            let matrix = try await Self.report(client, app, "channel-transitions")["matrix"] as? [String: Any]
            #expect(matrix?["transitions"] as? Int == 0 && matrix?["cross_channel_share"] as? Double == 0, "\(matrix ?? [:])")
            let cross = try await Self.report(client, app, "cross-channel")
            #expect(cross["customers"] as? Int == 0 && cross["value_ratio"] == nil && (cross["single_channel"] as? [String: Any])?["average_order_value"] as? Int == 0)
            let ropo = try await Self.report(client, app, "ropo")
            #expect((ropo["research_online_purchase_offline"] as? [String: Any])?["share_of_identified"] as? Double == 0)
            let carts = try await Self.report(client, app, "abandoned-carts")
            #expect(carts["abandonment_rate"] as? Double == 0 && carts["recovery_rate"] as? Double == 0)
            let identification = try await Self.report(client, app, "store-identification")
            #expect(identification["identified_share"] as? Double == 0 && (identification["stores"] as? [[String: Any]])?.isEmpty == true)
            let returns = try await Self.report(client, app, "returns")
            #expect(returns["cross_channel_share"] as? Double == 0)
            let card = try await Self.report(client, app, "maturity")
            #expect(card["level"] == nil && card["measured_indicators"] as? Int == 0 && (card["limiting_indicators"] as? [String])?.isEmpty == true, "\(card)")
            let indicators = try #require(card["indicators"] as? [[String: Any]])
            #expect(indicators.count == 6 && indicators.allSatisfy { $0["value"] == nil && $0["unmeasurable"] is String && $0["advice"] is String })
        }
    }
}
