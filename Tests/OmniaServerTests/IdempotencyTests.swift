import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import OmniaServer
import Testing
import SQLKit

@Suite("Idempotency-Key")
struct IdempotencyTests {
    private let body: [String: any Sendable] = ["code": "web", "name": "Web shop", "kind": "web"]

    @Test("a retry with the same key and body returns the stored response and creates nothing", arguments: TestBackend.available)
    func replay(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let first = try await client.call(.post, "/v1/channels", key: app.adminKey, json: body, headers: [.idempotencyKey: "till-1-sale-77"])
            #expect(first.status == .created)
            #expect(first.headers[.idempotentReplayed] == nil)
            let events = try await app.count("events")
            let retry = try await client.call(.post, "/v1/channels", key: app.adminKey, json: body, headers: [.idempotencyKey: "till-1-sale-77"])
            #expect(retry.status == .created)
            #expect(retry.headers[.idempotentReplayed] == "true")
            #expect(retry.text == first.text)
            #expect(try await app.count("channels") == 1)
            #expect(try await app.count("events") == events)
        }
    }

    @Test("the same key with another body is a 409 idempotency_key_reused", arguments: TestBackend.available)
    func reused(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await client.call(.post, "/v1/channels", key: app.adminKey, json: body, headers: [.idempotencyKey: "k1"])
            var other = body
            other["code"] = "app"
            let conflict = try await client.call(.post, "/v1/channels", key: app.adminKey, json: other, headers: [.idempotencyKey: "k1"])
            #expect(conflict.status == .conflict)
            #expect(conflict.problemCode == "idempotency_key_reused")
            // The same key on another path is another request too.
            let otherPath = try await client.call(.post, "/v1/locations", key: app.adminKey, json: body, headers: [.idempotencyKey: "k1"])
            #expect(otherPath.problemCode == "idempotency_key_reused")
            #expect(try await app.count("channels") == 1)
        }
    }

    @Test("a retry while the first request is in flight is a 409 idempotency_key_in_use", arguments: TestBackend.available)
    func inFlight(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            // Claim the key as a request still running would, with the hash of the same request.
            let request = try await client.call(.post, "/v1/channels", key: app.adminKey, json: body, headers: [.idempotencyKey: "probe"])
            #expect(request.status == .created)
            let hash = try await app.services.database.read { sql in
                try await sql.raw("SELECT request_hash FROM idempotency_keys WHERE idempotency_key = 'probe'").first(decodingColumn: "request_hash", as: String.self)
            }
            let keyID = try await app.services.database.read { sql in
                try await sql.raw("SELECT api_key_id FROM idempotency_keys WHERE idempotency_key = 'probe'").first(decodingColumn: "api_key_id", as: String.self)
            }
            _ = try await app.services.idempotency.claim(tenantID: app.tenantID, apiKeyID: try #require(keyID), key: "running",
                                                         requestHash: try #require(hash), now: app.services.nowMilliseconds)
            var second = body
            second["code"] = "web"
            let duplicate = try await client.call(.post, "/v1/channels", key: app.adminKey, json: second, headers: [.idempotencyKey: "running"])
            #expect(duplicate.status == .conflict)
            #expect(duplicate.problemCode == "idempotency_key_in_use")
            #expect(duplicate.headers[.retryAfter] == "1")
        }
    }

    @Test("a rejected request releases its key so a corrected retry can use it", arguments: TestBackend.available)
    func failureReleases(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            // Same body both times; the first fails because the location does not exist yet.
            let bad = try await client.call(.post, "/v1/channels", key: app.adminKey,
                                            json: ["code": "s1", "name": "Store", "kind": "store", "location_id": "loc_01m84262mqg2xt5dz0s43d6wfs"],
                                            headers: [.idempotencyKey: "k-fail"])
            #expect(bad.status == .badRequest)
            #expect(try await app.count("idempotency_keys") == 0)
            let good = try await client.call(.post, "/v1/channels", key: app.adminKey, json: body, headers: [.idempotencyKey: "k-fail"])
            #expect(good.status == .created)
        }
    }

    @Test("a conflict found only at commit releases the key too", arguments: TestBackend.available)
    func commitConflictReleases(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let store: [String: any Sendable] = ["code": "mad-2", "name": "Madrid 2", "kind": "store", "country": "ES"]
            #expect(try await client.call(.post, "/v1/locations", key: app.adminKey, json: store).status == .created)
            let before = try await app.count("locations")
            // On PostgreSQL the insert is held until commit, where the duplicate code surfaces.
            let taken = try await client.call(.post, "/v1/locations", key: app.adminKey, json: store, headers: [.idempotencyKey: "k-dup"])
            #expect(taken.status == .conflict)
            #expect(taken.problemCode == "code_taken")
            let again = try await client.call(.post, "/v1/locations", key: app.adminKey, json: store, headers: [.idempotencyKey: "k-dup"])
            #expect(again.problemCode == "code_taken", "the retry runs again instead of finding the key in use")
            var corrected = store
            corrected["code"] = "mad-3"
            let fixed = try await client.call(.post, "/v1/locations", key: app.adminKey, json: corrected, headers: [.idempotencyKey: "k-dup"])
            #expect(fixed.status == .created)
            #expect(try await app.count("locations") == before + 1)
        }
    }

    @Test("keys are scoped per tenant", arguments: TestBackend.available)
    func perTenant(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let other = try await app.otherTenant()
            let mine = try await client.call(.post, "/v1/channels", key: app.adminKey, json: body, headers: [.idempotencyKey: "shared"])
            let theirs = try await client.call(.post, "/v1/channels", key: other.key, json: body, headers: [.idempotencyKey: "shared"])
            #expect(mine.status == .created)
            #expect(theirs.status == .created)
            #expect(theirs.headers[.idempotentReplayed] == nil)
            #expect(mine.object["id"] as? String != theirs.object["id"] as? String)
        }
    }

    @Test("another key of the same tenant cannot replay a stored response (it may hold a secret)", arguments: TestBackend.available)
    func perAPIKey(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let secondAdmin = try await app.key(scopes: ["admin"])
            let request: [String: any Sendable] = ["name": "Till", "scopes": ["pos"]]
            let created = try await client.call(.post, "/v1/api_keys", key: app.adminKey, json: request, headers: [.idempotencyKey: "new-till"])
            let other = try await client.call(.post, "/v1/api_keys", key: secondAdmin, json: request, headers: [.idempotencyKey: "new-till"])
            #expect(other.status == .created)
            #expect(other.headers[.idempotentReplayed] == nil)
            #expect(other.object["key"] as? String != created.object["key"] as? String)
            let pos = try await app.key(scopes: ["pos"])
            let sneaky = try await client.call(.post, "/v1/api_keys", key: pos, json: request, headers: [.idempotencyKey: "new-till"])
            #expect(sneaky.status == .forbidden)
            #expect(!sneaky.text.contains(created.object["key"] as? String ?? "-"))
        }
    }

    @Test("an invalid key is a 400", arguments: [TestBackend.sqlite])
    func invalidKey(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let response = try await client.call(.post, "/v1/channels", key: app.adminKey, json: body,
                                                 headers: [.idempotencyKey: String(repeating: "k", count: 256)])
            #expect(response.problemCode == "invalid_idempotency_key")
        }
    }

    @Test("twenty concurrent duplicates create exactly one channel", arguments: TestBackend.available)
    func concurrentDuplicates(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let response = try await client.call(.post, "/v1/channels", key: app.adminKey, json: body, headers: [.idempotencyKey: "burst"])
                        return (Int(response.status.code), response.problemCode)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(try await app.count("channels") == 1)
            #expect(statuses.allSatisfy { $0.0 == 201 || ($0.0 == 409 && $0.1 == "idempotency_key_in_use") }, "\(statuses)")
            #expect(statuses.contains { $0.0 == 201 })
        }
    }

    @Test("an abandoned claim is taken over by exactly one of several concurrent retries", arguments: TestBackend.available)
    func abandonedClaimTakeover(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            // Two server processes: the first claims and crashes, the second receives the retries.
            // (On SQLite a claim lives in its process's memory, so the crash takes it along.)
            func process() -> IdempotencyStore {
                IdempotencyStore(database: app.services.database, inFlight: backend == .sqlite ? InFlightIdempotencyKeys() : nil)
            }
            let crashed = process(), survivor = process()
            let start = app.services.nowMilliseconds
            func claim(at now: Int64, on store: IdempotencyStore) async throws -> IdempotencyStore.ClaimOutcome {
                try await store.claim(tenantID: app.tenantID, apiKeyID: "key_crashed", key: "k", requestHash: "h", now: now)
            }
            guard case .claimed = try await claim(at: start, on: crashed) else { Issue.record("the first claim must win"); return }
            guard case .inFlight = try await claim(at: start + 1, on: crashed) else { Issue.record("a fresh claim is in flight"); return }
            let later = start + IdempotencyStore.abandonAfterMilliseconds + 1
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        if case .claimed = try await claim(at: later, on: survivor) { return true }
                        return false
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1, "\(outcomes)")
        }
    }

    @Test("two server processes on one database claiming one key: only one request's effect commits", arguments: TestBackend.available)
    func twoProcessesOneKey(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, _ in
            // On SQLite each process holds its claims in its own memory, so both claims succeed and
            // the completion has to refuse the second; on PostgreSQL the second claim finds the row.
            func process() -> IdempotencyStore {
                IdempotencyStore(database: app.services.database, inFlight: backend == .sqlite ? InFlightIdempotencyKeys() : nil)
            }
            let now = app.services.nowMilliseconds
            var outcomes: [IdempotencyStore.ClaimOutcome] = []
            for store in [process(), process()] {
                outcomes.append(try await store.claim(tenantID: app.tenantID, apiKeyID: "key_a", key: "k", requestHash: "h", now: now))
            }
            var committed = 0, refused = 0
            for (index, outcome) in outcomes.enumerated() {
                guard case .claimed(let claim) = outcome else { continue }
                do {
                    try await app.services.database.transaction { sql in
                        try await sql.raw("""
                            INSERT INTO events (tenant_id, id, type, data, created_at) VALUES (\(bind: app.tenantID), \(bind: "evt_effect_\(index)"), 'test.effect', '{}', 1)
                            """).run()
                        try await claim.complete(on: sql, status: 201, body: Data("{\"n\":\(index)}".utf8))
                    }
                    committed += 1
                } catch let problem as Problem {
                    #expect(problem.code == "idempotency_key_in_use")
                    refused += 1
                }
            }
            #expect(committed == 1)
            #expect(refused == (backend == .sqlite ? 1 : 0))
            let effects = try await app.services.database.read { sql in
                try await sql.raw("SELECT id FROM events WHERE type = 'test.effect'").all(decodingColumn: "id", as: String.self)
            }
            #expect(effects == ["evt_effect_0"], "the refused request's effect rolled back")
            let stored = try await process().claim(tenantID: app.tenantID, apiKeyID: "key_a", key: "k", requestHash: "h", now: now + 1)
            guard case .replay(_, let body) = stored else { Issue.record("the first response is replayed, got \(stored)"); return }
            #expect(body == "{\"n\":0}")
        }
    }

    @Test("the housekeeping job forgets keys past their retention (and analyzes the growing tables on PostgreSQL)", arguments: TestBackend.available)
    func purge(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await client.call(.post, "/v1/channels", key: app.adminKey, json: body, headers: [.idempotencyKey: "old"])
            #expect(try await app.count("idempotency_keys") == 1)
            try await HousekeepingService(services: app.services).runOnce()
            #expect(try await app.count("idempotency_keys") == 1, "a fresh key is kept")
            if backend == .postgres {
                // The run also refreshed the planner's statistics of the tables tenants grow (a table
                // never analyzed has reltuples -1).
                let analyzed = try await app.services.database.read { sql in
                    try await sql.raw("""
                        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.reltuples >= 0
                        """).all(decodingColumn: "relname", as: String.self)
                }
                #expect(Set(HousekeepingService.growingTables).isSubset(of: Set(analyzed)), "\(analyzed)")
            }
            let purged = try await app.services.idempotency.purge(olderThan: app.services.nowMilliseconds + 1)
            #expect(purged == 1)
            #expect(try await app.count("idempotency_keys") == 0)
        }
    }
}
