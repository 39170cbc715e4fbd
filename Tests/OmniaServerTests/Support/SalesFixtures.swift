import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import OmniaServer
import Testing

/// A store in Madrid with its till channel, and a web shop: the places sales tests record in.
struct SalesFixtures: Sendable {
    let storeLocationID: String
    let storeChannelID: String
    let webChannelID: String

    static func make(_ app: TestApp, _ client: any TestClientProtocol) async throws -> SalesFixtures {
        let location = try await client.call(.post, "/v1/locations", key: app.adminKey, json: [
            "code": "madrid-01", "name": "Madrid Centro", "kind": "store", "country": "ES",
        ])
        let locationID = try #require(location.object["id"] as? String, "\(location.text)")
        let store = try await client.call(.post, "/v1/channels", key: app.adminKey, json: [
            "code": "store-madrid-01", "name": "Madrid till", "kind": "store", "location_id": locationID,
        ])
        let web = try await client.call(.post, "/v1/channels", key: app.adminKey, json: ["code": "web", "name": "Web shop", "kind": "web"])
        return SalesFixtures(storeLocationID: locationID, storeChannelID: try #require(store.object["id"] as? String),
                             webChannelID: try #require(web.object["id"] as? String))
    }

    /// A sale body in the neutral format: `lines` as (sku, category, quantity, unit price).
    static func sale(_ externalID: String, channel: String = "store-madrid-01", customer: [String: String]? = ["email": "ana@example.com"],
                     lines: [(String, String, Int, Int)] = [("SKU-1", "women/knitwear", 1, 3995)], at: String = "2026-03-01T10:15:00Z",
                     extra: [String: any Sendable] = [:]) -> [String: any Sendable] {
        var body: [String: any Sendable] = [
            "external_id": externalID, "channel": channel, "occurred_at": at, "currency": "EUR",
            "lines": lines.map { ["sku": $0.0, "name": "Item \($0.0)", "category": $0.1, "quantity": $0.2, "unit_price": $0.3] as [String: any Sendable] },
        ]
        if let customer { body["customer"] = customer }
        for (key, value) in extra { body[key] = value }
        return body
    }
}
