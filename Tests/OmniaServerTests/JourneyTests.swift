import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import OmniaServer
import SQLKit
import Testing

@Suite("Journey events")
struct JourneyTests {
    static func ago(minutes: Int) -> String { Timestamp.text(Timestamp.milliseconds(Date()) - Int64(minutes) * 60_000) }

    @Test("anonymous browsing is stitched to the customer when they identify, and later lands on them directly", arguments: TestBackend.available)
    func stitching(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let browsing = try await client.call(.post, "/v1/events/track", key: app.adminKey, json: ["events": [
                ["type": "page_viewed", "anonymous_id": "anon-1", "channel": "web", "properties": ["path": "/"]],
                ["type": "product_viewed", "anonymous_id": "anon-1", "channel": "web", "properties": ["sku": "DRESS"]],
                ["type": "wishlist_added", "anonymous_id": "anon-1", "channel": "web"],
            ] as [[String: any Sendable]]])
            #expect(browsing.status == .created, "\(browsing.text)")
            #expect(browsing.list.count == 3 && browsing.list.allSatisfy { $0["customer_id"] == nil })

            let identified = try await client.call(.post, "/v1/identify", key: app.adminKey, json: [
                "identifiers": [["kind": "email", "value": "ana@example.com"]], "anonymous_id": "anon-1",
            ])
            #expect(identified.object["stitched_events"] as? Int == 3, "\(identified.text)")
            let customerID = try #require((identified.object["customer"] as? [String: Any])?["id"] as? String)

            let later = try await client.call(.post, "/v1/events/track", key: app.adminKey, json: ["type": "search", "anonymous_id": "anon-1",
                                                                                                   "properties": ["query": "linen"]])
            #expect(later.list.first?["customer_id"] as? String == customerID, "a stitched anonymous id lands on its customer")
            let visit = try await client.call(.post, "/v1/events/track", key: app.adminKey, json: [
                "type": "store_visited", "identifiers": [["kind": "email", "value": "ana@example.com"]], "channel": "store-madrid-01",
            ])
            #expect(visit.list.first?["customer_id"] as? String == customerID)

            let timeline = try await client.call(.get, "/v1/customers/\(customerID)/timeline?type=event", key: app.adminKey)
            #expect(Set(timeline.list.compactMap { $0["event_type"] as? String })
                    == ["page_viewed", "product_viewed", "wishlist_added", "search", "store_visited"], "\(timeline.text)")
        }
    }

    @Test("a cart left idle raises cart_abandoned once, and an order closes its cart", arguments: TestBackend.available)
    func cartAbandonment(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let settings = try await client.call(.patch, "/v1/tenant", key: app.adminKey, json: ["cart_abandonment_minutes": 5])
            #expect(settings.object["cart_abandonment_minutes"] as? Int == 5, "\(settings.text)")
            try await client.call(.post, "/v1/events/track", key: app.adminKey, json: ["events": [
                ["type": "cart_updated", "anonymous_id": "anon-2", "channel": "web", "occurred_at": Self.ago(minutes: 10),
                 "properties": ["cart_id": "c1", "value": 4990, "currency": "EUR", "item_count": 2] as [String: any Sendable]],
                ["type": "cart_updated", "identifiers": [["kind": "email", "value": "eva@example.com"]], "occurred_at": Self.ago(minutes: 20),
                 "properties": ["cart_id": "c2", "value": 1000] as [String: any Sendable]],
                ["type": "order_placed", "identifiers": [["kind": "email", "value": "eva@example.com"]], "occurred_at": Self.ago(minutes: 15),
                 "properties": ["cart_id": "c2"]],
                ["type": "cart_updated", "anonymous_id": "anon-3", "occurred_at": Self.ago(minutes: 1)],
            ] as [[String: any Sendable]]])
            let sweeper = CartAbandonment(services: app.services)
            #expect(try await sweeper.sweep() == 1)
            #expect(try await sweeper.sweep() == 0, "raised once")
            let outbox = try await app.services.database.read { sql in
                try await sql.raw("SELECT data FROM events WHERE type = 'cart.abandoned'").all(decodingColumn: "data", as: String.self)
            }
            #expect(outbox.count == 1 && outbox[0].contains("\"cart_id\":\"c1\"") && outbox[0].contains("\"value\":4990"), "\(outbox)")

            try await client.call(.post, "/v1/identify", key: app.adminKey, json: [
                "identifiers": [["kind": "email", "value": "max@example.com"]], "anonymous_id": "anon-2",
            ])
            let maxID = try await client.call(.get, "/v1/customers?query=max@example.com", key: app.adminKey).list.first?["id"] as? String
            let timeline = try await client.call(.get, "/v1/customers/\(try #require(maxID))/timeline?type=event", key: app.adminKey)
            #expect(timeline.list.map { $0["event_type"] as? String } == ["cart_abandoned", "cart_updated"], "\(timeline.text)")
        }
    }

    @Test("bad events are refused with their field, and nothing of the batch is written", arguments: TestBackend.available)
    func badEvents(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let cases: [([String: any Sendable], String, String)] = [
                (["type": "page_viewed"], "anonymous_id", "required"),
                (["type": "cart_abandoned", "anonymous_id": "a"], "type", "reserved_type"),
                (["type": "Page Viewed", "anonymous_id": "a"], "type", "invalid_format"),
                (["type": "cart_updated", "anonymous_id": "a", "properties": ["value": "12.50"]], "properties.value", "invalid_type"),
                (["type": "search", "anonymous_id": "a", "occurred_at": "2099-01-01T00:00:00Z"], "occurred_at", "in_future"),
                (["type": "search", "anonymous_id": "a", "channel": "nowhere"], "channel", "unknown_channel"),
                (["type": "search", "identifiers": [["kind": "email", "value": "nope"]]], "identifiers[0].value", "invalid_email"),
                (["type": "search", "anonymous_id": "   "], "anonymous_id", "required"),
                (["type": "cart_updated", "anonymous_id": "a", "properties": ["cart_id": 7]], "properties.cart_id", "invalid_type"),
            ]
            for (body, field, code) in cases {
                let response = try await client.call(.post, "/v1/events/track", key: app.adminKey, json: body)
                #expect(response.status == .badRequest, "\(body): \(response.text)")
                #expect((response.object["errors"] as? [[String: Any]])?.contains { $0["field"] as? String == field && $0["code"] as? String == code } == true,
                        "\(body): \(response.text)")
            }
            let batch = try await client.call(.post, "/v1/events/track", key: app.adminKey, json: ["events": [
                ["type": "search", "anonymous_id": "a"], ["type": "search"],
            ]])
            #expect((batch.object["errors"] as? [[String: Any]])?.first?["field"] as? String == "events[1].anonymous_id")
            let tooMany = try await client.call(.post, "/v1/events/track", key: app.adminKey, json: [
                "events": (0..<101).map { _ in ["type": "search", "anonymous_id": "a"] },
            ])
            #expect(tooMany.status == .badRequest)
            #expect(try await app.count("journey_events") == 0)
        }
    }
}
