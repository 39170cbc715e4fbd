import Foundation
import HTTPTypes
import OmniaCore
@testable import OmniaServer
import SQLKit
import Synchronization
import Testing

@Suite("Demo history")
struct DemoHistoryTests {
    /// What a history adds up to, independent of generated ids.
    static func digest(_ services: AppServices, tenantID: String) async throws -> [Int] {
        try await services.database.read { sql in
            let row = try await sql.raw("""
                SELECT COUNT(*) AS n,
                    CAST(COALESCE(SUM(CASE WHEN kind = 'sale' THEN total ELSE 0 END), 0) AS BIGINT) AS sales,
                    CAST(COALESCE(SUM(CASE WHEN kind = 'return' THEN 1 ELSE 0 END), 0) AS BIGINT) AS returns,
                    CAST(COALESCE(SUM(CASE WHEN kind = 'sale' AND claim_code IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS anonymous,
                    CAST(COALESCE(SUM(CASE WHEN claimed_at IS NOT NULL AND kind = 'sale' THEN 1 ELSE 0 END), 0) AS BIGINT) AS claimed
                FROM transactions WHERE tenant_id = \(bind: tenantID)
                """).first()
            let merges = try await sql.raw("SELECT COUNT(*) AS n FROM customer_merges WHERE tenant_id = \(bind: tenantID)").first(decodingColumn: "n", as: Int.self)
            return [try row?.decode(column: "n", as: Int.self) ?? 0, try row?.decode(column: "sales", as: Int.self) ?? 0,
                    try row?.decode(column: "returns", as: Int.self) ?? 0, try row?.decode(column: "anonymous", as: Int.self) ?? 0,
                    try row?.decode(column: "claimed", as: Int.self) ?? 0, merges ?? 0]
        }
    }

