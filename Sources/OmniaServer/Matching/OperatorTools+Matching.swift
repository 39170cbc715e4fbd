import OmniaCore
import SQLKit

extension OperatorTools {
    /// What `omnia identity match` prints.
    public struct MatchReport: Sendable {
        public struct Pair: Sendable {
            public let candidateID: String
            public let leftCustomerID: String
            public let rightCustomerID: String
            public let probability: Double
            /// `merge` or `review`.
            public let action: String
            public let status: String
            /// Fields that agreed exactly, then those that were similar.
            public let same: [String]
            public let similar: [String]
        }

        public let jobID: String
        public let status: String
        public let dryRun: Bool
        public let records: Int
        public let candidatePairs: Int
        public let merged: Int
        public let queuedForReview: Int
        public let alreadyDecided: Int
        public let error: String?
        /// The job's most probable pairs, up to the number asked for.
        public let pairs: [Pair]
    }

    /// Runs a match job over a tenant's customers at once, in this process (audited as `cli`).
    /// `threshold`/`reviewThreshold` nil take the API's defaults.
    public func matchCustomers(tenant: String, threshold: Double?, reviewThreshold: Double?, dryRun: Bool, show: Int) async throws -> MatchReport {
        let tenantID = try await resolveTenantID(tenant)
        let jobs = MatchJobs(services: services)
        let request = CreateMatchJobRequest(threshold: threshold, reviewThreshold: reviewThreshold, dryRun: dryRun)
        let leaseToken = MatchJobs.newLeaseToken()
        let created = try await services.database.transaction { sql in
            try await jobs.create(on: sql, tenantID: tenantID, request, actor: .cli, leaseToken: leaseToken)
        }
        let job = try await jobs.run(tenantID: tenantID, jobID: created.id, leaseToken: leaseToken)
        let candidates = try await services.database.read { sql in
            try await sql.raw("""
                SELECT * FROM match_candidates WHERE tenant_id = \(bind: tenantID) AND job_id = \(bind: job.id)
                ORDER BY probability DESC, id LIMIT \(literal: max(0, show))
                """).rows(MatchCandidate.self)
        }
        let pairs = candidates.map { candidate in
            guard case .object(let comparison) = candidate.comparison.value else { preconditionFailure("a stored comparison is an object") }
            func fields(_ level: RecordLinkage.Level) -> [String] {
                RecordLinkage.Field.allCases.map(\.name).filter { comparison[$0] == .string(level.name) }
            }
            return MatchReport.Pair(candidateID: candidate.id, leftCustomerID: candidate.leftCustomerId, rightCustomerID: candidate.rightCustomerId,
                                    probability: candidate.probability, action: candidate.action, status: candidate.status,
                                    same: fields(.same), similar: fields(.similar))
        }
        return MatchReport(jobID: job.id, status: job.status, dryRun: job.dryRun, records: Int(job.records ?? 0), candidatePairs: Int(job.candidatePairs ?? 0),
                           merged: Int(job.merged ?? 0), queuedForReview: Int(job.queuedForReview ?? 0), alreadyDecided: Int(job.alreadyDecided ?? 0),
                           error: job.error, pairs: pairs)
    }
}

extension OperatorTools {
    /// Every pair a job merged or queued for review, as (left, right) customer ids — for measuring a
    /// job against a known truth.
    public func matchedPairs(tenant: String, jobID: String) async throws -> [(String, String)] {
        let tenantID = try await resolveTenantID(tenant)
        return try await services.database.read { sql in
            try await sql.raw("""
                SELECT left_customer_id, right_customer_id FROM match_candidates
                WHERE tenant_id = \(bind: tenantID) AND job_id = \(bind: jobID) AND status IN ('merged', 'pending', 'proposed')
                """).all().map { (try $0.decode(column: "left_customer_id", as: String.self), try $0.decode(column: "right_customer_id", as: String.self)) }
        }
    }
}
