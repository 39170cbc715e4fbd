import Foundation
import HTTPTypes
import HummingbirdTesting
import OmniaCore
@testable import OmniaServer
import SQLKit
import Testing

@Suite("Probabilistic matching and the review queue")
struct MatchingTests {
    /// Two systems' customers (messy copies of 80 of 150 CRM people among 150 web-shop records)
    /// created through the API, so the job sees them as a retailer's real customers do. An email or
    /// phone already taken by an earlier record is left out (one value belongs to one customer).
    static func seed(_ client: some TestClientProtocol, key: String, seed: UInt64 = 20261123) async throws
        -> (customerIDs: [String: String], truth: Set<String>) {
        var generator = SyntheticCustomers(seed: seed)
        let (crm, shop, truth) = generator.twoSystems(crm: 150, shop: 150, overlap: 80)
        var customerIDs: [String: String] = [:]
        var taken = Set<String>()
        for record in crm + shop {
            var body: [String: any Sendable] = [:]
            for (field, value) in [("first_name", record.firstName), ("last_name", record.lastName), ("address_line1", record.address), ("postcode", record.postcode)] {
                if let value { body[field] = value }
            }
            if let birth = record.birthDate { body["birth_date"] = birth }
            var identifiers: [[String: String]] = []
            for (kind, value) in [("email", record.email), ("phone", record.phone)] {
                if let value, taken.insert(value).inserted { identifiers.append(["kind": kind, "value": value]) }
            }
            body["identifiers"] = identifiers
            var created = try await client.call(.post, "/v1/customers", key: key, json: body)
            if created.problemCode == "validation_failed" {
                // A typo made the birth date impossible (month 31); the other system would not have stored it either.
                body["birth_date"] = nil
                created = try await client.call(.post, "/v1/customers", key: key, json: body)
            }
            #expect(created.status == .created, "\(created.text)")
            customerIDs[record.id] = try #require(created.object["id"] as? String)
        }
        // Truth as customer id pairs, smaller id first (as candidates store them).
        let pairs = Set(truth.map { pair -> String in
            let ids = pair.split(separator: "|").map { customerIDs[String($0)]! }.sorted()
            return "\(ids[0])|\(ids[1])"
        })
        return (customerIDs, pairs)
    }

    static func pairKey(_ candidate: [String: Any]) -> String {
        "\(candidate["left_customer_id"] as? String ?? "")|\(candidate["right_customer_id"] as? String ?? "")"
    }

    /// Every candidate of a job, all pages.
    static func candidates(_ client: some TestClientProtocol, key: String, job: String) async throws -> [[String: Any]] {
        var all: [[String: Any]] = []
        var cursor: String?
        repeat {
            let page = try await client.call(.get, "/v1/identity/candidates?job_id=\(job)&limit=100" + (cursor.map { "&starting_after=\($0)" } ?? ""), key: key)
            #expect(page.status == .ok, "\(page.text)")
            all += page.list
            cursor = page.object["next_cursor"] as? String
        } while cursor != nil
        return all
    }

