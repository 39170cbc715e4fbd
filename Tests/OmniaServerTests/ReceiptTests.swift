import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import OmniaServer
import SQLKit
import Testing

@Suite("Digital receipts")
struct ReceiptTests {
    @Test("receipt tokens sort in issue order; a token issued before they carried the time still opens its receipt", arguments: TestBackend.available)
    func receiptTokensAreTimeOrdered(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            var tokens: [String] = []
            for index in 0..<3 {
                let sale = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale(
                    "T-ORDER-\(index)", customer: nil, lines: [("Socks", "home", 1, 500)]))
                #expect(sale.status == .created, "\(sale.text)")
                tokens.append(try #require(sale.object["receipt_token"] as? String))
                try await Task.sleep(for: .milliseconds(2))
            }
            #expect(tokens == tokens.sorted(), "\(tokens)")
            let secret = try #require(tokens[0].split(separator: "_").last)
            #expect(secret.count == 42, "10 characters of issue time, then 32 random")

            // A token of the earlier shape: the tenant, then 32 random characters.
            let legacy = "rct_\(app.tenantID.dropFirst(4))_" + String(secret.suffix(32))
            let first = tokens[0]
            try await app.services.database.transaction { sql in
                try await sql.raw("UPDATE transactions SET receipt_token = \(bind: legacy) WHERE receipt_token = \(bind: first)").run()
            }
            let receipt = try await client.call(.get, "/v1/receipts/\(legacy)", key: nil)
            #expect(receipt.status == .ok, "\(receipt.text)")
            #expect(receipt.object["receipt_token"] as? String == legacy)
            #expect(try await client.call(.get, "/v1/receipts/\(first)", key: nil).status == .notFound)
        }
    }

    @Test("every sale has a receipt, as JSON and as a printable page, behind an unguessable link", arguments: TestBackend.available)
    func receiptsAreServed(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let policy = try await client.call(.patch, "/v1/tenant", key: app.adminKey, json: [
                "return_policy": "Returns within 30 days in any store or online.", "additional_currencies": ["USD", "EUR", "USD"],
            ])
            #expect(policy.status == .ok, "\(policy.text)")
            #expect(policy.object["additional_currencies"] as? [String] == ["USD"], "the default currency is always accepted; duplicates fold")
            let sale = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale(
                "T-77", customer: nil, lines: [("<script>alert(1)</script>", "home", 2, 1995)],
                extra: ["taxes": [["name": "IVA", "rate": 2100, "amount": 692] as [String: any Sendable]], "tenders": [["kind": "gift_card", "amount": 3990] as [String: any Sendable]]]))
            #expect(sale.status == .created, "\(sale.text)")
            let token = try #require(sale.object["receipt_token"] as? String)
            let code = try #require(sale.object["claim_code"] as? String)

            let json = try await client.call(.get, "/v1/receipts/\(token)", key: nil)
            #expect(json.status == .ok, "\(json.text)")
            #expect(json.object["tenant_name"] as? String == "Moda Test")
            #expect((json.object["store"] as? [String: Any])?["name"] as? String == "Madrid Centro")
            #expect(json.object["return_policy"] as? String == "Returns within 30 days in any store or online.")
            #expect((json.object["claim_qr_svg"] as? String)?.hasPrefix("<svg") == true)
            #expect(json.headers[.cacheControl] == "private, no-store")

            let page = try await client.call(.get, "/v1/receipts/\(token)", key: nil, headers: [.accept: "text/html,application/xhtml+xml"])
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(page.text.contains("39.90 EUR") && page.text.contains(code) && page.text.contains("<svg"))
            #expect(page.text.contains("IVA 21%"))
            #expect(page.text.contains("&lt;script&gt;") && !page.text.contains("<script>"), "text from requests is escaped")
            #expect(try await client.call(.get, "/v1/receipts/\(token)?format=html", key: nil).text.hasPrefix("<!doctype html>"))

            var tampered = token
            tampered.removeLast()
            tampered.append(token.hasSuffix("a") ? "b" : "a")
            #expect(try await client.call(.get, "/v1/receipts/\(tampered)", key: nil).status == .notFound)
            #expect(try await client.call(.get, "/v1/receipts/txn_whatever", key: nil).status == .notFound)

            let events = try await app.services.database.read { sql in
                try await sql.raw("SELECT data FROM events WHERE type = 'receipt.issued'").all(decodingColumn: "data", as: String.self)
            }
            #expect(events.count == 1 && events[0].contains("\"receipt_path\":\"/v1/receipts/\(token)\""), "\(events)")

            let dollars = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale("T-78", extra: ["currency": "USD"]))
            #expect(dollars.status == .created, "an additional currency is accepted: \(dollars.text)")
            #expect(dollars.object["customer_id"] is String)
            let dollarsReceipt = try await client.call(.get, "/v1/receipts/\(try #require(dollars.object["receipt_token"] as? String))", key: nil)
            #expect((dollarsReceipt.object["transaction"] as? [String: Any])?["customer_id"] == nil, "a receipt link does not reveal who bought")
            let yen = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale("T-79", extra: ["currency": "JPY"]))
            #expect(yen.status == .badRequest)
            let notAdmin = try await app.key(scopes: ["pos"])
            #expect(try await client.call(.patch, "/v1/tenant", key: notAdmin, json: ["return_policy": "x"]).status == .forbidden)
        }
    }
}
