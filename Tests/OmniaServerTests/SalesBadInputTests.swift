import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import OmniaServer
import Testing

@Suite("Sales: bad input")
struct SalesBadInputTests {
    static func lines(_ fields: [String: any Sendable]) -> [[String: any Sendable]] { [fields] }

    /// Each case: what to change in a good sale, and the field and code the error must name.
    static let cases: [(String, [String: any Sendable], String, String)] = [
        ("an unknown channel", ["channel": "store-nowhere"], "channel", "unknown_channel"),
        ("a currency the tenant does not accept", ["currency": "USD"], "currency", "currency_not_accepted"),
        ("a date far in the future", ["occurred_at": "2099-01-01T00:00:00Z"], "occurred_at", "in_future"),
        ("a date that is not RFC 3339", ["occurred_at": "01/03/2026 10:15"], "occurred_at", "invalid_date_time"),
        ("a raw card number as an identifier", ["customer": ["payment_token": "4111 1111 1111 1111"]], "customer.payment_token", "raw_card_number"),
        ("an unparseable e-mail", ["customer": ["email": "ana.example.com"]], "customer.email", "invalid_email"),
        ("an unparseable phone", ["customer": ["phone": "12"]], "customer.phone", "invalid_phone"),
        ("an unknown identifier kind", ["customer": ["shoe_size": "42"]], "customer.shoe_size", "unknown_identifier_kind"),
        ("a line discount above its price", ["lines": Self.lines(["sku": "A", "quantity": 1, "unit_price": 100, "discount": 101])], "lines[0].discount", "discount_exceeds_price"),
        ("a zero quantity", ["lines": Self.lines(["sku": "A", "quantity": 0, "unit_price": 100])], "lines[0].quantity", "invalid_quantity"),
        ("a negative price", ["lines": Self.lines(["sku": "A", "quantity": 1, "unit_price": -5])], "lines[0].unit_price", "negative_amount"),
        ("no lines", ["lines": [] as [[String: any Sendable]]], "lines", "required"),
        ("a return line on a sale", ["lines": Self.lines(["sku": "A", "quantity": 1, "unit_price": 100, "original_line": 1])], "lines[0].original_line", "not_allowed_on_sale"),
        ("a return without its sale", ["kind": "return", "lines": Self.lines(["original_line": 1, "quantity": 1])], "original", "required"),
        ("an unknown kind", ["kind": "exchange"], "kind", "invalid_enum"),
        ("an unknown original sale", ["kind": "return", "original": ["external_id": "nope"], "lines": Self.lines(["original_line": 1, "quantity": 1])], "original", "unknown_original"),
    ]

    @Test("each bad transaction is refused with its field and code, and nothing is written", arguments: TestBackend.available)
    func badTransactions(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            for (name, change, field, code) in Self.cases {
                var body = SalesFixtures.sale("T-bad")
                for (key, value) in change { body[key] = value }
                let response = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: body)
                #expect(response.status == .badRequest, "\(name): \(response.text)")
                let errors = response.object["errors"] as? [[String: Any]] ?? []
                #expect(errors.contains { $0["field"] as? String == field && $0["code"] as? String == code }, "\(name): \(response.text)")
            }
            let typo = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale("T-bad", extra: ["curency": "EUR"]))
            #expect(typo.problemCode == "unknown_field")
            #expect(try await app.count("transactions") == 0)
            #expect(try await app.count("customers") == 0)
        }
    }
}