    @Test("a dry run changes nothing; a job merges sure pairs and queues likely ones; reviewers accept and reject", arguments: TestBackend.available)
    func matchAndReview(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let (_, truth) = try await Self.seed(client, key: app.adminKey)
            #expect(try await app.count("customers") == 300)

            // A dry run: pairs listed as proposed, nobody merged.
            let dry = try await client.call(.post, "/v1/identity/match_jobs", key: app.adminKey, json: ["dry_run": true])
            #expect(dry.status == .accepted, "\(dry.text)")
            #expect(dry.object["status"] as? String == "queued")
            let dryID = try #require(dry.object["id"] as? String)
            let busy = try await client.call(.post, "/v1/identity/match_jobs", key: app.adminKey, json: [:])
            #expect(busy.status == .conflict && busy.problemCode == "match_job_active", "one active job per tenant")
            let ran = try #require(try await MatchJobs(services: app.services).runNext())
            #expect(ran.id == dryID && ran.status == "succeeded", "\(String(describing: ran.error))")
            #expect(try await MatchJobs(services: app.services).runNext() == nil)
            let dryJob = try await client.call(.get, "/v1/identity/match_jobs/\(dryID)", key: app.adminKey)
            #expect(dryJob.object["records"] as? Int == 300)
            #expect((dryJob.object["candidate_pairs"] as? Int ?? 0) > 0)
            #expect((dryJob.object["model"] as? [String: Any])?["match_share"] is Double)
            let proposed = try await Self.candidates(client, key: app.adminKey, job: dryID)
            #expect(!proposed.isEmpty && proposed.allSatisfy { $0["status"] as? String == "proposed" })
            #expect(try await app.count("customer_merges") == 0, "a dry run merges nobody")
            // What the model found against the truth: merges plus reviews cover nearly every true pair, few false ones.
            let found = Set(proposed.map(Self.pairKey))
            let recall = Double(found.intersection(truth).count) / Double(truth.count)
            let precision = Double(found.intersection(truth).count) / Double(found.count)
            #expect(recall >= 0.95 && precision >= 0.9, "precision \(precision), recall \(recall)")
            #expect(try await client.call(.get, "/v1/identity/candidates", key: app.adminKey).list.isEmpty, "a dry run queues nothing for review")

            // The real job: a threshold high enough to leave some pairs for review.
            let sorted = proposed.compactMap { $0["probability"] as? Double }.sorted()
            let threshold = sorted[sorted.count / 2]
            let job = try await client.call(.post, "/v1/identity/match_jobs", key: app.adminKey, json: ["threshold": threshold, "review_threshold": 0.5])
            #expect(job.status == .accepted, "\(job.text)")
            let jobID = try #require(job.object["id"] as? String)
            let finished = try #require(try await MatchJobs(services: app.services).runNext())
            #expect(finished.status == "succeeded")
            let merged = Int(finished.merged ?? 0), queued = Int(finished.queuedForReview ?? 0)
            #expect(merged > 0 && queued > 0, "merged \(merged), queued \(queued)")
            #expect(try await app.count("customer_merges") == merged)
            #expect(try await app.count("customers") == 300, "merges keep every row")
            let survivors = try await client.call(.get, "/v1/customers?limit=100", key: app.adminKey)
            #expect(survivors.status == .ok)

            // Merged pairs carry their merge; the queue holds the rest, most probable first.
            let stored = try await Self.candidates(client, key: app.adminKey, job: jobID)
            let mergedPairs = stored.filter { $0["status"] as? String == "merged" }
            #expect(mergedPairs.allSatisfy { ($0["merge_id"] as? String)?.hasPrefix("mrg_") == true || $0["reason"] as? String == "already one customer" })
            let queue = try await client.call(.get, "/v1/identity/candidates?limit=100", key: app.adminKey).list
            #expect(queue.count == min(queued, 100) && queue.allSatisfy { $0["status"] as? String == "pending" && $0["action"] as? String == "review" })
            let probabilities = queue.compactMap { $0["probability"] as? Double }
            #expect(probabilities == probabilities.sorted(by: >), "the queue starts with the surest pairs")

            // A reviewer sees both customers, accepts one pair and rejects another.
            let first = try #require(queue.first?["id"] as? String)
            let detail = try await client.call(.get, "/v1/identity/candidates/\(first)", key: app.adminKey)
            #expect((detail.object["customers"] as? [[String: Any]])?.count == 2)
            #expect((detail.object["comparison"] as? [String: String])?["first_name"] != nil)
            let service = try await app.key(scopes: ["service"])
            let accepted = try await client.call(.post, "/v1/identity/candidates/\(first)/accept", key: service, json: ["reason": "same person, checked"])
            #expect(accepted.status == .ok, "\(accepted.text)")
            #expect(accepted.object["status"] as? String == "accepted" && (accepted.object["merge_id"] as? String)?.hasPrefix("mrg_") == true)
            let left = try #require(queue.first?["left_customer_id"] as? String), right = try #require(queue.first?["right_customer_id"] as? String)
            let leftNow = try await client.call(.get, "/v1/customers/\(left)", key: app.adminKey)
            let rightNow = try await client.call(.get, "/v1/customers/\(right)", key: app.adminKey)
            #expect(leftNow.object["id"] as? String == rightNow.object["id"] as? String, "accepting merges the two customers")
            let again = try await client.call(.post, "/v1/identity/candidates/\(first)/reject", key: service, json: [:])
            #expect(again.status == .conflict && again.problemCode == "candidate_not_pending")
            #expect(again.object["candidate_status"] as? String == "accepted" && again.object["status"] as? Int == 409)

            let second = try #require(queue.dropFirst().first { ![left, right].contains($0["left_customer_id"] as? String ?? "") && ![left, right].contains($0["right_customer_id"] as? String ?? "") })
            let secondID = try #require(second["id"] as? String)
            let rejected = try await client.call(.post, "/v1/identity/candidates/\(secondID)/reject", key: service, json: [:])
            #expect(rejected.status == .ok && rejected.object["status"] as? String == "rejected")
            let decidedBy = rejected.object["decided_by"] as? String
            #expect(decidedBy?.hasPrefix("key_") == true)

            // A later job proposes neither decided pair again.
            _ = try await client.call(.post, "/v1/identity/match_jobs", key: app.adminKey, json: ["threshold": 1, "review_threshold": 0.5])
            let later = try #require(try await MatchJobs(services: app.services).runNext())
            #expect((later.alreadyDecided ?? 0) >= 1, "the rejected pair at least")
            let laterPairs = Set(try await Self.candidates(client, key: app.adminKey, job: later.id).map(Self.pairKey))
            #expect(!laterPairs.contains(Self.pairKey(second)))
            #expect(try await client.call(.get, "/v1/identity/match_jobs", key: app.adminKey).list.count == 3)
        }
    }

    @Test("settings, filters and scopes are checked", arguments: TestBackend.available)
    func badInput(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            let outOfRange = try await client.call(.post, "/v1/identity/match_jobs", key: app.adminKey, json: ["threshold": 1.5, "review_threshold": 0])
            #expect(outOfRange.status == .badRequest)
            let fields = (outOfRange.object["errors"] as? [[String: Any]])?.map { "\($0["field"]!):\($0["code"]!)" }
            #expect(fields == ["threshold:out_of_range", "review_threshold:out_of_range"])
            let order = try await client.call(.post, "/v1/identity/match_jobs", key: app.adminKey, json: ["threshold": 0.8, "review_threshold": 0.9])
            #expect(order.status == .badRequest && (order.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "above_threshold")
            let unknown = try await client.call(.post, "/v1/identity/match_jobs", key: app.adminKey, json: ["thresold": 0.9])
            #expect(unknown.status == .badRequest && unknown.problemCode == "unknown_field")
            let wrongType = try await client.call(.post, "/v1/identity/match_jobs", key: app.adminKey, json: ["dry_run": "yes"])
            #expect(wrongType.status == .badRequest)
            #expect(try await app.count("match_jobs") == 0, "bad input changes nothing")

            let status = try await client.call(.get, "/v1/identity/candidates?status=maybe", key: app.adminKey)
            #expect(status.status == .badRequest && (status.object["errors"] as? [[String: Any]])?.first?["field"] as? String == "status")
            let job = try await client.call(.get, "/v1/identity/candidates?job_id=abc", key: app.adminKey)
            #expect(job.status == .badRequest)
            #expect(try await client.call(.get, "/v1/identity/candidates/mca_nothing", key: app.adminKey).status == .notFound)
            #expect(try await client.call(.get, "/v1/identity/match_jobs/mjb_01kaaaaaaaaaaaaaaaaaaaaaaa", key: app.adminKey).status == .notFound)

            let pos = try await app.key(scopes: ["pos"])
            #expect(try await client.call(.post, "/v1/identity/match_jobs", key: pos, json: [:]).status == .forbidden)
            #expect(try await client.call(.get, "/v1/identity/candidates", key: pos).status == .forbidden)
            let service = try await app.key(scopes: ["service"])
            #expect(try await client.call(.post, "/v1/identity/match_jobs", key: service, json: [:]).status == .forbidden, "starting jobs is for admins")

            // Another tenant's job and candidates are invisible.
            _ = try await Self.seed(client, key: app.adminKey)
            let created = try await client.call(.post, "/v1/identity/match_jobs", key: app.adminKey, json: ["review_threshold": 0.5, "threshold": 1])
            let jobID = try #require(created.object["id"] as? String)
            _ = try await MatchJobs(services: app.services).runNext()
            let candidate = try #require(try await client.call(.get, "/v1/identity/candidates", key: app.adminKey).list.first?["id"] as? String)
            let other = try await app.otherTenant()
            #expect(try await client.call(.get, "/v1/identity/match_jobs/\(jobID)", key: other.key).status == .notFound)
            #expect(try await client.call(.get, "/v1/identity/candidates/\(candidate)", key: other.key).status == .notFound)
            #expect(try await client.call(.post, "/v1/identity/candidates/\(candidate)/accept", key: other.key, json: [:]).status == .notFound)
            #expect(try await client.call(.get, "/v1/identity/candidates", key: other.key).list.isEmpty)
        }
    }

    @Test("a runner whose lease was taken over writes nothing more; an interrupted run goes back to the queue", arguments: TestBackend.available)
    func leaseOwnership(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await Self.seed(client, key: app.adminKey)
            let jobs = MatchJobs(services: app.services)
            // Runner A claimed the job and stalled past its lease; runner B takes it over and finishes it.
            let created = try await client.call(.post, "/v1/identity/match_jobs", key: app.adminKey, json: ["threshold": 0.99, "review_threshold": 0.5])
            let jobID = try #require(created.object["id"] as? String)
            try await app.services.database.transaction { sql in
                try await sql.raw("""
                    UPDATE match_jobs SET status = 'running', lease_token = 'runner-a', lease_until = \(bind: app.services.nowMilliseconds - 1)
                    WHERE id = \(bind: jobID)
                    """).run()
            }
            let finished = try #require(try await jobs.runNext(), "a lapsed lease is taken over")
            #expect(finished.id == jobID && finished.status == "succeeded")
            #expect((finished.merged ?? 0) > 0)
            let (merges, candidates) = (try await app.count("customer_merges"), try await app.count("match_candidates"))
            await #expect(throws: MatchJobLost.self, "runner A wakes up and is refused") {
                _ = try await jobs.run(tenantID: app.tenantID, jobID: jobID, leaseToken: "runner-a")
            }
            #expect(try await app.count("customer_merges") == merges)
            #expect(try await app.count("match_candidates") == candidates)
            let job = try await client.call(.get, "/v1/identity/match_jobs/\(jobID)", key: app.adminKey)
            #expect(job.object["status"] as? String == "succeeded" && job.object["merged"] as? Int == Int(finished.merged ?? -1))

            // A run cancelled (the server shutting down) is queued again, and the next runner completes it.
            let token = MatchJobs.newLeaseToken()
            let next = try await app.services.database.transaction { sql in
                try await jobs.create(on: sql, tenantID: app.tenantID, CreateMatchJobRequest(threshold: 1, reviewThreshold: 0.5, dryRun: false),
                                      actor: .cli, leaseToken: token)
            }
            let interrupted = Task { try await jobs.run(tenantID: app.tenantID, jobID: next.id, leaseToken: token) }
            interrupted.cancel()
            await #expect(throws: CancellationError.self) { _ = try await interrupted.value }
            let requeued = try #require(try await jobs.fetch(tenantID: app.tenantID, id: next.id))
            #expect(requeued.status == "queued" && requeued.finishedAt == nil)
            let resumed = try #require(try await jobs.runNext())
            #expect(resumed.id == next.id && resumed.status == "succeeded")
        }
    }

    @Test("many reviewers deciding the same pairs at once: each pair is decided once, merged at most once", arguments: TestBackend.available)
    func concurrentDecisions(backend: TestBackend) async throws {
        try await TestApp.run(backend) { app, client in
            _ = try await Self.seed(client, key: app.adminKey)
            _ = try await client.call(.post, "/v1/identity/match_jobs", key: app.adminKey, json: ["threshold": 1, "review_threshold": 0.5])
            _ = try #require(try await MatchJobs(services: app.services).runNext())
            let queue = try await client.call(.get, "/v1/identity/candidates?limit=6", key: app.adminKey).list.compactMap { $0["id"] as? String }
            #expect(queue.count == 6)
            let service = try await app.key(scopes: ["service"])
            let mergesBefore = try await app.count("customer_merges")
            let statuses = try await withThrowingTaskGroup(of: (String, HTTPResponse.Status).self) { group in
                for id in queue {
                    for attempt in 0..<4 {
                        group.addTask {
                            let verb = attempt % 2 == 0 ? "accept" : "reject"
                            return (id, try await client.call(.post, "/v1/identity/candidates/\(id)/\(verb)", key: service, json: [:]).status)
                        }
                    }
                }
                var statuses: [(String, HTTPResponse.Status)] = []
                for try await result in group { statuses.append(result) }
                return statuses
            }
            for id in queue {
                let outcomes = statuses.filter { $0.0 == id }.map(\.1)
                #expect(outcomes.count { $0 == .ok } == 1, "\(outcomes)")
                #expect(outcomes.count { $0 == .conflict } == 3)
            }
            let accepted = try await client.call(.get, "/v1/identity/candidates?status=accepted", key: app.adminKey).list
            let merges = try await app.count("customer_merges") - mergesBefore
            #expect(merges <= accepted.count && merges == accepted.compactMap { $0["merge_id"] as? String }.count)
        }
    }
}
