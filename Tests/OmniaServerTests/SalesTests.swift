import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import OmniaServer
import SQLKit
import Testing

@Suite("Sales and returns")
struct SalesTests {
    @Test("a sale lands on the customer its identifiers name, and a till's retry never records it twice", arguments: TestBackend.available)
    func saleIsRecordedOnce(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let places = try await SalesFixtures.make(app, client)
            let body = SalesFixtures.sale("T-1001", lines: [("SKU-1", "women/knitwear", 2, 3995), ("SKU-2", "men/shoes", 1, 5000)],
                                          extra: ["tenders": ([["kind": "card", "amount": 12990]] as [[String: any Sendable]])])
            let first = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: body)
            #expect(first.status == .created, "\(first.text)")
            let id = try #require(first.object["id"] as? String)
            #expect(id.hasPrefix("txn_"))
            #expect(first.object["total"] as? Int == 12990 && first.object["subtotal"] as? Int == 12990)
            #expect(first.object["channel_id"] as? String == places.storeChannelID)
            #expect(first.object["location_id"] as? String == places.storeLocationID, "a store channel's sales happen at its location")
            #expect(first.object["claim_code"] == nil, "a sale with a customer has nothing to claim")
            let customerID = try #require(first.object["customer_id"] as? String)
            #expect(try await app.count("customers") == 1, "the e-mail identified (created) the customer")

