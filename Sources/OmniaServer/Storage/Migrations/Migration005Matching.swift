/// Probabilistic matching of customers: the jobs that run it and the candidate pairs it finds —
/// merged automatically above the job's threshold, queued for review between the two thresholds.
///
/// A tenant has at most one queued or running job (a partial unique index), so two jobs never
/// queue the same pair twice. `lease_until` lets another server take over a job whose runner died;
/// `lease_token` names the runner holding the lease, so a runner that stalled past its lease and
/// woke up finds every further write refused instead of writing beside the one that took over.
/// A pair is stored at most once per job (a unique index), whatever a takeover retries.
enum Migration005Matching {
    static let migration = Migration(version: 5, name: "matching") { dialect in
        let real = dialect == .postgres ? "DOUBLE PRECISION" : "REAL"
        return [
            """
            CREATE TABLE match_jobs (
                tenant_id TEXT NOT NULL REFERENCES tenants (id),
                id TEXT NOT NULL,
                status TEXT NOT NULL,
                dry_run INTEGER NOT NULL,
                threshold \(real) NOT NULL,
                review_threshold \(real) NOT NULL,
                records BIGINT,
                candidate_pairs BIGINT,
                merged BIGINT,
                queued_for_review BIGINT,
                already_decided BIGINT,
                model TEXT,
                error TEXT,
                actor TEXT NOT NULL,
                request_id TEXT,
                lease_until BIGINT,
                lease_token TEXT,
                created_at BIGINT NOT NULL,
                started_at BIGINT,
                finished_at BIGINT,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE UNIQUE INDEX match_jobs_one_active ON match_jobs (tenant_id) WHERE status IN ('queued', 'running')",
            "CREATE INDEX match_jobs_by_status ON match_jobs (status, created_at)",
            """
            CREATE TABLE match_candidates (
                tenant_id TEXT NOT NULL REFERENCES tenants (id),
                id TEXT NOT NULL,
                job_id TEXT NOT NULL,
                left_customer_id TEXT NOT NULL,
                right_customer_id TEXT NOT NULL,
                probability \(real) NOT NULL,
                weight \(real) NOT NULL,
                comparison TEXT NOT NULL,
                action TEXT NOT NULL,
                status TEXT NOT NULL,
                merge_id TEXT,
                decided_by TEXT,
                decided_at BIGINT,
                reason TEXT,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE INDEX match_candidates_by_status ON match_candidates (tenant_id, status, id)",
            "CREATE INDEX match_candidates_by_job ON match_candidates (tenant_id, job_id, id)",
            "CREATE UNIQUE INDEX match_candidates_by_pair ON match_candidates (tenant_id, left_customer_id, right_customer_id, job_id)",
        ]
    }
}
