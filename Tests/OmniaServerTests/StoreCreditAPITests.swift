import Foundation
import HTTPTypes
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

/// Store credit and the wallet through the real router, on both databases: an agent gives credit,
/// the customer spends it (alone or with a gift card) in any channel, a refund puts it back, and
/// the wallet shows what the customer's whole merged cluster holds.
@Suite("Store credit and wallet")
struct StoreCreditAPITests {
    private static func customer(_ client: any TestClientProtocol, _ app: TestApp, _ name: String) async throws -> String {
        let created = try await client.call(.post, "/v1/customers", key: app.adminKey, json: ["first_name": name, "last_name": "Test"])
        return try #require(created.object["id"] as? String, "\(created.text)")
    }

    private static func redeemCredit(_ client: any TestClientProtocol, key: String, _ credit: String, customer: String) async throws -> TestResponse {
        try await client.call(.post, "/v1/redemptions", key: key, json: [
            "channel": "web", "customer_id": customer, "instruments": [Self.part("store_credit", credit, 1)],
        ])
    }

    private static func part(_ type: String, _ id: String, _ amount: Int) -> [String: any Sendable] {
        ["type": type, "id": id, "amount": amount]
    }

    @Test("an agent gives credit, its owner spends it with a gift card, a refund puts both back, the wallet shows them", arguments: TestBackend.available)
    func lifecycle(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let agent = try await app.key(scopes: ["service"])
            let till = try await app.key(scopes: ["pos"])
            let ana = try await Self.customer(client, app, "Ana")
            let bruno = try await Self.customer(client, app, "Bruno")

            let given = try await client.call(.post, "/v1/customers/\(ana)/store_credit", key: agent, json: ["amount": 2_000, "reason": "late delivery"])
            #expect(given.status == .created && given.object["balance"] as? Int == 2_000 && given.object["customer_id"] as? String == ana, "\(given.text)")
            let credit = try #require(given.object["id"] as? String)
            let more = try await client.call(.post, "/v1/customers/\(ana)/store_credit", key: agent, json: ["amount": 500, "reason": "goodwill"])
            #expect(more.object["id"] as? String == credit && more.object["balance"] as? Int == 2_500, "one account per currency")
            #expect(try await client.call(.post, "/v1/customers/\(ana)/store_credit", key: till, json: ["amount": 1, "reason": "x"]).status == .forbidden)
            let noReason = try await client.call(.post, "/v1/customers/\(ana)/store_credit", key: agent, json: ["amount": 100])
            #expect(noReason.status == .badRequest && (noReason.object["errors"] as? [[String: Any]])?.first?["field"] as? String == "reason")
            let unknown = try await client.call(.post, "/v1/customers/cus_01aaaaaaaaaaaaaaaaaaaaaaaa/store_credit", key: agent,
                                                json: ["amount": 100, "reason": "x"])
            #expect(unknown.status == .notFound)

            // Credit is spent by its owner only.
            let anonymous = try await client.call(.post, "/v1/redemptions", key: till, json: [
                "channel": "store-madrid-01", "instruments": [Self.part("store_credit", credit, 100)],
            ])
            #expect(anonymous.status == .conflict && anonymous.problemCode == "store_credit_not_owned")
            let someoneElse = try await client.call(.post, "/v1/redemptions", key: till, json: [
                "channel": "store-madrid-01", "customer_id": bruno, "instruments": [Self.part("store_credit", credit, 100)],
            ])
            #expect(someoneElse.status == .conflict && someoneElse.problemCode == "store_credit_not_owned")
            let byCode = try await client.call(.post, "/v1/holds", key: till, json: [
                "channel": "web", "customer_id": ana, "instruments": [["type": "store_credit", "code": "K7QM-4XZP-9RTA-B3CV", "amount": 1] as [String: any Sendable]],
            ])
            #expect(byCode.status == .badRequest && (byCode.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "no_code")

            let card = try await client.call(.post, "/v1/gift_cards", key: agent, json: ["amount": 1_000, "customer_id": ana])
            let cardID = try #require(card.object["id"] as? String)
            let held = try await client.call(.post, "/v1/holds", key: till, json: [
                "channel": "store-madrid-01", "customer_id": ana, "instruments": [Self.part("gift_card", cardID, 1_000), Self.part("store_credit", credit, 1_500)],
            ])
            let holdID = try #require(held.object["id"] as? String, "\(held.text)")
            let captured = try await client.call(.post, "/v1/holds/\(holdID)/capture", key: till, json: ["amount": 2_000])
            #expect((captured.object["parts"] as? [[String: Any]])?.map { $0["captured"] as? Int } == [1_000, 1_000])
            let refunded = try await client.call(.post, "/v1/holds/\(holdID)/refund", key: till, json: ["amount": 1_500])
            #expect((refunded.object["parts"] as? [[String: Any]])?.map { $0["refunded"] as? Int } == [1_000, 500], "\(refunded.text)")

            // The shopper's own page, by an unguessable link and no key.
            let web = try await app.key(scopes: ["ecommerce"])
            #expect(try await client.call(.post, "/v1/customers/\(ana)/wallet_link", key: till, json: [:]).status == .forbidden)
            let link = try await client.call(.post, "/v1/customers/\(ana)/wallet_link", key: web, json: [:])
            let path = try #require(link.object["path"] as? String, "\(link.text)")
            #expect(link.status == .created && path.hasPrefix("/v1/wallets/wlt_"))
            let page = try await client.call(.get, path, key: nil)
            #expect(page.status == .ok && (page.object["store_credit"] as? [[String: Any]])?.first?["balance"] as? Int == 2_000, "\(page.text)")
            let html = try await client.call(.get, path + "?format=html", key: nil)
            #expect(html.headers[.contentType]?.hasPrefix("text/html") == true && html.text.contains("Store credit") && html.text.contains("Gift card"))
            #expect(try await client.call(.get, path + "x", key: nil).status == .notFound)
            #expect(try await client.call(.get, "/v1/wallets/wlt_nothing", key: nil).status == .notFound)
            #expect(try await app.count("wallet_links") == 1)
            let tokens = try await app.services.database.read { sql in
                try await sql.raw("SELECT token_hash FROM wallet_links").all(decodingColumn: "token_hash", as: String.self)
            }
            #expect(!path.contains(tokens[0]), "only the token's hash is stored")

            let wallet = try await client.call(.get, "/v1/customers/\(ana)/wallet", key: till)
            #expect(wallet.status == .ok && wallet.object["customer_id"] as? String == ana)
            #expect((wallet.object["gift_cards"] as? [[String: Any]])?.map { $0["balance"] as? Int } == [1_000])
            #expect((wallet.object["store_credit"] as? [[String: Any]])?.map { $0["balance"] as? Int } == [2_000])

            // Ana and Bruno turn out to be one person: the survivor's wallet holds Ana's instruments, and the survivor spends them.
            let merged = try await client.call(.post, "/v1/customers/\(bruno)/merge", key: agent, json: ["customer_id": ana, "reason": "same person"])
            #expect(merged.status == .ok, "\(merged.text)")
            let survivor = try #require(merged.object["id"] as? String)
            let survivorWallet = try await client.call(.get, "/v1/customers/\(survivor)/wallet", key: till)
            #expect((survivorWallet.object["store_credit"] as? [[String: Any]])?.count == 1)
            #expect((survivorWallet.object["gift_cards"] as? [[String: Any]])?.count == 1)
            let bySurvivor = try await client.call(.post, "/v1/redemptions", key: till, json: [
                "channel": "web", "customer_id": survivor, "instruments": [Self.part("store_credit", credit, 2_000)],
            ])
            #expect(bySurvivor.status == .created, "the survivor spends the merged customer's credit: \(bySurvivor.text)")
            // The checkouts appear in the customer's timeline, newest first.
            let timeline = try await client.call(.get, "/v1/customers/\(survivor)/timeline?type=hold,redemption", key: till)
            let entries = timeline.list.map { ($0["type"] as? String ?? "", $0["status"] as? String ?? "", $0["total"] as? Int ?? 0) }
            #expect(entries.map(\.0) == ["redemption", "hold"] && entries.map(\.1) == ["captured", "captured"] && entries.map(\.2) == [2_000, 2_500],
                    "\(timeline.text)")
            // Unmerged, each holds exactly their own instruments again.
            let mergedAway = survivor == ana ? bruno : ana
            let unmerged = try await client.call(.post, "/v1/customers/\(mergedAway)/unmerge", key: agent, json: [:])
            #expect(unmerged.status == .ok, "\(unmerged.text)")
            let anaAgain = try await client.call(.get, "/v1/customers/\(ana)/wallet", key: till)
            #expect((anaAgain.object["store_credit"] as? [[String: Any]])?.map { $0["id"] as? String } == [credit])
            #expect((anaAgain.object["gift_cards"] as? [[String: Any]])?.map { $0["id"] as? String } == [cardID])
            let brunoAgain = try await client.call(.get, "/v1/customers/\(bruno)/wallet", key: till)
            #expect((brunoAgain.object["store_credit"] as? [[String: Any]])?.isEmpty == true && (brunoAgain.object["gift_cards"] as? [[String: Any]])?.isEmpty == true)
            #expect(try await Self.redeemCredit(client, key: till, credit, customer: bruno).problemCode == "store_credit_not_owned")
            let other = try await app.otherTenant()
            #expect(try await client.call(.get, "/v1/customers/\(ana)/wallet", key: other.key).status == .notFound)
            #expect(try await OperatorTools(services: app.services).verifyLedger(tenant: app.tenantID).flatMap(\.findings).isEmpty)
        }
    }

    /// A link opens the wallet for 90 days; an agent or the web shop can end every link of a
    /// customer's cluster at once, and neither an ended nor an expired link tells itself apart
    /// from an unknown one.
    @Test("wallet links expire after 90 days and are revoked together, merged customers' links included", arguments: TestBackend.available)
    func walletLinkLifetime(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let web = try await app.key(scopes: ["ecommerce"])
            let agent = try await app.key(scopes: ["service"])
            let till = try await app.key(scopes: ["pos"])
            let ana = try await Self.customer(client, app, "Ana")
            let bruno = try await Self.customer(client, app, "Bruno")
            func link(_ customer: String) async throws -> (path: String, body: [String: Any]) {
                let made = try await client.call(.post, "/v1/customers/\(customer)/wallet_link", key: web, json: [:])
                #expect(made.status == .created, "\(made.text)")
                return (try #require(made.object["path"] as? String), made.object)
            }
            let first = try await link(ana)
            let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
            let created = try style.parse(try #require(first.body["created_at"] as? String))
            let expires = try style.parse(try #require(first.body["expires_at"] as? String))
            #expect(expires.timeIntervalSince(created) == 90 * 86_400)
            let second = try await link(ana)
            let brunos = try await link(bruno)
            #expect(try await client.call(.get, first.path, key: nil).status == .ok)

            // Made 90 days ago to the millisecond: no longer opens; a day younger still does.
            let now = app.services.nowMilliseconds
            try await app.services.database.transaction { sql in
                try await sql.raw("UPDATE wallet_links SET created_at = \(bind: now - 90 * 86_400_000) WHERE customer_id = \(bind: bruno)").run()
            }
            let expired = try await client.call(.get, brunos.path, key: nil)
            #expect(expired.status == .notFound && expired.object["code"] as? String == "not_found")
            try await app.services.database.transaction { sql in
                try await sql.raw("UPDATE wallet_links SET created_at = \(bind: now - 89 * 86_400_000) WHERE customer_id = \(bind: bruno)").run()
            }
            #expect(try await client.call(.get, brunos.path, key: nil).status == .ok)

            // Bruno is merged into Ana: his link opens her wallet, and revoking Ana's links ends it too.
            let merged = try await client.call(.post, "/v1/customers/\(ana)/merge", key: agent, json: ["customer_id": bruno, "reason": "same person"])
            #expect(merged.status == .ok, "\(merged.text)")
            #expect(try await client.call(.get, brunos.path, key: nil).object["customer_id"] as? String == ana)

            #expect(try await client.call(.delete, "/v1/customers/\(ana)/wallet_links", key: till).status == .forbidden)
            let other = try await app.otherTenant()
            #expect(try await client.call(.delete, "/v1/customers/\(ana)/wallet_links", key: other.key).status == .notFound)
            #expect(try await client.call(.delete, "/v1/customers/cus_nothing/wallet_links", key: agent).status == .notFound)
            let revoked = try await client.call(.delete, "/v1/customers/\(ana)/wallet_links", key: agent)
            #expect(revoked.status == .ok && revoked.object["revoked"] as? Int == 3 && revoked.object["customer_id"] as? String == ana, "\(revoked.text)")
            for path in [first.path, second.path, brunos.path] {
                let gone = try await client.call(.get, path, key: nil)
                #expect(gone.status == .notFound && gone.object["code"] as? String == "not_found", "\(path)")
            }
            #expect(try await client.call(.delete, "/v1/customers/\(bruno)/wallet_links", key: web).object["revoked"] as? Int == 0)
            #expect(try await app.count("audit_log WHERE action = 'wallet_link.revoke'") == 2)
            #expect(try await client.call(.get, (try await link(ana)).path, key: nil).status == .ok, "a new link opens the wallet again")
        }
    }
}
