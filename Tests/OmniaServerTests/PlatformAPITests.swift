import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import OmniaServer
import Testing

@Suite("Channels, locations, tenant")
struct PlatformAPITests {
    @Test("an admin creates a location and a channel in it, and reads them back", arguments: TestBackend.available)
    func createAndRead(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let location = try await client.call(.post, "/v1/locations", key: app.adminKey, json: [
                "code": "madrid-01", "name": "Madrid Gran Vía", "kind": "store", "address_line1": "Gran Vía 32",
                "city": "Madrid", "postcode": "28013", "country": "ES",
            ])
            #expect(location.status == .created)
            let locationID = try #require(location.object["id"] as? String)
            #expect(locationID.hasPrefix("loc_"))
            #expect(location.object["timezone"] as? String == "Europe/Madrid", "defaults to the tenant's time zone")
            #expect(location.object["address_line1"] as? String == "Gran Vía 32")

            let channel = try await client.call(.post, "/v1/channels", key: app.adminKey, json: [
                "code": "store-madrid-01", "name": "Madrid store", "kind": "store", "location_id": locationID,
            ])
            #expect(channel.status == .created)
            let channelID = try #require(channel.object["id"] as? String)

            let fetched = try await client.call(.get, "/v1/channels/\(channelID)", key: app.adminKey)
            #expect(fetched.status == .ok)
            #expect(fetched.object["location_id"] as? String == locationID)
            #expect(fetched.object["kind"] as? String == "store")

            let list = try await client.call(.get, "/v1/locations", key: app.adminKey)
            #expect(list.list.map { $0["id"] as? String } == [locationID])
            #expect(list.object["has_more"] as? Bool == false)

            let tenant = try await client.call(.get, "/v1/tenant", key: app.adminKey)
            #expect(tenant.object["id"] as? String == app.tenantID)
            #expect(tenant.object["default_currency"] as? String == "EUR")
        }
    }

    @Test("every channel kind is accepted and an unknown one is rejected", arguments: TestBackend.available)
    func channelKinds(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            for kind in ["store", "web", "app", "call_center", "marketplace", "social"] {
                let response = try await client.call(.post, "/v1/channels", key: app.adminKey, json: ["code": "c-\(kind)", "name": kind, "kind": kind])
                #expect(response.status == .created, "kind \(kind)")
            }
            let bad = try await client.call(.post, "/v1/channels", key: app.adminKey, json: ["code": "c-fax", "name": "Fax", "kind": "fax"])
            #expect(bad.status == .badRequest)
            #expect((bad.object["errors"] as? [[String: Any]])?.first?["field"] as? String == "kind")
        }
    }

    @Test("a duplicate channel code is a 409 and creates nothing", arguments: TestBackend.available)
    func duplicateCode(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let body: [String: any Sendable] = ["code": "web", "name": "Web shop", "kind": "web"]
            #expect(try await client.call(.post, "/v1/channels", key: app.adminKey, json: body).status == .created)
            let before = try await app.count("events")
            let again = try await client.call(.post, "/v1/channels", key: app.adminKey, json: body)
            #expect(again.status == .conflict)
            #expect(again.problemCode == "code_taken")
            #expect(try await app.count("channels") == 1)
            #expect(try await app.count("events") == before)
        }
    }

    @Test("lists page with a cursor until has_more is false", arguments: TestBackend.available)
    func pagination(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            var created: [String] = []
            for index in 0..<7 {
                let response = try await client.call(.post, "/v1/channels", key: app.adminKey, json: ["code": "ch-\(index)", "name": "Channel \(index)", "kind": "web"])
                created.append(try #require(response.object["id"] as? String))
            }
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let query = cursor.map { "&starting_after=\($0)" } ?? ""
                let page = try await client.call(.get, "/v1/channels?limit=3\(query)", key: app.adminKey)
                #expect(page.status == .ok)
                seen += page.list.compactMap { $0["id"] as? String }
                cursor = page.object["next_cursor"] as? String
                #expect((page.object["has_more"] as? Bool) == (cursor != nil))
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == created, "pages are in creation order with nothing missed or repeated")

            let badLimit = try await client.call(.get, "/v1/channels?limit=0", key: app.adminKey)
            #expect(badLimit.status == .badRequest)
            #expect(badLimit.problemCode == "validation_failed")
            #expect(try await client.call(.get, "/v1/channels?limit=101", key: app.adminKey).status == .badRequest)
        }
    }

    @Test("another tenant's channel is a 404, never a 403", arguments: TestBackend.available)
    func tenantIsolation(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let mine = try await client.call(.post, "/v1/channels", key: app.adminKey, json: ["code": "web", "name": "Web", "kind": "web"])
            let channelID = try #require(mine.object["id"] as? String)
            let other = try await app.otherTenant()

            let peek = try await client.call(.get, "/v1/channels/\(channelID)", key: other.key)
            #expect(peek.status == .notFound)
            #expect(peek.problemCode == "not_found")
            #expect(try await client.call(.get, "/v1/channels", key: other.key).list.isEmpty)
            #expect(try await client.call(.get, "/v1/events", key: other.key).list.allSatisfy { ($0["type"] as? String) != "channel.created" })

            // The other tenant may reuse the same code: codes are unique per tenant.
            let same = try await client.call(.post, "/v1/channels", key: other.key, json: ["code": "web", "name": "Web", "kind": "web"])
            #expect(same.status == .created)
            // Binding a key to a channel of another tenant is refused.
            let crossBind = try await client.call(.post, "/v1/api_keys", key: other.key, json: ["name": "x", "scopes": ["pos"], "channel_id": channelID])
            #expect(crossBind.status == .badRequest)
        }
    }

    @Test("a malformed id in the path is a 404", arguments: TestBackend.available)
    func malformedID(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            for path in ["/v1/channels/nope", "/v1/channels/loc_01m84262mqg2xt5dz0s43d6wfs", "/v1/locations/'%20OR%201=1--"] {
                let response = try await client.call(.get, path, key: app.adminKey)
                #expect(response.status == .notFound, "\(path)")
            }
        }
    }

    @Test("fifty concurrent writers all succeed (SQLite serializes them, PostgreSQL pools them)", arguments: TestBackend.available)
    func concurrentWrites(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        let response = try await client.call(.post, "/v1/locations", key: app.adminKey,
                                                             json: ["code": "store-\(index)", "name": "Store \(index)", "kind": "store", "country": "ES"],
                                                             headers: [.idempotencyKey: "create-store-\(index)"])
                        return Int(response.status.code)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 201 }, "\(statuses)")
            #expect(try await app.count("locations") == 50)
        }
    }
}
