import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import OmniaServer
import Testing
import SQLKit

@Suite("API keys and authentication")
struct AuthTests {
    @Test("no key, a malformed key and an unknown key are 401 problems", arguments: TestBackend.available)
    func unauthenticated(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let missing = try await client.call(.get, "/v1/channels", key: nil)
            #expect(missing.status == .unauthorized)
            #expect(missing.problemCode == "unauthenticated")
            #expect(missing.headers[.contentType] == "application/problem+json")
            #expect(missing.headers[.wwwAuthenticate] != nil)

            let malformed = try await client.call(.get, "/v1/channels", key: "not-a-key")
            #expect(malformed.status == .unauthorized)
            #expect(malformed.problemCode == "invalid_api_key")

            // Right shape and tenant, wrong secret.
            let forged = String(app.adminKey.dropLast(4)) + "0000"
            #expect(try await client.call(.get, "/v1/channels", key: forged).status == .unauthorized)
        }
    }

    @Test("a key works until it is revoked, then it is a 401 at once", arguments: TestBackend.available)
    func revocation(backend: TestBackend) async throws {
        try await TestApp.run(backend, configure: { $0.authCacheTTL = .seconds(60) }) { app, client in
            let created = try await client.call(.post, "/v1/api_keys", key: app.adminKey, json: ["name": "Till 1", "scopes": ["pos"]])
            #expect(created.status == .created)
            let key = try #require(created.object["key"] as? String)
            let keyID = try #require(created.object["id"] as? String)
            #expect(key.hasPrefix("omk_"))
            #expect(try await client.call(.get, "/v1/channels", key: key).status == .ok)

            let revoked = try await client.call(.delete, "/v1/api_keys/\(keyID)", key: app.adminKey)
            #expect(revoked.status == .ok)
            #expect(revoked.object["revoked_at"] as? String != nil)
            let after = try await client.call(.get, "/v1/channels", key: key)
            #expect(after.status == .unauthorized, "revocation bypasses the key cache")
            #expect(try await client.call(.delete, "/v1/api_keys/\(keyID)", key: app.adminKey).problemCode == "already_revoked")

            let adminID = try #require(try await client.call(.get, "/v1/api_keys", key: app.adminKey).list.first { $0["name"] as? String == "Admin key" }?["id"] as? String)
            let selfRevoke = try await client.call(.delete, "/v1/api_keys/\(adminID)", key: app.adminKey)
            #expect(selfRevoke.status == .conflict)
            #expect(selfRevoke.problemCode == "cannot_revoke_own_key")
            #expect(try await client.call(.get, "/v1/channels", key: app.adminKey).status == .ok)
        }
    }

    @Test("keys are stored only as hashes and listed without their secret", arguments: TestBackend.available)
    func storedAsHashes(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let created = try await client.call(.post, "/v1/api_keys", key: app.adminKey, json: ["name": "Web", "scopes": ["ecommerce"]])
            let secret = try #require(created.object["key"] as? String)
            let stored = try await app.services.database.read { sql in
                try await sql.raw("SELECT key_hash FROM api_keys").all(decodingColumn: "key_hash", as: String.self)
            }
            #expect(!stored.contains(secret))
            #expect(stored.contains(APIKeyToken.hash(secret)))
            let listing = try await client.call(.get, "/v1/api_keys", key: app.adminKey)
            #expect(!listing.text.contains(secret))
            #expect(listing.list.allSatisfy { $0["key"] == nil && $0["hint"] != nil })
        }
    }

    @Test("a pos key reads channels but cannot create them or manage keys (403)", arguments: TestBackend.available)
    func scopes(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let pos = try await app.key(scopes: ["pos"])
            #expect(try await client.call(.get, "/v1/channels", key: pos).status == .ok)
            let create = try await client.call(.post, "/v1/channels", key: pos, json: ["code": "x", "name": "X", "kind": "web"])
            #expect(create.status == .forbidden)
            #expect(create.problemCode == "insufficient_scope")
            #expect(try await client.call(.get, "/v1/api_keys", key: pos).status == .forbidden)
            #expect(try await client.call(.get, "/v1/audit_log", key: pos).status == .forbidden)
            let analyst = try await app.key(scopes: ["analytics:read"])
            #expect(try await client.call(.get, "/v1/events", key: analyst).status == .ok)
            #expect(try await client.count("channels", app) == 0)
        }
    }

    @Test("a key can be bound to a channel of its tenant", arguments: TestBackend.available)
    func channelBinding(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let channel = try await client.call(.post, "/v1/channels", key: app.adminKey, json: ["code": "till", "name": "Till", "kind": "store"])
            let channelID = try #require(channel.object["id"] as? String)
            let created = try await client.call(.post, "/v1/api_keys", key: app.adminKey, json: ["name": "Till", "scopes": ["pos"], "channel_id": channelID])
            #expect(created.status == .created)
            #expect(created.object["channel_id"] as? String == channelID)
            let unknown = try await client.call(.post, "/v1/api_keys", key: app.adminKey, json: ["name": "Till", "scopes": ["pos"], "channel_id": "chn_nope"])
            #expect(unknown.status == .badRequest)
            let badScope = try await client.call(.post, "/v1/api_keys", key: app.adminKey, json: ["name": "K", "scopes": ["root"]])
            #expect(badScope.status == .badRequest)
            #expect((badScope.object["errors"] as? [[String: Any]])?.first?["field"] as? String == "scopes[0]")
        }
    }

    @Test("a key over its rate limit gets 429 with Retry-After", arguments: [TestBackend.sqlite])
    func rateLimit(backend: TestBackend) async throws {
        try await TestApp.run(backend, configure: { $0.rateLimitPerSecond = 1; $0.rateLimitBurst = 3 }) { app, client in
            for _ in 0..<3 { #expect(try await client.call(.get, "/v1/channels", key: app.adminKey).status == .ok) }
            // The bucket refills one token a second, so a busy test machine may earn a request or two.
            var limited = try await client.call(.get, "/v1/channels", key: app.adminKey)
            for _ in 0..<20 where limited.status == .ok {
                limited = try await client.call(.get, "/v1/channels", key: app.adminKey)
            }
            #expect(limited.status == .tooManyRequests)
            #expect(limited.problemCode == "rate_limited")
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
            // Another key has its own bucket.
            let other = try await app.key(scopes: ["pos"])
            #expect(try await client.call(.get, "/v1/channels", key: other).status == .ok)
        }
    }
}

extension TestClientProtocol {
    func count(_ table: String, _ app: TestApp) async throws -> Int { try await app.count(table) }
}
