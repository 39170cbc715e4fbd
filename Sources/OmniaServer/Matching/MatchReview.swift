import OmniaCore
import SQLKit

/// The review queue: the pairs a match job scored between its two thresholds, decided by an agent.
/// Accepting merges the two customers (the one known longest keeps its id) in the same transaction
/// that records the decision; rejecting keeps them apart, and no later job proposes the pair again.
struct MatchReview: Sendable {
    let services: AppServices

    /// `?status=` (default `pending`, or every status when `job_id` is given) and `?job_id=`, in id
    /// order: the order the jobs stored them, most probable first within a job.
    struct Filter: Sendable {
        var status: MatchCandidate.Status?
        var jobID: String?
    }

    func page(tenantID: String, filter: Filter, page: PageRequest) async throws -> [MatchCandidate] {
        var condition: SQLQueryString = "1 = 1"
        if let status = filter.status { condition = "status = \(bind: status.rawValue)" }
        if let jobID = filter.jobID { condition = "\(condition) AND job_id = \(bind: jobID)" }
        return try await services.database.page(MatchCandidate.self, from: "match_candidates", tenantID: tenantID, page: page, filter: condition)
    }

    func detail(tenantID: String, id: String) async throws -> MatchCandidateDetail? {
        try await services.database.read { sql in
            guard let candidate = try await candidate(on: sql, tenantID: tenantID, id: id) else { return nil }
            let store = CustomerStore(tenantID: tenantID)
            var customers: [Customer] = []
            for customerID in [candidate.leftCustomerId, candidate.rightCustomerId] {
                guard let root = try await store.resolvedRow(on: sql, id: customerID) else { continue }
                customers += try await store.views(on: sql, [root], redirectedFrom: customerID)
            }
            return MatchCandidateDetail(candidate: candidate, customers: customers)
        }
    }

    /// Merges the pair (unless something already made them one customer) and marks it accepted.
    func accept(on sql: any SQLDatabase, tenantID: String, id: String, _ request: DecideMatchCandidateRequest, actor: Actor) async throws -> MatchCandidate {
        let reason = try Self.reason(request)
        let candidate = try await pending(on: sql, tenantID: tenantID, id: id)
        let store = CustomerStore(tenantID: tenantID)
        guard let left = try await store.resolvedRow(on: sql, id: candidate.leftCustomerId),
              let right = try await store.resolvedRow(on: sql, id: candidate.rightCustomerId) else { throw Problem.notFound("customer") }
        var mergeID: String?
        if left.id != right.id {
            let (survivor, merged) = (left.createdAt.milliseconds, left.id) <= (right.createdAt.milliseconds, right.id) ? (left, right) : (right, left)
            try await store.lockRoots(on: sql, dialect: services.database.dialect, [survivor.id, merged.id])
            let record = try await IdentityService(services: services).merge(
                on: sql, store: store, survivorID: survivor.id, mergedID: merged.id,
                reason: "match review: candidate \(id) accepted (probability \(MatchJobs.format(candidate.probability)))" + (reason.map { ": " + $0 } ?? ""),
                identifiers: [], channelID: nil, actor: actor)
            mergeID = record.id
        }
        return try await decide(on: sql, tenantID: tenantID, candidate, status: .accepted, mergeID: mergeID, reason: reason, actor: actor)
    }

    func reject(on sql: any SQLDatabase, tenantID: String, id: String, _ request: DecideMatchCandidateRequest, actor: Actor) async throws -> MatchCandidate {
        let reason = try Self.reason(request)
        let candidate = try await pending(on: sql, tenantID: tenantID, id: id)
        return try await decide(on: sql, tenantID: tenantID, candidate, status: .rejected, mergeID: nil, reason: reason, actor: actor)
    }

    private static func reason(_ request: DecideMatchCandidateRequest) throws -> String? {
        var validator = Validator()
        let reason = validator.text(request.reason, field: "reason", required: false, maxLength: 500)
        guard validator.isValid else { throw Problem.validation(validator.errors) }
        return reason
    }

    private func candidate(on sql: any SQLDatabase, tenantID: String, id: String) async throws -> MatchCandidate? {
        try await sql.raw("SELECT * FROM match_candidates WHERE tenant_id = \(bind: tenantID) AND id = \(bind: id)").row(MatchCandidate.self)
    }

    private func pending(on sql: any SQLDatabase, tenantID: String, id: String) async throws -> MatchCandidate {
        guard let candidate = try await candidate(on: sql, tenantID: tenantID, id: id) else { throw Problem.notFound("candidate") }
        guard candidate.status == MatchCandidate.Status.pending.rawValue else { throw MatchError.candidateNotPending(id: id, status: candidate.status) }
        return candidate
    }

    /// Records the decision, conditional on the candidate still pending: of two agents deciding at
    /// once on PostgreSQL, the second is run again and then sees the first's decision.
    private func decide(on sql: any SQLDatabase, tenantID: String, _ candidate: MatchCandidate, status: MatchCandidate.Status,
                        mergeID: String?, reason: String?, actor: Actor) async throws -> MatchCandidate {
        let now = services.nowMilliseconds
        guard let decided = try await sql.raw("""
            UPDATE match_candidates SET status = \(bind: status.rawValue), merge_id = \(bind: mergeID), decided_by = \(bind: actor.id),
                decided_at = \(bind: now), reason = \(bind: reason)
            WHERE tenant_id = \(bind: tenantID) AND id = \(bind: candidate.id) AND status = 'pending'
            RETURNING *
            """).row(MatchCandidate.self) else { throw IdentityRaceLost() }
        try await services.events.append(on: sql, tenantID: tenantID, type: "match_candidate.\(status.rawValue)", data: decided, requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: "identity.candidate.\(status == .accepted ? "accept" : "reject")",
                                        targetType: "match_candidate", targetID: candidate.id,
                                        details: ["customer_ids": .array([.string(candidate.leftCustomerId), .string(candidate.rightCustomerId)])],
                                        requestID: actor.requestID)
        return decided
    }
}