    @Test("the demo history has returns across channels, anonymous and claimed receipts and merges, the same from the same seed",
          arguments: TestBackend.available)
    func reproducibleHistory(backend: TestBackend) async throws {
        let digests = Mutex<[[Int]]>([])
        for _ in 0..<2 {
            try await TestApp.run(backend) { app, client in
                let demo = try await DemoSeed.run(app.services)
                #expect(try await DemoHistory.seed(app.services, tenantID: demo.tenantID, transactions: 600) == 600)
                #expect(try await DemoHistory.seed(app.services, tenantID: demo.tenantID, transactions: 600) == 0, "seeding again adds nothing")
                let digest = try await Self.digest(app.services, tenantID: demo.tenantID)
                #expect(digest[0] > 600 && digest[2] > 10 && digest[3] > 10 && digest[4] > 0 && digest[5] == 24, "\(digest)")
                let crossChannel = try await app.services.database.read { sql in
                    try await sql.raw("""
                        SELECT COUNT(*) AS n FROM transactions r JOIN transactions s ON s.tenant_id = r.tenant_id AND s.id = r.original_id
                        WHERE r.tenant_id = \(bind: demo.tenantID) AND r.channel_id <> s.channel_id
                        """).first(decodingColumn: "n", as: Int.self) ?? 0
                }
                #expect(crossChannel > 0, "some web orders come back in a store")
                // Benefits: cards held by customers (some partly spent), store credit, a welcome code and assigned unique codes; sound books.
                let benefits = try await app.services.database.read { sql in
                    try await sql.raw("""
                        SELECT (SELECT COUNT(*) FROM gift_cards WHERE tenant_id = \(bind: demo.tenantID)) AS cards,
                               (SELECT COUNT(*) FROM checkout_holds WHERE tenant_id = \(bind: demo.tenantID)) AS redemptions,
                               (SELECT COUNT(*) FROM store_credits WHERE tenant_id = \(bind: demo.tenantID)) AS credits,
                               (SELECT COUNT(*) FROM coupon_codes WHERE tenant_id = \(bind: demo.tenantID) AND customer_id IS NOT NULL) AS assigned
                        """).all().first.map { row in
                        try ["cards", "redemptions", "credits", "assigned"].map { try row.decode(column: $0, as: Int.self) }
                    } ?? []
                }
                #expect(benefits.count == 4 && benefits.allSatisfy { $0 > 0 }, "\(benefits)")
                #expect(try await OperatorTools(services: app.services).verifyLedger(tenant: demo.tenantID).flatMap(\.findings).isEmpty)
                // Promotions: the chain's offers, active, and a till asking about a knitwear cart gets its 3 for 2.
                let promotions = try await client.call(.get, "/v1/promotions?status=active", key: demo.adminKey)
                #expect((promotions.object["data"] as? [[String: Any]])?.compactMap { $0["name"] as? String }.sorted() == [
                    "3 for 2 in knitwear", "Birthday: a 10 € gift card", "Come back: 5 € off a cart of 30 €", "Gold weekend: 15 %",
                    "Welcome: 10 % off the first order",
                ], "\(promotions.text)")
                let campaigns = try await client.call(.get, "/v1/campaigns", key: demo.adminKey)
                #expect((campaigns.object["data"] as? [[String: Any]])?.map { "\($0["name"] ?? ""):\($0["status"] ?? "")" }.sorted() == [
                    "Forgot something?:active", "Happy birthday: 200 points:active", "We miss you:draft",
                ], "\(campaigns.text)")
                let consenting = try await app.services.database.read { sql in
                    try await sql.raw("SELECT COUNT(*) AS n FROM customer_consents WHERE granted = 1").first(decodingColumn: "n", as: Int.self) ?? 0
                }
                #expect(consenting > 0, "some demo customers can be messaged")
                let knitwear: [[String: any Sendable]] = [["sku": "JMP-01", "category": "women/knitwear", "quantity": 3, "unit_price": 5995]]
                // A shopper new to the chain brings the welcome code: its per-customer limit needs them named.
                let newcomer = try await client.call(.post, "/v1/customers", key: demo.adminKey, json: ["first_name": "Nora", "last_name": "New"])
                let evaluated = try await client.call(.post, "/v1/checkout/evaluate", key: demo.adminKey, json: [
                    "channel": "store-madrid-01", "currency": "EUR", "lines": knitwear, "codes": [DemoBenefits.welcomeCode],
                    "customer_id": try #require(newcomer.object["id"] as? String, "\(newcomer.text)"),
                ])
                #expect(evaluated.object["discount"] as? Int == 5_995 + 1_199, "3 for 2, then 10 % of the rest: \(evaluated.text)")
                digests.withLock { $0.append(digest) }
            }
        }
        let both = digests.withLock { $0 }
        #expect(both.count == 2 && both[0] == both[1])
    }

    @Test("the call centre's retyped shoppers share no identifier, and the queued match job finds them", arguments: TestBackend.available)
    func retypedShoppersAreFoundByMatching(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let demo = try await DemoSeed.run(app.services)
            try await DemoHistory.seed(app.services, tenantID: demo.tenantID, transactions: 1_500)
            let retyped = try await app.services.database.read { sql in
                try await sql.raw("""
                    SELECT c.id FROM customers c JOIN customer_identifiers i ON i.tenant_id = c.tenant_id AND i.customer_id = c.id
                    WHERE c.tenant_id = \(bind: demo.tenantID) AND i.kind = 'email' AND i.value LIKE 'cc.%'
                    """).all().map { try $0.decode(column: "id", as: String.self) }
            }
            #expect(retyped.count >= 15, "\(retyped.count)")
            let job = try #require(try await MatchJobs(services: app.services).runNext(), "the demo queues a match job")
            #expect(job.status == "succeeded")
            let found = try await MatchingTests.candidates(client, key: demo.adminKey, job: job.id)
            let covered = Set(found.flatMap { [$0["left_customer_id"] as? String ?? "", $0["right_customer_id"] as? String ?? ""] })
            let share = Double(retyped.filter(covered.contains).count) / Double(retyped.count)
            #expect(share >= 0.8, "matching found \(share) of the retyped shoppers")
            // And little else: the demo's other shoppers differ in birth date and address, even when
            // they share a common name and a postcode.
            let unrelated = found.filter { !retyped.contains($0["left_customer_id"] as? String ?? "") && !retyped.contains($0["right_customer_id"] as? String ?? "") }
            #expect(Double(unrelated.count) <= Double(retyped.count) * 0.25, "\(unrelated.count) pairs without a retyped shopper, merged \(job.merged ?? 0)")
        }
    }

    @Test("at the demo's size, matching finds the retyped shoppers and hardly anyone else (shoppers with a common name differ in birth date and address)")
    func demoShoppersAreToldApart() {
        var random = SplitMix64(seed: 20261123)
        let people = (0..<2_000).map { DemoPerson(number: $0, random: &random) }
        var records = people.enumerated().map { index, person in
            RecordLinkage.Record(id: "p\(index)", firstName: person.firstName, lastName: person.lastName, birthDate: person.birthDate,
                                 address: person.address, postcode: person.postcode, phone: person.phone, email: person.email)
        }
        let retyped = Array(stride(from: 5, to: people.count, by: people.count / 30).prefix(30))
        for index in retyped {
            let person = people[index]
            records.append(RecordLinkage.Record(id: "r\(index)", firstName: person.firstName, lastName: DemoPerson.slipped(person.lastName),
                                                birthDate: person.birthDate, address: person.address, postcode: person.postcode,
                                                phone: DemoPerson.slipped(person.phone), email: "cc.\(person.card)@mail.example"))
        }
        let (_, pairs) = RecordLinkage.link(records)
        let found = pairs.filter { $0.probability >= 0.5 }.map { Set([records[$0.left].id, records[$0.right].id]) }
        let truth = Set(retyped.map { Set(["p\($0)", "r\($0)"]) })
        let hits = found.filter(truth.contains).count
        #expect(Double(hits) >= 0.8 * Double(truth.count), "found \(hits) of \(truth.count)")
        #expect(found.count - hits <= truth.count / 4, "\(found.count - hits) pairs of different shoppers")
    }
}
