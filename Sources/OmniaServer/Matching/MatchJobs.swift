import Foundation
import Logging
import OmniaCore
import SQLKit

/// Probabilistic matching of a tenant's customers: a job reads every unmerged customer, lets
/// `RecordLinkage` block, compare and learn its weights from the data, and then merges the pairs at
/// or above the job's threshold and queues for review those between the two thresholds. A dry run
/// stores the pairs as `proposed` and changes nothing else.
///
/// Jobs are queued by the API and run by `MatchJobWorker` (or at once by `omnia identity match`).
/// A runner holds a lease under a token of its own, renewed while it computes and with every chunk
/// of writes; each write checks the token, so a runner that stalled past its lease and was taken
/// over writes nothing more. The new runner skips the pairs the first one already stored.
struct MatchJobs: Sendable {
    let services: AppServices
    static let lease: Int64 = 5 * 60_000
    /// Merges per database transaction: each locks two customers, so keep the batches short.
    static let mergeChunk = 100
    static let insertChunk = 500

    // MARK: Creating

    /// Records a job as `queued` for the worker, or as `running` under `leaseToken` for a caller
    /// that runs it itself (`newLeaseToken()`).
    func create(on sql: any SQLDatabase, tenantID: String, _ request: CreateMatchJobRequest, actor: Actor, leaseToken: String? = nil) async throws -> MatchJob {
        let claimed = leaseToken != nil
        let settings = try MatchJobSettings(request)
        let active = try await sql.raw("""
            SELECT id FROM match_jobs WHERE tenant_id = \(bind: tenantID) AND status IN ('queued', 'running')
            """).first()
        guard active == nil else { throw MatchError.jobActive }
        let now = services.nowMilliseconds
        let row = MatchJobRow(
            id: services.ids.make(.matchJob), status: claimed ? MatchJob.Status.running.rawValue : MatchJob.Status.queued.rawValue,
            dryRun: settings.dryRun ? 1 : 0, threshold: settings.threshold, reviewThreshold: settings.reviewThreshold, records: nil,
            candidatePairs: nil, merged: nil, queuedForReview: nil, alreadyDecided: nil, model: nil, error: nil, actor: actor.id,
            requestId: actor.requestID, createdAt: StoredTime(milliseconds: now), startedAt: claimed ? StoredTime(milliseconds: now) : nil, finishedAt: nil)
        try await sql.runDeferrable("""
            INSERT INTO match_jobs (tenant_id, id, status, dry_run, threshold, review_threshold, actor, request_id, lease_until, lease_token, created_at, started_at)
            VALUES (\(bind: tenantID), \(bind: row.id), \(bind: row.status), \(bind: row.dryRun), \(bind: row.threshold), \(bind: row.reviewThreshold),
                    \(bind: actor.id), \(bind: actor.requestID), \(bind: claimed ? now + Self.lease : nil), \(bind: leaseToken), \(bind: now),
                    \(bind: row.startedAt?.milliseconds))
            """, ifDuplicate: DuplicateRule(table: "match_jobs", error: MatchError.jobActive))
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: "identity.match_job.create", targetType: "match_job",
                                        targetID: row.id, details: ["threshold": .number(row.threshold), "review_threshold": .number(row.reviewThreshold),
                                                                     "dry_run": .bool(settings.dryRun)], requestID: actor.requestID)
        return MatchJob(row)
    }

    // MARK: Running

    /// Claims the oldest queued job (or a running one whose lease lapsed) and runs it; nil when none is due.
    @discardableResult
    func runNext() async throws -> MatchJob? {
        let now = services.nowMilliseconds
        let due = try await services.database.read { sql in
            try await sql.raw("""
                SELECT tenant_id, id FROM match_jobs
                WHERE status = 'queued' OR (status = 'running' AND lease_until < \(bind: now))
                ORDER BY created_at LIMIT 1
                """).first().map { (tenantID: try $0.decode(column: "tenant_id", as: String.self), id: try $0.decode(column: "id", as: String.self)) }
        }
        guard let due else { return nil }
        let leaseToken = Self.newLeaseToken()
        let claimed = try await services.database.transaction { sql in
            try await sql.raw("""
                UPDATE match_jobs SET status = 'running', started_at = COALESCE(started_at, \(bind: now)), lease_until = \(bind: now + Self.lease),
                    lease_token = \(bind: leaseToken)
                WHERE tenant_id = \(bind: due.tenantID) AND id = \(bind: due.id)
                AND (status = 'queued' OR (status = 'running' AND lease_until < \(bind: now)))
                RETURNING id
                """).first() != nil
        }
        // Another server claimed it first; it is running there.
        guard claimed else { return nil }
        return try await run(tenantID: due.tenantID, jobID: due.id, leaseToken: leaseToken)
    }

    /// A runner's name on the lease it holds.
    static func newLeaseToken() -> String { UUID().uuidString }

    /// Runs a job this process has claimed under `leaseToken`. A failure is recorded on the job, not
    /// thrown; a cancelled run (the server shutting down) puts the job back in the queue for the
    /// next server, and a run whose lease was taken over stops without writing (`MatchJobLost`).
    func run(tenantID: String, jobID: String, leaseToken: String) async throws -> MatchJob {
        let lease = Lease(tenantID: tenantID, jobID: jobID, token: leaseToken)
        let started = Date()
        var job: MatchJobRow?
        do {
            job = try await fetch(tenantID: tenantID, id: jobID)
            guard let job else { throw Problem.notFound("match job") }
            let outcome = try await match(job: job, lease: lease)
            services.logger.info("match job finished", metadata: [
                "job": .string(jobID), "records": .stringConvertible(outcome.records), "pairs": .stringConvertible(outcome.candidatePairs),
                "merged": .stringConvertible(outcome.merged), "review": .stringConvertible(outcome.queuedForReview),
                "seconds": .stringConvertible(Date().timeIntervalSince(started)),
            ])
            return try await finish(job: job, lease: lease, status: .succeeded, outcome: outcome, error: nil)
        } catch let lost as MatchJobLost {
            services.logger.warning("match job taken over by another runner; this one stops", metadata: ["job": .string(jobID)])
            throw lost
        } catch where error is CancellationError || Task.isCancelled {
            // Off the cancelled task, so the database calls are not refused for its cancellation.
            try await Task { try await requeue(lease) }.value
            services.logger.info("match job interrupted; queued again", metadata: ["job": .string(jobID)])
            throw error
        } catch {
            guard let job else { throw error }
            services.logger.error("match job failed", metadata: ["job": .string(jobID), "error": .string(String(describing: error))])
            let message = (error as? any ProblemConvertible)?.problem.detail ?? "the job failed; the server log has the cause"
            return try await finish(job: job, lease: lease, status: .failed, outcome: nil, error: message)
        }
    }

    func fetch(tenantID: String, id: String) async throws -> MatchJobRow? {
        try await services.database.fetch(MatchJobRow.self, from: "match_jobs", tenantID: tenantID, id: id)
    }

    /// What a run found and did.
    struct Outcome: Sendable {
        var records = 0
        var candidatePairs = 0
        var merged = 0
        var queuedForReview = 0
        var alreadyDecided = 0
        var model: JSONValue = .null
    }

    /// A pair above the review threshold, about to be stored.
    struct Planned: Sendable {
        let leftID: String
        let rightID: String
        let probability: Double
        let weight: Double
        let comparison: JSONValue
        let action: MatchCandidate.Action
    }

    private func match(job: MatchJobRow, lease: Lease) async throws -> Outcome {
        let tenantID = lease.tenantID
        let dryRun = job.dryRun != 0
        // Reading and scoring a large tenant can outlast the lease: keep it renewed meanwhile.
        let (snapshot, model, pairs) = try await whileRenewing(lease) {
            let snapshot = try await services.database.read { sql in
                try await MatchSnapshot.load(on: sql, tenantID: tenantID)
            }
            let (model, pairs) = await Self.offCooperativePool { RecordLinkage.link(snapshot.records) }
            return (snapshot, model, pairs)
        }
        let records = snapshot.records
        var outcome = Outcome(records: records.count, candidatePairs: pairs.count, model: Self.describe(model))
        var planned: [Planned] = []
        for pair in pairs where pair.probability >= job.reviewThreshold {
            let (a, b) = (records[pair.left].id, records[pair.right].id)
            let (leftID, rightID) = a < b ? (a, b) : (b, a)
            if !dryRun, snapshot.decidedPairs.contains(MatchSnapshot.pairKey(leftID, rightID)) {
                outcome.alreadyDecided += 1
                continue
            }
            var comparison: [String: JSONValue] = [:]
            for field in RecordLinkage.Field.allCases { comparison[field.name] = .string(pair.levels[field.rawValue].name) }
            planned.append(Planned(leftID: leftID, rightID: rightID, probability: pair.probability, weight: model.weight(pair.levels),
                                   comparison: .object(comparison), action: pair.probability >= job.threshold ? .merge : .review))
        }
        // Most probable first, so the review queue (in id order) starts with the surest pairs.
        planned.sort { ($0.action == .merge ? 0 : 1, -$0.probability, $0.leftID, $0.rightID) < ($1.action == .merge ? 0 : 1, -$1.probability, $1.leftID, $1.rightID) }

        if dryRun {
            // A dry run taken over after a stall starts its list again.
            try await services.database.transaction { sql in
                try await renewLease(on: sql, lease)
                try await sql.raw("DELETE FROM match_candidates WHERE tenant_id = \(bind: tenantID) AND job_id = \(bind: job.id)").run()
            }
            for chunk in planned.chunks(of: Self.insertChunk) {
                try Task.checkCancellation()
                try await services.database.transaction { sql in
                    try await renewLease(on: sql, lease)
                    try await insert(on: sql, tenantID: tenantID, jobID: job.id, chunk.map { ($0, MatchCandidate.Status.proposed, nil, nil) })
                }
            }
            outcome.merged = planned.count { $0.action == .merge }
            outcome.queuedForReview = planned.count { $0.action == .review }
            return outcome
        }
        let actor = Actor(id: job.actor, requestID: job.requestId)
        for chunk in planned.filter({ $0.action == .merge }).chunks(of: Self.mergeChunk) {
            try Task.checkCancellation()
            outcome.merged += try await mergeChunk(chunk, job: job, lease: lease, actor: actor)
        }
        for chunk in planned.filter({ $0.action == .review }).chunks(of: Self.insertChunk) {
            try Task.checkCancellation()
            outcome.queuedForReview += try await services.database.transaction { sql in
                try await renewLease(on: sql, lease)
                // Pairs the merges above (or anyone since the snapshot) made one customer need no review.
                let roots = try await CustomerStore(tenantID: tenantID).canonicalIDs(on: sql, Set(chunk.flatMap { [$0.leftID, $0.rightID] }))
                let open = chunk.filter { roots[$0.leftID] != roots[$0.rightID] }
                try await insert(on: sql, tenantID: tenantID, jobID: job.id, open.map { ($0, MatchCandidate.Status.pending, nil, nil) })
                return open.count
            }
        }
        return outcome
    }

    /// Merges one chunk of pairs in one transaction (run again from the start if a concurrent merge
    /// moved one of its customers), recording each pair as `merged`. Returns the merges made.
    private func mergeChunk(_ chunk: some Collection<Planned> & Sendable, job: MatchJobRow, lease: Lease, actor: Actor) async throws -> Int {
        let tenantID = lease.tenantID
        let identity = IdentityService(services: services)
        let store = CustomerStore(tenantID: tenantID)
        let dialect = services.database.dialect
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await services.database.transaction { sql in
                    try await renewLease(on: sql, lease)
                    var stored: [(Planned, MatchCandidate.Status, String?, String?)] = []
                    var merges = 0
                    for pair in chunk {
                        guard let left = try await store.resolvedRow(on: sql, id: pair.leftID),
                              let right = try await store.resolvedRow(on: sql, id: pair.rightID) else { continue }
                        guard left.id != right.id else {
                            stored.append((pair, .merged, nil, "already one customer"))
                            continue
                        }
                        // The customer known longest keeps its id.
                        let (survivor, merged) = (left.createdAt.milliseconds, left.id) <= (right.createdAt.milliseconds, right.id) ? (left, right) : (right, left)
                        try await store.lockRoots(on: sql, dialect: dialect, [survivor.id, merged.id])
                        let record = try await identity.merge(
                            on: sql, store: store, survivorID: survivor.id, mergedID: merged.id,
                            reason: "match job \(job.id): probability \(Self.format(pair.probability))", identifiers: [], channelID: nil, actor: actor)
                        stored.append((pair, .merged, record.id, nil))
                        merges += 1
                    }
                    try await insert(on: sql, tenantID: tenantID, jobID: job.id, stored)
                    return merges
                }
            } catch is any RetryableConflict where attempt < 5 {
                continue
            }
        }
    }

    /// Multi-row inserts of candidates (one statement per chunk).
    private func insert(on sql: any SQLDatabase, tenantID: String, jobID: String,
                        _ rows: [(pair: Planned, status: MatchCandidate.Status, mergeID: String?, reason: String?)]) async throws {
        guard !rows.isEmpty else { return }
        let now = services.nowMilliseconds
        var query: SQLQueryString = """
            INSERT INTO match_candidates (tenant_id, id, job_id, left_customer_id, right_customer_id, probability, weight, comparison, action, status,
                                          merge_id, decided_by, decided_at, reason, created_at) VALUES
            """
        for (index, row) in rows.enumerated() {
            let decided = row.status == .merged
            let decidedBy: String? = decided ? "match_job" : nil, decidedAt: Int64? = decided ? now : nil
            query += """
                \(unsafeRaw: index == 0 ? " (" : ", (")\(bind: tenantID), \(bind: services.ids.make(.matchCandidate)), \(bind: jobID), \(bind: row.pair.leftID), \(bind: row.pair.rightID),
                \(bind: row.pair.probability), \(bind: row.pair.weight), \(bind: try JSONCoding.text(row.pair.comparison)), \(bind: row.pair.action.rawValue),
                \(bind: row.status.rawValue), \(bind: row.mergeID), \(bind: decidedBy), \(bind: decidedAt),
                \(bind: row.reason), \(bind: now))
                """
        }
        try await sql.raw(query).run()
    }

    /// The job a runner holds, and the token that proves it holds it.
    struct Lease: Sendable {
        let tenantID: String
        let jobID: String
        let token: String
    }

    /// Extends the lease, or stops the run if the job is no longer this runner's (taken over after a stall).
    private func renewLease(on sql: any SQLDatabase, _ lease: Lease) async throws {
        let renewed = try await sql.raw("""
            UPDATE match_jobs SET lease_until = \(bind: services.nowMilliseconds + Self.lease)
            WHERE tenant_id = \(bind: lease.tenantID) AND id = \(bind: lease.jobID) AND status = 'running' AND lease_token = \(bind: lease.token)
            RETURNING id
            """).first()
        guard renewed != nil else { throw MatchJobLost() }
    }

    /// Runs `body` while a side task renews the lease every fifth of its length; a lost lease ends
    /// the run once `body` returns.
    private func whileRenewing<T: Sendable>(_ lease: Lease, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                while true {
                    try await Task.sleep(for: .milliseconds(Self.lease / 5))
                    try await services.database.transaction { sql in try await renewLease(on: sql, lease) }
                }
            }
            group.addTask { try await body() }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            preconditionFailure("the body's task returns a value or throws")
        }
    }

    /// Runs CPU-bound work on a thread of its own, so scoring a large tenant for many seconds does
    /// not hold one of the few threads that serve requests.
    static func offCooperativePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .utility).async { continuation.resume(returning: work()) }
        }
    }

    /// Gives an interrupted job back to the queue (the next runner starts it again).
    private func requeue(_ lease: Lease) async throws {
        try await services.database.transaction { sql in
            try await sql.raw("""
                UPDATE match_jobs SET status = 'queued', lease_until = NULL, lease_token = NULL
                WHERE tenant_id = \(bind: lease.tenantID) AND id = \(bind: lease.jobID) AND status = 'running' AND lease_token = \(bind: lease.token)
                """).run()
        }
    }

    private func finish(job: MatchJobRow, lease: Lease, status: MatchJob.Status, outcome: Outcome?, error: String?) async throws -> MatchJob {
        let tenantID = lease.tenantID
        let now = services.nowMilliseconds
        return try await services.database.transaction { sql in
            let model = try outcome.map { try JSONCoding.text($0.model) }
            guard let row = try await sql.raw("""
                UPDATE match_jobs SET status = \(bind: status.rawValue), records = \(bind: outcome.map { Int64($0.records) }),
                    candidate_pairs = \(bind: outcome.map { Int64($0.candidatePairs) }), merged = \(bind: outcome.map { Int64($0.merged) }),
                    queued_for_review = \(bind: outcome.map { Int64($0.queuedForReview) }), already_decided = \(bind: outcome.map { Int64($0.alreadyDecided) }),
                    model = \(bind: model), error = \(bind: error), lease_until = NULL, lease_token = NULL, finished_at = \(bind: now)
                WHERE tenant_id = \(bind: tenantID) AND id = \(bind: job.id) AND status = 'running' AND lease_token = \(bind: lease.token)
                RETURNING *
                """).row(MatchJobRow.self) else { throw MatchJobLost() }
            let finished = MatchJob(row)
            try await services.events.append(on: sql, tenantID: tenantID, type: "match_job.\(status.rawValue)", data: finished, requestID: job.requestId)
            return finished
        }
    }

    /// The learned model as the API shows it: the match share and each field's m- and u-probabilities per level.
    static func describe(_ model: RecordLinkage.Model) -> JSONValue {
        var fields: [String: JSONValue] = [:]
        let levels: [RecordLinkage.Level] = [.different, .similar, .same]
        for field in RecordLinkage.Field.allCases {
            func probabilities(_ table: [[Double]]) -> JSONValue {
                .object(Dictionary(uniqueKeysWithValues: levels.map { ($0.name, JSONValue.number(table[field.rawValue][$0.rawValue])) }))
            }
            fields[field.name] = .object(["m": probabilities(model.m), "u": probabilities(model.u)])
        }
        return .object(["match_share": .number(model.matchShare), "fields": .object(fields)])
    }

    static func format(_ probability: Double) -> String { String(format: "%.4f", probability) }
}

/// The job's lease was taken over by another runner (after a stall) or the job was finished
/// elsewhere: this runner stops without writing more.
struct MatchJobLost: Error {}

extension Array where Element: Sendable {
    /// Consecutive slices of at most `size` elements.
    func chunks(of size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
