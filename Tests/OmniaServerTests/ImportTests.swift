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
