import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import OmniaServer
import SQLKit
import Synchronization
import Testing

/// Sales POSTed at the same moment are written together (`SaleGroupCommit`). Each test first takes
/// every writer place of the admin key with sales that wait on a gate, so every POST of the burst
/// queues and the burst is written as exactly one group when the gate opens.
@Suite("Sales written in groups")
struct SaleGroupCommitTests {
    @Test("a burst of sales is one group, and each sale gets what it would alone", arguments: TestBackend.available)
    func burstIsOneGroup(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            // Ana exists, and T-TAKEN is recorded with other content than the burst's T-TAKEN.
            #expect(try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale("T-0")).status == .created)
            #expect(try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale(
                "T-TAKEN", lines: [("SKU-9", "home", 1, 100)])).status == .created)

            var bodies: [(name: String, body: [String: any Sendable])] = []
            for index in 0..<8 { bodies.append(("ana-\(index)", SalesFixtures.sale("T-ANA-\(index)", lines: [("SKU-\(index)", "women/knitwear", 1 + index % 2, 1000)]))) }
            for index in 0..<4 { bodies.append(("new-\(index)", SalesFixtures.sale("T-NEW-\(index)", customer: ["email": "new\(index)@example.com"]))) }
            for index in 0..<3 { bodies.append(("anonymous-\(index)", SalesFixtures.sale("T-ANON-\(index)", customer: nil))) }
            bodies.append(("web", SalesFixtures.sale("T-WEB", channel: "web")))
            bodies.append(("unknown-channel", SalesFixtures.sale("T-LOST", channel: "nowhere")))
            bodies.append(("taken", SalesFixtures.sale("T-TAKEN")))
            // Two tills sending one receipt under two keys: one records it, the other finds it.
            bodies.append(("twice-a", SalesFixtures.sale("T-TWICE")))
            bodies.append(("twice-b", SalesFixtures.sale("T-TWICE")))
            bodies.append(("retry-of-T-0", SalesFixtures.sale("T-0")))

            let burst = bodies
            let responses = try await Self.inOneGroup(app, count: burst.count) {
                try await withThrowingTaskGroup(of: (String, TestResponse).self) { group in
                    for (name, body) in burst {
                        group.addTask {
                            let headers: HTTPFields = [.idempotencyKey: "key-\(name)", .xRequestID: "req-\(name)"]
                            return (name, try await client.call(.post, "/v1/transactions", key: app.adminKey, json: body, headers: headers))
                        }
                    }
                    return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
                }
            }

            for name in bodies.map(\.name) where name.hasPrefix("ana-") || name.hasPrefix("new-") || name.hasPrefix("anonymous-") || name == "web" {
                #expect(responses[name]?.status == .created, "\(name): \(responses[name]?.text ?? "")")
            }
            let lost = try #require(responses["unknown-channel"])
            #expect(lost.status == .badRequest && (lost.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "unknown_channel")
            #expect(responses["taken"]?.status == .conflict && responses["taken"]?.problemCode == "external_id_taken")
            #expect(Set([responses["twice-a"]?.status, responses["twice-b"]?.status]) == [.created, .ok])
            #expect(responses["twice-a"]?.object["id"] as? String == responses["twice-b"]?.object["id"] as? String)
            #expect(responses["retry-of-T-0"]?.status == .ok)

            // Each response is the stored sale, with the customer its identifiers name.
            let ana = try #require(responses["ana-0"]?.object["customer_id"] as? String)
            for index in 0..<8 {
                let response = try #require(responses["ana-\(index)"])
                #expect(response.object["customer_id"] as? String == ana)
                #expect(response.object["total"] as? Int == (1 + index % 2) * 1000)
                let id = try #require(response.object["id"] as? String)
                let stored = try await client.call(.get, "/v1/transactions/\(id)", key: app.adminKey)
                #expect(stored.object["receipt_token"] as? String == response.object["receipt_token"] as? String)
            }
            let newCustomers = Set((0..<4).compactMap { responses["new-\($0)"]?.object["customer_id"] as? String })
            #expect(newCustomers.count == 4 && !newCustomers.contains(ana), "each new e-mail identified its own new customer")
            for index in 0..<3 {
                #expect(responses["anonymous-\(index)"]?.object["customer_id"] == nil)
                #expect(responses["anonymous-\(index)"]?.object["claim_code"] is String, "an anonymous sale can be claimed")
            }
            // 2 before the burst, 16 recorded in it (8 + 4 + 3 + web) and T-TWICE once.
            #expect(try await app.count("transactions") == 19)

            // Every recorded sale has its two events, under its own request id.
            let events = try await app.services.database.read { sql in
                try await sql.raw("SELECT type, request_id FROM events WHERE type IN ('transaction.recorded', 'receipt.issued')").all()
            }
            let requestIDs = try events.map { try $0.decode(column: "request_id", as: String?.self) }
            for name in bodies.map(\.name) where responses[name]?.status == .created {
                #expect(requestIDs.filter { $0 == "req-\(name)" }.count == 2, "\(name)'s events")
            }
            for name in ["unknown-channel", "taken", "retry-of-T-0"] { #expect(!requestIDs.contains("req-\(name)")) }

            // Ana's aggregates count her two earlier sales and the burst's ten (eight, the web one, T-TWICE once).
            let overview = try await client.call(.get, "/v1/customers/\(ana)/overview", key: app.adminKey)
            let totals = try #require((overview.object["totals"] as? [[String: Any]])?.first, "\(overview.text)")
            #expect(totals["orders"] as? Int == 12, "\(totals)")
            let salesAmount: Int = 3995 + 100 + 12_000 + 3995 + 3995
            #expect(totals["sales_amount"] as? Int == salesAmount, "\(totals)")

            // A retry with the same Idempotency-Key replays the remembered response.
            let replay = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: bodies[0].body,
                                               headers: [.idempotencyKey: "key-\(bodies[0].name)"])
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(replay.text == responses[bodies[0].name]?.text)
            // A refused sale's key is free again for a corrected request.
            var corrected = SalesFixtures.sale("T-LOST")
            corrected["channel"] = "web"
            let fixed = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: corrected,
                                              headers: [.idempotencyKey: "key-unknown-channel"])
            #expect(fixed.status == .created, "\(fixed.text)")
        }
    }

    @Test("a group whose transaction fails writes each sale alone, so only the failing one fails", arguments: TestBackend.available)
    func failedGroupGoesOneByOne(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            // A fault only one sale meets: the whole group's statement fails with it.
            try await app.services.database.autocommit { sql in
                switch backend {
                case .sqlite:
                    try await sql.raw("""
                        CREATE TRIGGER refuse_boom BEFORE INSERT ON transactions WHEN NEW.external_id = 'BOOM'
                        BEGIN SELECT RAISE(ABORT, 'boom'); END
                        """).run()
                case .postgres:
                    try await sql.raw("""
                        CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
                        BEGIN IF NEW.external_id = 'BOOM' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$
                        """).run()
                    try await sql.raw("CREATE TRIGGER refuse_boom BEFORE INSERT ON transactions FOR EACH ROW EXECUTE FUNCTION refuse_boom()").run()
                }
            }
            let names = (0..<6).map { "T-\($0)" } + ["BOOM"]
            let responses = try await Self.inOneGroup(app, count: names.count) {
                try await withThrowingTaskGroup(of: (String, TestResponse).self) { group in
                    for name in names {
                        group.addTask {
                            (name, try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale(name),
                                                         headers: [.idempotencyKey: "key-\(name)"]))
                        }
                    }
                    return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
                }
            }
            for name in names.dropLast() { #expect(responses[name]?.status == .created, "\(name): \(responses[name]?.text ?? "")") }
            #expect(responses["BOOM"]?.status == .internalServerError)
            #expect(try await app.count("transactions") == 6)
            #expect(app.services.saleGroups.statistics.failed == 1)
            let events = try await app.services.database.read { sql in
                try await sql.raw("SELECT COUNT(*) AS n FROM events WHERE type = 'transaction.recorded'").first()?.decode(column: "n", as: Int.self)
            }
            #expect(events == 6, "the failed group left nothing behind")
            let retried = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale("T-0"),
                                                headers: [.idempotencyKey: "key-T-0"])
            #expect(retried.headers[HTTPField.Name("Idempotent-Replayed")!] == "true", "each one's key was completed with it")
        }
    }

    @Test("a group meeting an Idempotency-Key already stored lets each sale claim its key alone", arguments: TestBackend.available)
    func storedKeyInGroup(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let first = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale("T-FIRST"),
                                              headers: [.idempotencyKey: "key-used"])
            #expect(first.status == .created)
            var burst: [(name: String, key: String, body: [String: any Sendable])] = (0..<5).map { ("T-\($0)", "key-\($0)", SalesFixtures.sale("T-\($0)")) }
            burst.append(("reused", "key-used", SalesFixtures.sale("T-OTHER")))
            burst.append(("retry", "key-used", SalesFixtures.sale("T-FIRST")))
            let sales = burst
            // PostgreSQL leaves a grouped sale's key to its group, which finds key-used stored and
            // fails; SQLite claims every key in memory first, so the two key-used requests are
            // answered before they could join the group.
            let grouped = backend == .postgres ? sales.count : sales.count - 2
            let failedBefore = app.services.saleGroups.statistics.failed
            let responses = try await Self.inOneGroup(app, count: grouped) {
                try await withThrowingTaskGroup(of: (String, TestResponse).self) { group in
                    for sale in sales {
                        group.addTask {
                            (sale.name, try await client.call(.post, "/v1/transactions", key: app.adminKey, json: sale.body,
                                                              headers: [.idempotencyKey: sale.key]))
                        }
                    }
                    return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
                }
            }
            #expect(app.services.saleGroups.statistics.failed - failedBefore == (backend == .postgres ? 1 : 0))
            for index in 0..<5 {
                #expect(responses["T-\(index)"]?.status == .created, "\(responses["T-\(index)"]?.text ?? "")")
                let replay = try await client.call(.post, "/v1/transactions", key: app.adminKey, json: SalesFixtures.sale("T-\(index)"),
                                                   headers: [.idempotencyKey: "key-\(index)"])
                #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true" && replay.text == responses["T-\(index)"]?.text)
            }
            #expect(responses["reused"]?.status == .conflict && responses["reused"]?.problemCode == "idempotency_key_reused")
            #expect(responses["retry"]?.headers[HTTPField.Name("Idempotent-Replayed")!] == "true" && responses["retry"]?.text == first.text)
            // T-FIRST and the five; T-OTHER was never recorded.
            #expect(try await app.count("transactions") == 6)
        }
    }

    /// Runs `burst` (which POSTs `count` sales) while every writer place of the admin key is taken,
    /// opens them once all `count` sales wait, and checks they were written as one group.
    static func inOneGroup<Result: Sendable>(_ app: TestApp, count: Int, _ burst: @escaping @Sendable () async throws -> Result) async throws -> Result {
        let groups = app.services.saleGroups
        let before = groups.statistics
        let caller = try await adminCaller(app)
        let result = try await GroupBurst.run(count: count, writers: groups.queue.writersPerKey, what: "sales",
                                              waiting: { groups.statistics.waiting }, occupy: { index, gate in
            let draft = try app.services.transactions.validate(
                try decodeJSONObject(RecordTransactionRequest.self, from: Array(JSONSerialization.data(withJSONObject: SalesFixtures.sale("GATE-\(index)")))),
                caller: caller)
            _ = try await groups.record(.init(caller: caller, draft: draft, actor: Actor(id: caller.keyID, requestID: nil), claim: nil,
                                              unclaimedKey: nil, services: app.services)) {
                await gate.wait()
                return Response(status: .noContent)
            }
        }, burst)
        let after = groups.statistics
        #expect(after.groups - before.groups == 1 && after.sales - before.sales == count, "\(before) → \(after)")
        return result
    }

    /// The admin key as the server sees it.
    static func adminCaller(_ app: TestApp) async throws -> Caller {
        let authenticator = APIKeyAuthenticator(database: app.services.database, cacheTTL: .zero)
        return try #require(try await authenticator.authenticate(presented: app.adminKey))
    }
}