            let retry = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: body)
            #expect(retry.status == .ok)
            #expect(retry.object["id"] as? String == id)
            #expect(try await app.count("transactions") == 1)
            #expect(try await app.count("transaction_lines") == 2)

            var byID = body
            byID["channel"] = places.storeChannelID
            let retryByID = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: byID)
            #expect(retryByID.status == .ok, "naming the channel by id is the same transaction: \(retryByID.text)")

            var changed = body
            changed["lines"] = ([["sku": "SKU-9", "quantity": 1, "unit_price": 100]] as [[String: any Sendable]])
            changed["tenders"] = nil
            let reused = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: changed)
            #expect(reused.status == .conflict)
            #expect(reused.problemCode == "external_id_taken")
            #expect(reused.object["transaction_id"] as? String == id)

            var web = body
            web["channel"] = places.webChannelID
            let sameNumberOnline = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: web)
            #expect(sameNumberOnline.status == .created, "external ids are unique per channel only")
            #expect(sameNumberOnline.object["location_id"] == nil)

            let fetched = try await client.call(.get, "/v1/transactions/\(id)", key: app.adminKey)
            #expect((fetched.object["lines"] as? [[String: Any]])?.map { $0["sku"] as? String } == ["SKU-1", "SKU-2"])
            let history = try await client.call(.get, "/v1/customers/\(customerID)/transactions", key: app.adminKey)
            #expect(history.list.map { $0["id"] as? String } == [sameNumberOnline.object["id"] as? String, id], "newest first")
            let onlyWeb = try await client.call(.get, "/v1/customers/\(customerID)/transactions?channel_id=\(places.webChannelID)", key: app.adminKey)
            #expect(onlyWeb.list.count == 1)

            let types = try await app.services.database.read { sql in
                try await sql.raw("SELECT type FROM events WHERE type IN ('transaction.recorded', 'receipt.issued')").all(decodingColumn: "type", as: String.self)
            }
            #expect(types.filter { $0 == "transaction.recorded" }.count == 2 && types.filter { $0 == "receipt.issued" }.count == 2)
            let other = try await app.otherTenant()
            #expect(try await client.call(.get, "/v1/transactions/\(id)", key: other.key).status == .notFound)
        }
    }

    @Test("order discounts, excluded taxes and tenders must add up, or the sale is refused and nothing is written", arguments: TestBackend.available)
    func totalsAddUp(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            func body(total: Int? = nil, tendered: Int = 4356, discount: Int = 400) -> [String: any Sendable] {
                var extra: [String: any Sendable] = [
                    "discounts": ([["code": "SPRING", "amount": discount]] as [[String: any Sendable]]), "taxes": ([["name": "Sales tax", "rate": 2100, "amount": 756]] as [[String: any Sendable]]),
                    "taxes_included": false, "tenders": ([["kind": "card", "amount": tendered]] as [[String: any Sendable]]),
                ]
                if let total { extra["total"] = total }
                return SalesFixtures.sale("T-2", lines: [("A", "home", 1, 1000), ("B", "home", 1, 3000)], extra: extra)
            }
            let wrongTotal = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: body(total: 4000))
            #expect(wrongTotal.status == .unprocessableContent)
            #expect(wrongTotal.problemCode == "total_mismatch")
            let wrongTenders = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: body(tendered: 4000))
            #expect(wrongTenders.problemCode == "tenders_mismatch")
            let tooMuchOff = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: body(discount: 5000))
            #expect(tooMuchOff.problemCode == "discounts_exceed_subtotal")
            #expect(try await app.count("transactions") == 0)
            #expect(try await app.count("customers") == 0, "the customer the refused sale identified was not kept either")

            let recorded = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: body(total: 4356))
            #expect(recorded.status == .created, "\(recorded.text)")
            #expect(recorded.object["discount_total"] as? Int == 400 && recorded.object["tax_total"] as? Int == 756)
            let lines = try #require(recorded.object["lines"] as? [[String: Any]])
            #expect(lines.map { $0["net_total"] as? Int } == [900, 2700], "the order discount is spread over the lines in proportion")
        }
    }

    @Test("a web order returned in a store refunds its share, and no unit is ever returned twice", arguments: TestBackend.available)
    func returnsAcrossChannels(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let places = try await SalesFixtures.make(app, client)
            let sale = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale(
                "W-1", channel: "web", lines: [("DRESS", "women/dresses", 3, 1000)], extra: ["discounts": [["amount": 100]]]))
            let saleID = try #require(sale.object["id"] as? String)
            func giveBack(_ externalID: String, _ quantity: Int, original: [String: String] = ["channel": "web", "external_id": "W-1"]) async throws -> TestResponse {
                try await client.call(.post, "/v1/transactions", key: app.adminKey, json: [
                    "kind": "return", "external_id": externalID, "channel": "store-madrid-01", "occurred_at": "2026-03-05T12:00:00Z",
                    "original": original, "lines": ([["original_line": 1, "quantity": quantity, "reason": "too small"]] as [[String: any Sendable]]),
                ])
            }
            let first = try await giveBack("R-1", 1)
            #expect(first.status == .created, "\(first.text)")
            #expect(first.object["total"] as? Int == 966, "a third of the 2,900 net, rounded down")
            #expect(first.object["original_transaction_id"] as? String == saleID)
            #expect(first.object["customer_id"] as? String == sale.object["customer_id"] as? String, "a return lands on the sale's customer")
            #expect((first.object["lines"] as? [[String: Any]])?.first?["category"] as? String == "women/dresses")
            let rest = try await giveBack("R-2", 2)
            #expect(rest.object["total"] as? Int == 1934, "the last units refund exactly what is left of the line")

            let tooMany = try await giveBack("R-3", 1)
            #expect(tooMany.status == .unprocessableContent)
            #expect(tooMany.problemCode == "over_return")
            #expect((tooMany.object["errors"] as? [[String: Any]])?.first?["field"] as? String == "lines[0].quantity")
            #expect(try await app.count("transactions") == 3)

            let returnOfReturn = try await giveBack("R-4", 1, original: ["id": try #require(first.object["id"] as? String)])
            #expect(returnOfReturn.problemCode == "validation_failed")
            #expect((returnOfReturn.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "original_not_sale")

            let fetched = try await client.call(.get, "/v1/transactions/\(saleID)", key: app.adminKey)
            #expect((fetched.object["lines"] as? [[String: Any]])?.first?["returned_quantity"] as? Int == 3)
            let stats = try await app.services.database.read { sql in
                try await sql.raw("SELECT channel_id, orders, returns, sales_amount, returned_amount FROM customer_channel_stats ORDER BY channel_id").all()
            }
            let figures = try stats.map { row in
                [try row.decode(column: "orders", as: Int.self), try row.decode(column: "returns", as: Int.self),
                 try row.decode(column: "sales_amount", as: Int.self), try row.decode(column: "returned_amount", as: Int.self)]
            }
            let channels = try stats.map { try $0.decode(column: "channel_id", as: String.self) }
            let byChannel = Dictionary(uniqueKeysWithValues: zip(channels, figures))
            #expect(byChannel[places.webChannelID] == [1, 0, 2900, 0])
            #expect(byChannel[places.storeChannelID] == [0, 2, 0, 2900], "returns count where they happen")
        }
    }

    @Test("returning every unit, one at a time, refunds exactly what was paid, taxes included", arguments: TestBackend.available)
    func returnsRefundTaxesExactly(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let sale = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale(
                "US-1", lines: [("CAP", "accessories", 3, 1000)],
                extra: ["taxes": [["name": "State tax", "rate": 725, "amount": 217] as [String: any Sendable]], "taxes_included": false]))
            #expect(sale.object["total"] as? Int == 3217, "\(sale.text)")
            var refunded = 0
            var taxes = 0
            for index in 0..<3 {
                let back = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: [
                    "kind": "return", "external_id": "UR-\(index)", "channel": "web", "occurred_at": "2026-03-02T10:00:00Z",
                    "original": ["channel": "store-madrid-01", "external_id": "US-1"], "lines": [["original_line": 1, "quantity": 1]],
                ])
                #expect(back.status == .created, "\(back.text)")
                refunded += back.object["total"] as? Int ?? 0
                taxes += back.object["tax_total"] as? Int ?? 0
            }
            #expect(taxes == 217)
            #expect(refunded == 3217)
            let wrongPlace = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: [
                "kind": "return", "external_id": "UR-9", "channel": "web", "occurred_at": "2026-03-02T10:00:00Z",
                "original": ["channel": "store-atlantis", "external_id": "US-1"], "lines": [["original_line": 1, "quantity": 1]],
            ])
            #expect((wrongPlace.object["errors"] as? [[String: Any]])?.first?["field"] as? String == "original.channel")
        }
    }

    @Test("many tills returning units of one line at once never return more than was sold", arguments: TestBackend.available)
    func concurrentReturns(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let sale = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale(
                "S-1", lines: [("SOCKS", "men/socks", 5, 999)]))
            let saleID = try #require(sale.object["id"] as? String)
            let results = try await withThrowingTaskGroup(of: (Int, Int?).self) { group in
                for index in 0..<12 {
                    group.addTask {
                        let response = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: [
                            "kind": "return", "external_id": "R-\(index)", "channel": "store-madrid-01", "occurred_at": "2026-03-02T10:00:00Z",
                            "original": ["id": saleID], "lines": [["original_line": 1, "quantity": 1]],
                        ])
                        return (Int(response.status.code), response.object["total"] as? Int)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { $0.0 == 201 }.count == 5, "\(results)")
            #expect(results.filter { $0.0 == 422 }.count == 7)
            #expect(results.compactMap(\.1).reduce(0, +) == 4995, "the refunds add up to the line, to the cent")
            #expect(try await app.count("transactions") == 6)
        }
    }

    @Test("a key bound to a channel stamps it, and refuses to record for another", arguments: TestBackend.available)
    func boundKeyStampsChannel(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let places = try await SalesFixtures.make(app, client)
            let till = try await app.key(scopes: ["pos"], channel: places.storeChannelID)
            var body = SalesFixtures.sale("T-9")
            body["channel"] = nil
            let stamped = try await client.call(.post, "/v1/transactions", key: till, json: body)
            #expect(stamped.status == .created, "\(stamped.text)")
            #expect(stamped.object["channel_id"] as? String == places.storeChannelID)
            body["channel"] = "web"
            let elsewhere = try await client.call(.post, "/v1/transactions", key: till, json: body)
            #expect((elsewhere.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "channel_mismatch")
            let analyst = try await app.key(scopes: ["analytics:read"])
            #expect(try await client.call(.post, "/v1/transactions", key: analyst, json: SalesFixtures.sale("T-10")).status == .forbidden)
        }
    }
}
