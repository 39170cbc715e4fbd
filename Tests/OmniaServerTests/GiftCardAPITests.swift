import Foundation
import HTTPTypes
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

/// Gift cards through the real router, on both databases: a card issued online is looked up and
/// reloaded by a till's key; keys without the scope, another tenant and a replayed POST behave.
@Suite("Gift card API")
struct GiftCardAPITests {
    @Test("with a PIN pepper, PINs are stored as its HMAC; a PIN stored before it still opens its card and is hashed with it then",
          arguments: TestBackend.available)
    func pepperedPINs(backend: TestBackend) async throws {
        let pepper = String(repeating: "7f", count: 16)
        try await TestApp.run(backend, configure: { $0.pinPepper = pepper }) { app, client in
            let web = try await app.key(scopes: ["ecommerce"])
            let till = try await app.key(scopes: ["pos"])
            let issued = try await client.call(.post, "/v1/gift_cards", key: web, json: ["amount": 5_000, "pin": "2468"])
            let id = try #require(issued.object["id"] as? String, "\(issued.text)")
            let code = try #require(issued.object["code"] as? String)
            @Sendable func storedPIN() async throws -> String? {
                try await app.services.database.read { sql in
                    try await sql.raw("SELECT pin_hash FROM gift_cards WHERE id = \(bind: id)").first(decodingColumn: "pin_hash", as: String?.self) ?? nil
                }
            }
            let stored = try #require(try await storedPIN())
            #expect(stored.hasPrefix("h1:") && stored == GiftCardService.pinHash(cardID: id, "2468", pepper: pepper))
            #expect(stored != "h1:" + GiftCardService.pinHash(cardID: id, "2468", pepper: nil), "the pepper is part of the hash")
            #expect(try await client.call(.get, "/v1/gift_cards/lookup?code=\(code)&pin=2468", key: till).status == .ok)
            #expect(try await client.call(.get, "/v1/gift_cards/lookup?code=\(code)&pin=1357", key: till).status == .notFound)

            // A card whose PIN was stored before the pepper was set.
            let legacy = GiftCardService.pinHash(cardID: id, "1357", pepper: nil)
            try await app.services.database.transaction { sql in
                try await sql.raw("UPDATE gift_cards SET pin_hash = \(bind: legacy) WHERE id = \(bind: id)").run()
            }
            #expect(try await client.call(.get, "/v1/gift_cards/lookup?code=\(code)&pin=2468", key: till).status == .notFound)
            #expect(try await client.call(.get, "/v1/gift_cards/lookup?code=\(code)&pin=1357", key: till).status == .ok)
            #expect(try await storedPIN() == GiftCardService.pinHash(cardID: id, "1357", pepper: pepper))
            #expect(try await client.call(.get, "/v1/gift_cards/lookup?code=\(code)&pin=1357", key: till).status == .ok)
        }
        // A peppered hash opens nothing on a server without the pepper, and a short pepper is refused at start.
        #expect(!GiftCardService.pinMatches("2468", cardID: "gc_x", stored: GiftCardService.pinHash(cardID: "gc_x", "2468", pepper: pepper), pepper: nil))
        #expect(throws: ConfigurationError.self) { try AppConfig.fromEnvironment(["OMNIA_PIN_PEPPER": "short"]) }
        #expect(try AppConfig.fromEnvironment(["OMNIA_PIN_PEPPER": pepper]).pinPepper == pepper)
    }

    @Test("issue, look up by code and PIN, get, reload, activate and disable through the API", arguments: TestBackend.available)
    func lifecycle(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let web = try await app.key(scopes: ["ecommerce"])
            let till = try await app.key(scopes: ["pos"])
            let agent = try await app.key(scopes: ["service"])
            let replayHeaders: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "gift-1"]
            let issued = try await client.call(.post, "/v1/gift_cards", key: web, json: ["amount": 5_000, "pin": "2468"], headers: replayHeaders)
            #expect(issued.status == .created)
            let id = try #require(issued.object["id"] as? String)
            let code = try #require(issued.object["code"] as? String)
            #expect(issued.object["balance"] as? Int == 5_000 && issued.object["has_pin"] as? Bool == true)
            let replay = try await client.call(.post, "/v1/gift_cards", key: web, json: ["amount": 5_000, "pin": "2468"], headers: replayHeaders)
            #expect(replay.object["id"] as? String == id, "a retried issue makes no second card")
            #expect(try await app.count("gift_cards") == 1)

