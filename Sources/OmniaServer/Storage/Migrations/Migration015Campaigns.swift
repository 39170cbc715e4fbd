/// Campaigns: their terms (`definition`, versioned like promotions), their runs — jobs any server
/// process may claim under a lease, resumable from `cursor` (the last customer id done) — and the
/// customers each run reached or held out as control (`campaign_members`), written in the same
/// transaction as the cursor, so a run resumed after a crash never reaches a customer twice.
enum Migration015Campaigns {
    static let migration = Migration(version: 15, name: "campaigns") { _ in
        [
            """
            CREATE TABLE campaigns (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                version INTEGER NOT NULL,
                name TEXT NOT NULL,
                kind TEXT NOT NULL,
                status TEXT NOT NULL,
                definition TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE INDEX campaigns_by_status ON campaigns (tenant_id, status, id)",
            """
            CREATE TABLE campaign_runs (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                campaign_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                status TEXT NOT NULL,
                cursor TEXT,
                considered BIGINT NOT NULL,
                targeted BIGINT NOT NULL,
                control BIGINT NOT NULL,
                capped BIGINT NOT NULL,
                coupons BIGINT NOT NULL,
                points BIGINT NOT NULL,
                gift_cards BIGINT NOT NULL,
                error TEXT,
                lease_until BIGINT,
                lease_token TEXT,
                created_at BIGINT NOT NULL,
                started_at BIGINT,
                finished_at BIGINT,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE INDEX campaign_runs_by_campaign ON campaign_runs (tenant_id, campaign_id, created_at)",
            "CREATE INDEX campaign_runs_due ON campaign_runs (status, created_at)",
            // One run of a campaign at a time: a second queued while one is queued or running fails on this index.
            "CREATE UNIQUE INDEX campaign_runs_one_active ON campaign_runs (tenant_id, campaign_id) WHERE status IN ('queued', 'running')",
            """
            CREATE TABLE campaign_members (
                tenant_id TEXT NOT NULL,
                run_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                campaign_id TEXT NOT NULL,
                control INTEGER NOT NULL,
                coupon_code TEXT,
                points BIGINT NOT NULL,
                gift_card_id TEXT,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, run_id, customer_id))
            """,
            "CREATE INDEX campaign_members_by_customer ON campaign_members (tenant_id, campaign_id, customer_id, created_at)",
        ]
    }
}
