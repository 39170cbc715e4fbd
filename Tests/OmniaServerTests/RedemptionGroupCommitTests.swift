import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

/// Redemptions POSTed at the same moment are written together (`RedemptionGroupCommit`). The test
/// first takes the tenant's writer places with redemptions that wait on a gate, so every POST of
/// the burst queues and the burst is written as exactly one group when the gate opens.
@Suite("Redemptions written in groups")
struct RedemptionGroupCommitTests {
    @Test("a burst of redemptions is one group, and each gets what it would alone", arguments: TestBackend.available)
    func burstIsOneGroup(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await SalesFixtures.make(app, client)
            let agent = try await app.key(scopes: ["service"])
            func issue(_ body: [String: any Sendable]) async throws -> String {
                let issued = try await client.call(.post, "/v1/gift_cards", key: app.adminKey, json: body)
                return try #require(issued.object["id"] as? String, "\(issued.text)")
            }
            let hot = try await issue(["amount": 1_000])
            let other = try await issue(["amount": 500])
            let disabled = try await issue(["amount": 500])
            let storeOnly = try await issue(["amount": 500, "channels": ["store-madrid-01"]])
            _ = try await client.call(.post, "/v1/gift_cards/\(disabled)/disable", key: agent, json: [:])
            func redemption(_ card: String, _ amount: Int, channel: String = "web") -> [String: any Sendable] {
                ["channel": channel, "instruments": [["type": "gift_card", "id": card, "amount": amount] as [String: any Sendable]]]
            }
            // A redemption already recorded under its key, retried in the burst.
            let earlier = try await client.call(.post, "/v1/redemptions", key: app.adminKey, json: redemption(other, 100),
                                                headers: [.idempotencyKey: "key-retry"])
            #expect(earlier.status == .created)

            var burst: [(name: String, body: [String: any Sendable])] = []
            for index in 0..<6 { burst.append(("hot-\(index)", redemption(hot, 300))) }  // 1,000 pays three of six
            burst.append(("other", redemption(other, 400)))
            burst.append(("disabled", redemption(disabled, 10)))
            burst.append(("restricted", redemption(storeOnly, 10)))
            burst.append(("in-store", redemption(storeOnly, 10, channel: "store-madrid-01")))
            burst.append(("lost", redemption(hot, 10, channel: "nowhere")))
            burst.append(("retry", redemption(other, 100)))
            let requests = burst
            // SQLite replays the retry from its in-memory claim before the group; on PostgreSQL the
            // group finds its key stored and sends it on alone.
            let grouped = backend == .sqlite ? requests.count - 1 : requests.count
            let responses = try await Self.inOneGroup(app, count: grouped) {
                try await withThrowingTaskGroup(of: (String, TestResponse).self) { group in
                    for (name, body) in requests {
                        group.addTask {
                            let headers: HTTPFields = [.idempotencyKey: "key-\(name)", .xRequestID: "req-\(name)"]
                            return (name, try await client.call(.post, "/v1/redemptions", key: app.adminKey, json: body, headers: headers))
                        }
                    }
                    return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
                }
            }
            let hotOutcomes = (0..<6).map { responses["hot-\($0)"]?.status }
            #expect(hotOutcomes.filter { $0 == .created }.count == 3 && hotOutcomes.filter { $0 == .conflict }.count == 3, "\(hotOutcomes)")
            #expect((0..<6).compactMap { responses["hot-\($0)"] }.filter { $0.status == .conflict }.allSatisfy { $0.problemCode == "insufficient_funds" })
            #expect(responses["other"]?.status == .created)
            #expect(responses["disabled"]?.problemCode == "gift_card_disabled")
            #expect(responses["restricted"]?.problemCode == "instrument_restricted")
            #expect(responses["in-store"]?.status == .created)
            #expect(responses["lost"]?.status == .badRequest)
            #expect(responses["retry"]?.status == .created && responses["retry"]?.text == earlier.text, "the retry replays, nothing more is taken")

            let balances = try await app.services.database.read { sql in
                try await LedgerStore(tenantID: app.tenantID).accounts(on: sql, ids: [hot, other, storeOnly])
            }.reduce(into: [String: Int64]()) { $0[$1.id] = $1.balance.posted }
            #expect(balances == [hot: 100, other: 0, storeOnly: 490])
            // Each created redemption is stored, with its own event and request, and its key replays it.
            let created = requests.map(\.name).filter { responses[$0]?.status == .created && $0 != "retry" }
            for name in created {
                let id = try #require(responses[name]?.object["id"] as? String)
                #expect(try await client.call(.get, "/v1/holds/\(id)", key: app.adminKey).status == .ok)
                let replay = try await client.call(.post, "/v1/redemptions", key: app.adminKey, json: requests.first { $0.name == name }!.body,
                                                   headers: [.idempotencyKey: "key-\(name)"])
                #expect(replay.text == responses[name]?.text, "\(name) replays")
            }
            let events = try await app.services.database.read { sql in
                try await sql.raw("SELECT request_id FROM events WHERE type = 'redemption.created' AND request_id LIKE 'req-%'").all()
                    .map { try $0.decode(column: "request_id", as: String.self) }
            }
            #expect(Set(events) == Set(created.map { "req-\($0)" }))
            #expect(try await OperatorTools(services: app.services).verifyLedger(tenant: app.tenantID).flatMap(\.findings).isEmpty)
        }
    }

    /// Runs `burst` while the tenant's writer places are taken, then checks that its `count`
    /// redemptions were written as exactly one group.
    static func inOneGroup<Result: Sendable>(_ app: TestApp, count: Int, _ burst: @escaping @Sendable () async throws -> Result) async throws -> Result {
        let groups = app.services.redemptionGroups
        let before = groups.statistics
        let caller = try await SaleGroupCommitTests.adminCaller(app)
        let result = try await GroupBurst.run(count: count, writers: groups.queue.writersPerKey, what: "redemptions",
                                              waiting: { groups.statistics.waiting }, occupy: { _, gate in
            // Straight on the queue: a redemption that finds a writer's place free is written at once.
            let holder = RedemptionGroupCommit.Redemption(caller: caller, request: CreateHoldRequest(), cardID: "gc_gate",
                                                          actor: Actor(id: caller.keyID, requestID: nil), claim: nil, unclaimedKey: nil,
                                                          services: app.services)
            _ = try await groups.queue.submit(holder, key: caller.tenantID, alone: {
                await gate.wait()
                return Response(status: .noContent)
            }) { _ in Response(status: .noContent) }
        }, burst)
        let after = groups.statistics
        #expect(after.groups - before.groups == 1 && after.redemptions - before.redemptions == count, "\(before) → \(after)")
        return result
    }
}
