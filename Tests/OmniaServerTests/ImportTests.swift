import Foundation
import HTTPTypes
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

@Suite("Bulk ingestion and imports")
struct ImportTests {
    static func ndjson(_ records: [String]) -> String { records.joined(separator: "\n") + "\n" }

    static func saleLine(_ externalID: String, currency: String = "EUR", email: String = "ana@example.com") -> String {
        """
        {"external_id":"\(externalID)","channel":"store-madrid-01","occurred_at":"2026-03-01T10:15:00Z","currency":"\(currency)",\
        "customer":{"email":"\(email)"},"lines":[{"sku":"A","category":"home","quantity":2,"unit_price":500}]}
        """
    }

    @Test("a bulk NDJSON post records the good lines, reports each bad one by line, and a repeat creates nothing", arguments: TestBackend.available)
    func bulkEndpoint(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let body = Self.ndjson([Self.saleLine("B-1"), Self.saleLine("B-2"), "{\"external_id\": \"B-3\", oops", "", Self.saleLine("B-4"),
                                    Self.saleLine("B-5", currency: "USD")])
            let headers: HTTPFields = [.contentType: "application/x-ndjson"]
            let first = try await client.call(.post, "/v1/transactions/bulk", key: app.adminKey, rawBody: body, headers: headers)
            #expect(first.status == .ok, "\(first.text)")
            #expect(first.object["received"] as? Int == 5 && first.object["created"] as? Int == 3 && first.object["rejected"] as? Int == 2)
            let rejections = try #require(first.object["rejections"] as? [[String: Any]])
            #expect(rejections.map { $0["line"] as? Int } == [3, 6], "lines count from 1, blank lines included")
            #expect(rejections.map { $0["code"] as? String } == ["malformed_json", "validation_failed"])

            let again = try await client.call(.post, "/v1/transactions/bulk", key: app.adminKey, rawBody: body, headers: headers)
            #expect(again.object["created"] as? Int == 0 && again.object["matched"] as? Int == 3, "\(again.text)")
            #expect(try await app.count("transactions") == 3)

            let atomic = try await client.call(.post, "/v1/transactions/bulk?atomic=true", key: app.adminKey,
                                               rawBody: Self.ndjson([Self.saleLine("B-6"), Self.saleLine("B-7", currency: "USD")]), headers: headers)
            #expect(atomic.status == .unprocessableContent)
            #expect(atomic.problemCode == "import_rejected")
            #expect(((atomic.object["report"] as? [String: Any])?["rejections"] as? [[String: Any]])?.first?["line"] as? Int == 2)
            #expect(try await app.count("transactions") == 3, "atomic: nothing recorded")

            let types = try await app.services.database.read { sql in
                try await sql.raw("SELECT type FROM events WHERE type IN ('transactions.imported', 'receipt.issued')").all(decodingColumn: "type", as: String.self)
            }
            #expect(types == ["transactions.imported"], "an import announces itself once, and mails no receipts")
            let wrongType = try await client.call(.post, "/v1/transactions/bulk", key: app.adminKey, rawBody: body)
            #expect(wrongType.status == .unsupportedMediaType)
        }
    }

    @Test("a bulk chunk gives every record what a single POST gives it: new and merging customers, returns of sales in the same chunk, repeats",
          arguments: TestBackend.available)
    func bulkMatchesSinglePosts(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            // The same story told twice in one tenant, apart by e-mail domain, card and external id:
            // once as single POSTs, once as one bulk call.
            func story(_ world: String, card: String, phone: String) -> [[String: any Sendable]] {
                let ana = ["email": "ana@\(world).example"]
                let first = SalesFixtures.sale("\(world)-1", channel: "web", customer: ana, lines: [("A", "home", 2, 500), ("B", "garden", 1, 1200)])
                var changed = first
                changed["lines"] = [["sku": "A", "category": "home", "quantity": 3, "unit_price": 500] as [String: any Sendable]]
                let giveBack: (Int) -> [String: any Sendable] = { quantity in
                    ["kind": "return", "external_id": "\(world)-r\(quantity)", "channel": "store-madrid-01", "occurred_at": "2026-03-02T10:00:00Z",
                     "original": ["channel": "web", "external_id": "\(world)-1"], "lines": [["original_line": 1, "quantity": quantity] as [String: any Sendable]]]
                }
                return [
                    first,
                    SalesFixtures.sale("\(world)-2", customer: ["email": "ana@\(world).example", "loyalty_card": card]),
                    SalesFixtures.sale("\(world)-3", customer: ["email": "bea@\(world).example", "phone": phone], lines: [("C", "home", 1, 900)]),
                    giveBack(1),
                    first,
                    changed,
                    // The card is Ana's, the e-mail Bea's: both strong, so the two merge.
                    SalesFixtures.sale("\(world)-4", channel: "web", customer: ["loyalty_card": card, "email": "bea@\(world).example"]),
                    // Bea by her phone alone, which the merge did not name.
                    SalesFixtures.sale("\(world)-5", customer: ["phone": phone]),
                    SalesFixtures.sale("\(world)-6", customer: ["id": "cus_01kaaaaaaaaaaaaaaaaaaaaaaa"]),
                    SalesFixtures.sale("\(world)-7", customer: nil),
                    giveBack(5),
                    SalesFixtures.sale("\(world)-8", customer: ana, lines: [("D", "garden", 4, 250)]),
                    SalesFixtures.sale("\(world)-9", customer: ana, extra: ["total": 1]),
                    SalesFixtures.sale("\(world)-10", channel: "nowhere", customer: ana),
                ]
            }
            var singleOutcomes: [String] = []
            for body in story("single", card: "100200300", phone: "+34612345678") {
                let response = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: body)
                singleOutcomes.append(response.status == .created ? "created" : response.status == .ok ? "matched" : response.problemCode ?? "\(response.status)")
            }
            let lines = try story("bulk", card: "400500600", phone: "+34612345679").map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
            let bulk = try await client.call(.post, "/v1/transactions/bulk", key: app.adminKey, rawBody: Self.ndjson(lines),
                                             headers: [.contentType: "application/x-ndjson"])
            #expect(bulk.status == .ok, "\(bulk.text)")
            let rejections = try #require(bulk.object["rejections"] as? [[String: Any]])
            var bulkOutcomes = [String](repeating: "recorded", count: lines.count)
            for rejection in rejections { bulkOutcomes[(rejection["line"] as? Int ?? 1) - 1] = rejection["code"] as? String ?? "?" }
            #expect(singleOutcomes == ["created", "created", "created", "created", "matched", "external_id_taken", "created", "created",
                                       "validation_failed", "created", "over_return", "created", "total_mismatch", "validation_failed"],
                    "\(singleOutcomes)")
            #expect(bulkOutcomes == singleOutcomes.map { ["created", "matched"].contains($0) ? "recorded" : $0 }, "\(bulk.text)")
            #expect(bulk.object["created"] as? Int == singleOutcomes.count { $0 == "created" })
            #expect(bulk.object["matched"] as? Int == singleOutcomes.count { $0 == "matched" })

            // Ana's and Bea's merged customer reads the same in both worlds.
            func overview(_ world: String) async throws -> String {
                let found = try await client.call(.get, "/v1/customers?query=ana@\(world).example", key: app.adminKey).list
                let id = try #require(found.first?["id"] as? String, "ana in \(world)")
                let overview = try await client.call(.get, "/v1/customers/\(id)/overview", key: app.adminKey).object
                #expect((overview["customer"] as? [String: Any])?["merged_into"] as? String == nil, "the survivor")
                // A sale after the merge is recorded for the survivor, not for the customer merged away.
                let owner = try await app.services.database.read { sql in
                    try await sql.raw("SELECT customer_id FROM transactions WHERE external_id = \(bind: "\(world)-5")").first(decodingColumn: "customer_id", as: String.self)
                }
                #expect(owner == id, "\(world)")
                let figures = ["totals", "channels", "favourite_store", "top_categories"].reduce(into: [String: Any]()) { $0[$1] = overview[$1] ?? NSNull() }
                return String(decoding: try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys]), as: UTF8.self)
            }
            let single = try await overview("single")
            #expect(single.contains("\"orders\":6"), "\(single)")
            #expect(try await overview("bulk") == single)
            let customers = try await app.services.database.read { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM customers WHERE canonical_id = id").first(decodingColumn: "n", as: Int.self) ?? 0
            }
            #expect(customers == 2, "one merged customer per world")
        }
    }

    @Test("omnia import loads CSV and NDJSON files, re-imports without duplicates, and --atomic commits nothing on a bad row", arguments: TestBackend.available)
    func importFiles(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("omnia-import-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let tools = OperatorTools(services: app.services)

            let customers = folder.appendingPathComponent("customers.csv")
            try #"""
                email,loyalty_card,first_name,last_name,address,postcode,notes\#r
                ana@example.com,4000123,Ana,García,"Calle Mayor 1, 2º",28013,size 38\#r
                luis@example.com,,Luis,"Pérez ""el rápido""",Gran Vía 2,28004,"likes
                linen"\#r
                not-an-email,,Eva,,,,\#r

                """#.write(to: customers, atomically: true, encoding: .utf8)
            let loaded = try await tools.importFile(.customers, path: customers.path, format: .csv, tenant: app.tenantID, atomic: false) { _ in }
            #expect(loaded.created == 2 && loaded.rejected == 1, "\(loaded)")
            #expect(loaded.rejections.first?.line == 5, "the quoted line break makes Luis's row two lines")
            #expect(loaded.rejections.first?.errors.first?.code == "invalid_email")
            let luis = try await client.call(.get, "/v1/customers?query=luis@example.com", key: app.adminKey).list.first
            #expect(luis?["last_name"] as? String == "Pérez \"el rápido\"")
            #expect((luis?["attributes"] as? [String: Any])?["notes"] as? String == "likes\nlinen")
            let ana = try await client.call(.get, "/v1/customers?query=4000123", key: app.adminKey).list.first
            #expect(ana?["address_line1"] as? String == "Calle Mayor 1, 2º")
            let reloaded = try await tools.importFile(.customers, path: customers.path, format: .csv, tenant: app.tenantID, atomic: false) { _ in }
            #expect(reloaded.created == 0 && reloaded.matched == 2)
            #expect(try await app.count("customers") == 2)

            let sales = folder.appendingPathComponent("sales.csv")
            try """
                \u{FEFF}external_id,channel,occurred_at,currency,total,loyalty_card
                T-1,store-madrid-01,2026-03-01T10:00:00Z,EUR,2500,4000123
                T-2,web,2026-03-02T10:00:00Z,EUR,990,
                T-3,web,2026-03-02T10:00:00Z,EUR,abc,
                T-4,web,2026-03-02T10:00:00Z

                """.write(to: sales, atomically: true, encoding: .utf8)
            let atomic = try await tools.importFile(.transactions, path: sales.path, format: .csv, tenant: app.tenantID, atomic: true) { _ in }
            #expect(!atomic.committed && atomic.rejected == 2 && atomic.created == 0, "\(atomic)")
            #expect(try await app.count("transactions") == 0)
            let imported = try await tools.importFile(.transactions, path: sales.path, format: .csv, tenant: app.tenantID, atomic: false) { _ in }
            #expect(imported.created == 2 && imported.rejections.map(\.line) == [4, 5], "a byte-order mark is not part of the header: \(imported)")
            #expect(imported.rejections.last?.code == "malformed_csv")
            let anaID = try #require(ana?["id"] as? String)
            let overview = try await client.call(.get, "/v1/customers/\(anaID)/overview", key: app.adminKey)
            #expect((overview.object["totals"] as? [[String: Any]])?.first?["sales_amount"] as? Int == 2500)

            let ndjson = folder.appendingPathComponent("sales.ndjson")
            try Self.ndjson([Self.saleLine("N-1"), Self.saleLine("N-2")]).write(to: ndjson, atomically: true, encoding: .utf8)
            let fromNDJSON = try await tools.importFile(.transactions, path: ndjson.path, format: .ndjson, tenant: app.tenantID, atomic: false) { _ in }
            #expect(fromNDJSON.created == 2)
            await #expect(throws: Problem.self) {
                _ = try await tools.importFile(.transactions, path: folder.appendingPathComponent("missing.ndjson").path, format: .ndjson,
                                               tenant: app.tenantID, atomic: false) { _ in }
            }
        }
    }
}
