import Foundation
import HTTPTypes
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import Testing

/// A till that lost its connection syncs its redemptions afterwards, on both databases: with their
/// original time and keys, never applied twice, and those that can no longer be honoured recorded
/// as exceptions with the amount at risk — never dropped, never taken below zero.
@Suite("Offline till sync")
struct OfflineRedemptionTests {
    @Test("a synced redemption is honoured or recorded as an exception, once, and an agent resolves it", arguments: TestBackend.available)
    func sync(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let agent = try await app.key(scopes: ["service"])
            let till = try await app.key(scopes: ["pos"])
            let issued = try await client.call(.post, "/v1/gift_cards", key: agent, json: ["amount": 1_000])
            let card = try #require(issued.object["id"] as? String)
            func offline(_ amount: Int, key: String, at time: String = "2026-12-06T09:30:00Z") async throws -> TestResponse {
                try await client.call(.post, "/v1/redemptions", key: till, json: [
                    "channel": "store-madrid-01", "offline": true, "occurred_at": time, "reference": "TILL-7-\(key)",
                    "instruments": [["type": "gift_card", "id": card, "amount": amount] as [String: any Sendable]],
                ], headers: [.idempotencyKey: key])
            }
            // While the till was offline the web shop spent 700 of the card.
            _ = try await client.call(.post, "/v1/redemptions", key: agent, json: [
                "channel": "web", "instruments": [["type": "gift_card", "id": card, "amount": 700] as [String: any Sendable]],
            ])
            let honoured = try await offline(200, key: "till-7-0001")
            #expect(honoured.status == .created && honoured.object["occurred_at"] as? String == "2026-12-06T09:30:00.000Z", "\(honoured.text)")
            let late = try await offline(500, key: "till-7-0002")
            #expect(late.status == .accepted && late.object["code"] as? String == "insufficient_funds" && late.object["amount_at_risk"] as? Int == 500,
                    "\(late.text)")
            let exceptionID = try #require(late.object["id"] as? String)
            #expect(exceptionID.hasPrefix("rex_") && late.object["status"] as? String == "open")
            // The sync is repeated after a dropped connection: nothing twice.
            #expect(try await offline(200, key: "till-7-0001").text == honoured.text)
            #expect(try await offline(500, key: "till-7-0002").text == late.text)
            let balance = try await client.call(.get, "/v1/gift_cards/\(card)", key: till)
            #expect(balance.object["balance"] as? Int == 100, "1,000 − 700 online − 200 synced; the 500 was not taken")
            #expect(try await app.count("redemption_exceptions") == 1)

            // A disabled card and an unknown code are exceptions too; bad input is still 400.
            _ = try await client.call(.post, "/v1/gift_cards/\(card)/disable", key: agent, json: [:])
            let disabled = try await offline(50, key: "till-7-0003")
            #expect(disabled.status == .accepted && disabled.object["code"] as? String == "gift_card_disabled")
            let unknownCode = try await client.call(.post, "/v1/redemptions", key: till, json: [
                "channel": "store-madrid-01", "offline": true,
                "instruments": [["type": "gift_card", "code": GiftCardCode.display(GiftCardCode.generate()), "amount": 300] as [String: any Sendable]],
            ])
            #expect(unknownCode.status == .accepted && unknownCode.object["code"] as? String == "gift_card_not_found"
                    && (unknownCode.object["instruments"] as? [[String: Any]])?.first?["code_last4"] as? String != nil, "\(unknownCode.text)")
            // A code that no longer matches does not spare the rest of the request its checks.
            let huge = try await client.call(.post, "/v1/redemptions", key: till, json: [
                "channel": "nowhere", "offline": true,
                "instruments": [["type": "gift_card", "code": GiftCardCode.display(GiftCardCode.generate()), "amount": Int64.max] as [String: any Sendable],
                                ["type": "gift_card", "id": card, "amount": Int64.max] as [String: any Sendable]],
            ])
            #expect(huge.status == .badRequest && Set((huge.object["errors"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String })
                    == ["unknown_channel", "amount_too_large"], "\(huge.text)")
            let bad = try await client.call(.post, "/v1/redemptions", key: till, json: [
                "channel": "store-madrid-01", "offline": true, "occurred_at": "yesterday",
                "instruments": [["type": "gift_card", "id": card, "amount": 1] as [String: any Sendable]],
            ])
            #expect(bad.status == .badRequest && (bad.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "invalid_date_time")
            let onHold = try await client.call(.post, "/v1/holds", key: till, json: [
                "channel": "store-madrid-01", "offline": true, "instruments": [["type": "gift_card", "id": card, "amount": 1] as [String: any Sendable]],
            ])
            #expect((onHold.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "not_for_holds")

            let open = try await client.call(.get, "/v1/redemption_exceptions?status=open", key: agent)
            #expect(open.status == .ok && open.list.count == 3)
            #expect(try await client.call(.get, "/v1/redemption_exceptions", key: till).status == .forbidden)
            let resolved = try await client.call(.post, "/v1/redemption_exceptions/\(exceptionID)/resolve", key: agent,
                                                 json: ["resolution": "customer paid the 5.00 by card"])
            #expect(resolved.status == .ok && resolved.object["status"] as? String == "resolved")
            let again = try await client.call(.post, "/v1/redemption_exceptions/\(exceptionID)/resolve", key: agent, json: ["resolution": "x"])
            #expect(again.status == .conflict && again.problemCode == "exception_resolved")
            #expect(try await client.call(.get, "/v1/redemption_exceptions?status=open", key: agent).list.count == 2)
            #expect(try await OperatorTools(services: app.services).verifyLedger(tenant: app.tenantID).flatMap(\.findings).isEmpty)
        }
    }
}
