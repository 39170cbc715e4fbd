import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import OmniaServer
import Testing

@Suite("Customers")
struct CustomerAPITests {
    @Test("a customer is created with normalized identifiers, read back, updated and found by prefix", arguments: TestBackend.available)
    func createReadUpdateSearch(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let created = try await client.call(.post, "/v1/customers", key: app.adminKey, json: [
                "first_name": "Ana", "last_name": "García", "birth_date": "1990-04-01", "country": "ES", "attributes": ["size": "M"],
                "identifiers": [["kind": "email", "value": " Ana.Garcia@Example.COM "], ["kind": "phone", "value": "600 111 222"],
                                ["kind": "loyalty_card", "value": "4000-123"]],
            ])
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.object["id"] as? String)
            #expect(id.hasPrefix("cus_"))
            let values = (created.object["identifiers"] as? [[String: Any]])?.compactMap { $0["value"] as? String } ?? []
            #expect(Set(values) == ["ana.garcia@example.com", "+34600111222", "4000123"])

            let fetched = try await client.call(.get, "/v1/customers/\(id)", key: app.adminKey)
            #expect(fetched.status == .ok)
            #expect(fetched.object["last_name"] as? String == "García")
            #expect((fetched.object["attributes"] as? [String: Any])?["size"] as? String == "M")
            #expect(fetched.object["merged_into"] is NSNull)

            let patched = try await client.call(.patch, "/v1/customers/\(id)", key: app.adminKey, json: [
                "city": "Madrid", "birth_date": NSNull(), "attributes": ["size": NSNull(), "tier": "gold"] as [String: any Sendable],
                "add_identifiers": [["kind": "account_id", "value": "ana-g"]], "remove_identifiers": [["kind": "phone", "value": "+34600111222"]],
            ])
            #expect(patched.status == .ok, "\(patched.text)")
            #expect(patched.object["city"] as? String == "Madrid")
            #expect(patched.object["birth_date"] is NSNull)
            #expect(patched.object["attributes"] as? [String: String] == ["tier": "gold"])
            let kinds = (patched.object["identifiers"] as? [[String: Any]])?.compactMap { $0["kind"] as? String } ?? []
            #expect(Set(kinds) == ["email", "loyalty_card", "account_id"])

            _ = try await client.call(.post, "/v1/customers", key: app.adminKey, json: ["first_name": "Bruno", "last_name": "Garrido"])
            for (query, expected) in [("garcia", 1), ("GAR", 2), ("ana g", 1), ("ana.garcia@", 1), ("4000", 1), ("ana-g", 1), ("zzz", 0)] {
                let found = try await client.call(.get, "/v1/customers?query=\(query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query)",
                                                  key: app.adminKey)
                #expect(found.status == .ok)
                #expect(found.list.count == expected, "query \(query)")
            }
            let page = try await client.call(.get, "/v1/customers?limit=1", key: app.adminKey)
            #expect(page.list.count == 1 && page.object["has_more"] as? Bool == true)
            #expect(try await app.count("events") >= 3)
        }
    }

    @Test("bad identifiers and profile fields are each reported, and nothing is stored", arguments: TestBackend.available)
    func badInput(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let response = try await client.call(.post, "/v1/customers", key: app.adminKey, json: [
                "birth_date": "2031-02-30", "language": "Spanish", "country": "XX", "attributes": ["Bad Name": 1],
                "identifiers": [["kind": "email", "value": "not-an-email"], ["kind": "phone", "value": "12"],
                                ["kind": "payment_token", "value": "4111 1111 1111 1111"], ["kind": "emial", "value": "a@b.c"],
                                ["kind": "loyalty_card"]],
            ])
            #expect(response.status == .badRequest)
            let errors = (response.object["errors"] as? [[String: Any]]) ?? []
            let byField = Dictionary(errors.map { ($0["field"] as? String ?? "", $0["code"] as? String ?? "") }, uniquingKeysWith: { a, _ in a })
            #expect(byField["identifiers[0].value"] == "invalid_email")
            #expect(byField["identifiers[1].value"] == "invalid_phone")
            #expect(byField["identifiers[2].value"] == "raw_card_number")
            #expect(byField["identifiers[3].kind"] == "unknown_identifier_kind")
            #expect(byField["identifiers[4].value"] == "required")
            #expect(byField["birth_date"] == "invalid_date")
            #expect(byField["language"] == "invalid_language")
            #expect(byField["country"] == "invalid_country")
            #expect(byField["attributes.Bad Name"] == "invalid_name")
            #expect(try await app.count("customers") == 0)
            #expect(try await app.count("customer_identifiers") == 0)
        }
    }

    @Test("one identifier value belongs to one customer: a second customer with it is a 409", arguments: TestBackend.available)
    func identifierUnique(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let first = try await client.call(.post, "/v1/customers", key: app.adminKey, json: ["identifiers": [["kind": "email", "value": "jdoe@gmail.com"]]])
            let firstID = try #require(first.object["id"] as? String)
            let second = try await client.call(.post, "/v1/customers", key: app.adminKey, json: ["identifiers": [["kind": "email", "value": "J.Doe+web@googlemail.com"]]])
            #expect(second.status == .conflict)
            #expect(second.problemCode == "identifier_taken")
            #expect(second.object["customer_id"] as? String == firstID)
            #expect(try await app.count("customers") == 1)
        }
    }

    @Test("another tenant's customer is a 404 and never found by search", arguments: TestBackend.available)
    func tenantIsolation(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let created = try await client.call(.post, "/v1/customers", key: app.adminKey, json: ["first_name": "Ana", "identifiers": [["kind": "email", "value": "ana@example.com"]]])
            let id = try #require(created.object["id"] as? String)
            let other = try await app.otherTenant()
            #expect(try await client.call(.get, "/v1/customers/\(id)", key: other.key).status == .notFound)
            #expect(try await client.call(.patch, "/v1/customers/\(id)", key: other.key, json: ["city": "X"]).status == .notFound)
            #expect(try await client.call(.get, "/v1/customers?query=ana", key: other.key).list.isEmpty)
            let same = try await client.call(.post, "/v1/customers", key: other.key, json: ["identifiers": [["kind": "email", "value": "ana@example.com"]]])
            #expect(same.status == .created, "identifier values are unique per tenant, not globally")
        }
    }

    @Test("scopes: an analytics key reads but cannot write; a pos key cannot change the policy", arguments: TestBackend.available)
    func scopes(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let analytics = try await app.key(scopes: ["analytics:read"])
            let pos = try await app.key(scopes: ["pos"])
            #expect(try await client.call(.get, "/v1/customers", key: analytics).status == .ok)
            #expect(try await client.call(.post, "/v1/customers", key: analytics, json: ["first_name": "A"]).status == .forbidden)
            #expect(try await client.call(.post, "/v1/customers", key: pos, json: ["first_name": "A"]).status == .created)
            #expect(try await client.call(.patch, "/v1/identity/policy", key: pos, json: ["canonical_gmail": false]).status == .forbidden)
        }
    }
}