            let found = try await client.call(.get, "/v1/gift_cards/lookup?code=\(code)&pin=2468", key: till)
            #expect(found.status == .ok && found.object["id"] as? String == id && found.object["code"] == nil)
            let wrong = try await client.call(.get, "/v1/gift_cards/lookup?code=\(code)&pin=0000", key: till)
            #expect(wrong.status == .notFound && wrong.problemCode == "gift_card_not_found")
            let typo = try await client.call(.get, "/v1/gift_cards/lookup?code=AAAA-AAAA-AAAA-AAAA", key: till)
            let typoErrors = typo.object["errors"] as? [[String: Any]]
            #expect(typo.status == .badRequest && typoErrors?.first?["code"] as? String == "invalid_code")

            let fetched = try await client.call(.get, "/v1/gift_cards/\(id)", key: till)
            #expect(fetched.object["code_last4"] as? String == String(code.suffix(4)))
            let reloaded = try await client.call(.post, "/v1/gift_cards/\(id)/reload", key: till, json: ["amount": 1_500])
            #expect(reloaded.status == .ok && reloaded.object["balance"] as? Int == 6_500)
            let active = try await client.call(.post, "/v1/gift_cards/\(id)/activate", key: till, json: [:])
            #expect(active.status == .conflict && active.problemCode == "gift_card_active")
            let forbidden = try await client.call(.post, "/v1/gift_cards/\(id)/disable", key: till)
            #expect(forbidden.status == .forbidden, "disabling is for agents")
            let disabled = try await client.call(.post, "/v1/gift_cards/\(id)/disable", key: agent, json: ["reason": "reported stolen"])
            #expect(disabled.status == .ok && disabled.object["status"] as? String == "disabled")

            let other = try await app.otherTenant()
            let elsewhere = try await client.call(.get, "/v1/gift_cards/\(id)", key: other.key)
            #expect(elsewhere.status == .notFound, "another tenant never sees the card")
            let elsewhereLookup = try await client.call(.get, "/v1/gift_cards/lookup?code=\(code)&pin=2468", key: other.key)
            #expect(elsewhereLookup.status == .notFound)
        }
    }

    @Test("code lookups are limited per key, far below the general rate limit", arguments: TestBackend.available)
    func lookupRateLimit(backend: TestBackend) async throws {
        try await TestApp.run(backend, configure: { $0.codeLookupsPerMinute = 1; $0.codeLookupBurst = 3 }) { app, client in
            let till = try await app.key(scopes: ["pos"])
            let other = try await app.key(scopes: ["pos"])
            let code = GiftCardCode.generate()
            for _ in 0..<3 {
                #expect(try await client.call(.get, "/v1/gift_cards/lookup?code=\(code)", key: till).status == .notFound)
            }
            let limited = try await client.call(.get, "/v1/gift_cards/lookup?code=\(code)", key: till)
            #expect(limited.status == .tooManyRequests && limited.problemCode == "rate_limited" && limited.headers[.retryAfter] != nil)
            #expect(try await client.call(.get, "/v1/gift_cards/lookup?code=\(code)", key: other).status == .notFound, "another key has its own bucket")
            #expect(try await client.call(.get, "/v1/gift_cards/gc_01aaaaaaaaaaaaaaaaaaaaaaaa", key: till).status == .notFound, "other routes are not limited by it")
        }
    }

    @Test("code lookups are limited per client address too, whatever the key", arguments: TestBackend.available)
    func lookupLimitPerClient(backend: TestBackend) async throws {
        try await TestApp.run(backend, configure: { $0.codeLookupsPerClientPerMinute = 1; $0.codeLookupClientBurst = 2 }) { app, _ in
            let services = app.services
            try services.admitCodeLookup("key-a", client: "203.0.113.7")
            try services.admitCodeLookup("key-b", client: "203.0.113.7")
            #expect(throws: Problem.self, "a third key from the same address shares its allowance") {
                try services.admitCodeLookup("key-c", client: "203.0.113.7")
            }
            try services.admitCodeLookup("key-c", client: "198.51.100.4")
            try services.admitCodeLookup("key-c", client: nil)
        }
    }
}
