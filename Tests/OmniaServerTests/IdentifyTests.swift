import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import OmniaServer
import SQLKit
import Testing

@Suite("Identify, merge and unmerge")
struct IdentifyTests {
    @Test("identify creates a customer once, then finds it and attaches new identifiers", arguments: TestBackend.available)
    func identifyCreatesThenFinds(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let first = try await client.call(.post, "/v1/identify", key: app.adminKey, json: [
                "identifiers": [["kind": "email", "value": "Ana@Example.com"]], "traits": ["first_name": "Ana"],
            ])
            #expect(first.status == .created, "\(first.text)")
            #expect(first.object["created"] as? Bool == true)
            let customer = try #require(first.object["customer"] as? [String: Any])
            let id = try #require(customer["id"] as? String)

            let again = try await client.call(.post, "/v1/identify", key: app.adminKey, json: [
                "identifiers": [["kind": "email", "value": "ana@example.com"], ["kind": "device_id", "value": "phone-1"]],
                "traits": ["last_name": "García"],
            ])
            #expect(again.status == .ok)
            let found = try #require(again.object["customer"] as? [String: Any])
            #expect(found["id"] as? String == id)
            #expect(found["first_name"] as? String == "Ana" && found["last_name"] as? String == "García")
            #expect((again.object["attached"] as? [[String: Any]])?.first?["kind"] as? String == "device_id")
            #expect(try await app.count("customers") == 1)
            #expect(try await app.count("customer_identifiers") == 2)

            let eventsBefore = try await app.count("events")
            let repeatCall = try await client.call(.post, "/v1/identify", key: app.adminKey, json: ["identifiers": [["kind": "device_id", "value": "phone-1"]]])
            #expect(repeatCall.status == .ok)
            #expect(try await app.count("events") == eventsBefore, "a repeat identify changes nothing and emits nothing")
        }
    }

    @Test("identifiers of two customers merge on a strong kind; the loser redirects; unmerge restores both", arguments: TestBackend.available)
    func mergeAndUnmerge(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let store = try await client.call(.post, "/v1/customers", key: app.adminKey, json: [
                "first_name": "Ana", "city": "Madrid", "identifiers": [["kind": "loyalty_card", "value": "4000123"]],
            ])
            let storeID = try #require(store.object["id"] as? String)
            let web = try await client.call(.post, "/v1/customers", key: app.adminKey, json: [
                "last_name": "García", "city": "Sevilla", "identifiers": [["kind": "email", "value": "ana@example.com"]],
            ])
            let webID = try #require(web.object["id"] as? String)

            let identified = try await client.call(.post, "/v1/identify", key: app.adminKey, json: [
                "identifiers": [["kind": "email", "value": "ana@example.com"], ["kind": "loyalty_card", "value": "4000 123"]],
            ])
            #expect(identified.status == .ok, "\(identified.text)")
            #expect(identified.object["merged"] as? [String] == [webID])
            let survivor = try #require(identified.object["customer"] as? [String: Any])
            #expect(survivor["id"] as? String == storeID, "the older customer survives")
            #expect(survivor["last_name"] as? String == "García", "empty fields are filled from the merged customer")
            #expect(survivor["city"] as? String == "Madrid", "the survivor's own fields win")
            #expect(survivor["merged_ids"] as? [String] == [webID])
            #expect((survivor["identifiers"] as? [Any])?.count == 2)

            let redirected = try await client.call(.get, "/v1/customers/\(webID)", key: app.adminKey)
            #expect(redirected.status == .ok)
            #expect(redirected.object["id"] as? String == storeID)
            #expect(redirected.object["merged_into"] as? String == storeID)
            #expect(try await client.call(.get, "/v1/customers", key: app.adminKey).list.count == 1, "lists show survivors only")

            let merges = try await client.call(.get, "/v1/customers/\(storeID)/merges", key: app.adminKey)
            let record = try #require(merges.list.first)
            #expect(record["merged_id"] as? String == webID && record["actor"] as? String != nil)
            #expect((record["reason"] as? String)?.contains("email") == true)

            // Something attached after the merge stays with the survivor.
            _ = try await client.call(.post, "/v1/identify", key: app.adminKey, json: [
                "identifiers": [["kind": "email", "value": "ana@example.com"], ["kind": "account_id", "value": "ana-web"]],
            ])

            let unmerged = try await client.call(.post, "/v1/customers/\(webID)/unmerge", key: app.adminKey, json: [:])
            #expect(unmerged.status == .ok, "\(unmerged.text)")
            #expect(unmerged.object["id"] as? String == webID)
            #expect(unmerged.object["merged_into"] is NSNull)
            #expect((unmerged.object["identifiers"] as? [[String: Any]])?.compactMap { $0["value"] as? String } == ["ana@example.com"])
            let restored = try await client.call(.get, "/v1/customers/\(storeID)", key: app.adminKey)
            #expect(restored.object["last_name"] is NSNull, "the field the merge filled is cleared again")
            #expect(Set((restored.object["identifiers"] as? [[String: Any]])?.compactMap { $0["kind"] as? String } ?? []) == ["loyalty_card", "account_id"])
            #expect((restored.object["merged_ids"] as? [String])?.isEmpty == true)
            let again = try await client.call(.post, "/v1/customers/\(webID)/unmerge", key: app.adminKey, json: [:])
            #expect(again.problemCode == "not_merged")
            let audit = try await client.call(.get, "/v1/audit_log", key: app.adminKey)
            #expect(Set(audit.list.compactMap { $0["action"] as? String }).isSuperset(of: ["customer.merge", "customer.unmerge"]))
        }
    }

    @Test("a customer reached only through a device is not merged: 409 with both ids, nothing changed", arguments: TestBackend.available)
    func weakMergeForbidden(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let a = try await client.call(.post, "/v1/identify", key: app.adminKey, json: ["identifiers": [["kind": "email", "value": "a@example.com"]]])
            let b = try await client.call(.post, "/v1/identify", key: app.adminKey, json: ["identifiers": [["kind": "device_id", "value": "shared-tablet"]]])
            let aID = try #require((a.object["customer"] as? [String: Any])?["id"] as? String)
            let bID = try #require((b.object["customer"] as? [String: Any])?["id"] as? String)
            let before = try await app.count("customer_identifiers")
            let conflict = try await client.call(.post, "/v1/identify", key: app.adminKey, json: [
                "identifiers": [["kind": "email", "value": "a@example.com"], ["kind": "device_id", "value": "shared-tablet"], ["kind": "phone", "value": "+34600000001"]],
            ])
            #expect(conflict.status == .conflict)
            #expect(conflict.problemCode == "merge_forbidden")
            #expect(Set(conflict.object["customer_ids"] as? [String] ?? []) == [aID, bID])
            #expect(try await app.count("customer_identifiers") == before, "the new phone was not attached either")
            #expect(try await app.count("customer_merges") == 0)
        }
    }

    @Test("the tenant's policy decides what merges and which custom kinds exist", arguments: TestBackend.available)
    func policy(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let initial = try await client.call(.get, "/v1/identity/policy", key: app.adminKey)
            #expect(initial.object["default_country"] as? String == "ES")
            let bad = try await client.call(.patch, "/v1/identity/policy", key: app.adminKey, json: ["merge_on": ["device_id"]])
            #expect(bad.status == .badRequest)
            let updated = try await client.call(.patch, "/v1/identity/policy", key: app.adminKey, json: [
                "merge_on": ["account_id", "crm_id"], "custom_kinds": ["crm_id"], "canonical_gmail": false,
            ])
            #expect(updated.status == .ok, "\(updated.text)")
            _ = try await client.call(.post, "/v1/identify", key: app.adminKey, json: ["identifiers": [["kind": "email", "value": "x@example.com"]]])
            _ = try await client.call(.post, "/v1/identify", key: app.adminKey, json: ["identifiers": [["kind": "crm_id", "value": "C-1"]]])
            let refused = try await client.call(.post, "/v1/identify", key: app.adminKey, json: [
                "identifiers": [["kind": "email", "value": "x@example.com"], ["kind": "crm_id", "value": "C-1"]],
            ])
            #expect(refused.problemCode == "merge_forbidden", "email no longer merges under this policy")
            let dots = try await client.call(.post, "/v1/identify", key: app.adminKey, json: ["identifiers": [["kind": "email", "value": "J.Doe@gmail.com"]]])
            #expect(((dots.object["customer"] as? [String: Any])?["identifiers"] as? [[String: Any]])?.first?["value"] as? String == "j.doe@gmail.com")
        }
    }

    @Test("an agent merges two customers by hand and cannot merge one with itself", arguments: TestBackend.available)
    func manualMerge(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let a = try #require(try await client.call(.post, "/v1/customers", key: app.adminKey, json: ["first_name": "A"]).object["id"] as? String)
            let b = try #require(try await client.call(.post, "/v1/customers", key: app.adminKey, json: ["first_name": "B"]).object["id"] as? String)
            let service = try await app.key(scopes: ["service"])
            let pos = try await app.key(scopes: ["pos"])
            #expect(try await client.call(.post, "/v1/customers/\(b)/merge", key: pos, json: ["customer_id": a]).status == .forbidden)
            let merged = try await client.call(.post, "/v1/customers/\(b)/merge", key: service, json: ["customer_id": a, "reason": "same person at the desk"])
            #expect(merged.status == .ok, "\(merged.text)")
            #expect(merged.object["id"] as? String == b, "the customer of the path survives")
            let twice = try await client.call(.post, "/v1/customers/\(a)/merge", key: service, json: ["customer_id": b])
            #expect(twice.problemCode == "already_merged")
            let unknown = try await client.call(.post, "/v1/customers/\(b)/merge", key: service, json: ["customer_id": "cus_nope"])
            #expect(unknown.status == .badRequest)
        }
    }

    @Test("many tills identifying the same new customer at once make exactly one customer", arguments: TestBackend.available)
    func concurrentIdentify(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for index in 0..<16 {
                    group.addTask {
                        let response = try await client.call(.post, "/v1/identify", key: app.adminKey, json: [
                            "identifiers": [["kind": "email", "value": "rush@example.com"], ["kind": "device_id", "value": "till-\(index % 4)"]],
                        ])
                        return (Int(response.status.code), (response.object["customer"] as? [String: Any])?["id"] as? String)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0.0 == 200 || $0.0 == 201 }, "\(statuses)")
            #expect(statuses.filter { $0.0 == 201 }.count == 1)
            #expect(Set(statuses.compactMap(\.1)).count == 1)
            #expect(try await app.count("customers") == 1)
            #expect(try await app.count("customer_identifiers") == 5)
        }
    }

    @Test("concurrent merges and unmerges of overlapping customers leave every customer resolving to a root", arguments: TestBackend.available)
    func concurrentMerges(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            // Six customers, each with its own card; identifies link neighbours by email+card pairs at once.
            var ids: [String] = []
            for index in 0..<6 {
                let created = try await client.call(.post, "/v1/customers", key: app.adminKey, json: [
                    "identifiers": [["kind": "loyalty_card", "value": "900\(index)"], ["kind": "email", "value": "c\(index)@example.com"]],
                ])
                ids.append(try #require(created.object["id"] as? String))
            }
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<5 {
                    group.addTask {
                        let response = try await client.call(.post, "/v1/identify", key: app.adminKey, json: [
                            "identifiers": [["kind": "email", "value": "c\(index)@example.com"], ["kind": "loyalty_card", "value": "900\(index + 1)"]],
                        ])
                        return Int(response.status.code)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            let roots = try await app.services.database.read { sql in
                try await sql.raw("SELECT DISTINCT canonical_id FROM customers").all(decodingColumn: "canonical_id", as: String.self)
            }
            #expect(roots == [ids[0]], "all six end up as one customer, the oldest")
            let unmerged = try await withThrowingTaskGroup(of: Int.self) { group in
                for id in ids.dropFirst() {
                    group.addTask { Int(try await client.call(.post, "/v1/customers/\(id)/unmerge", key: app.adminKey, json: [:]).status.code) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(unmerged.allSatisfy { $0 == 200 }, "\(unmerged)")
            let unresolved = try await app.services.database.read { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM customers WHERE canonical_id <> id OR merged_into IS NOT NULL").first(decodingColumn: "n", as: Int.self)
            }
            #expect(unresolved == 0, "every customer is its own root again")
        }
    }
}
