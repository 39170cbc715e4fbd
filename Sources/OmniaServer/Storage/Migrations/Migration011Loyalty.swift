/// Loyalty: programmes (their rules as JSON, at most one active per currency), members (one
/// points account per programme and customer, with their tier), the lots points are held in
/// (each with its expiry, spent first-to-expire first, and what of it qualifies toward a tier),
/// what each customer merge moved between members, so that an unmerge moves it back; and a
/// checkout part's point value.
enum Migration011Loyalty {
    static let migration = Migration(version: 11, name: "loyalty") { dialect in
        [
            """
            CREATE TABLE loyalty_programmes (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                name TEXT NOT NULL,
                currency TEXT NOT NULL,
                status TEXT NOT NULL,
                rules TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
            // A sale earns in the one active programme of its currency.
            "CREATE UNIQUE INDEX loyalty_programmes_active_by_currency ON loyalty_programmes (tenant_id, currency) WHERE status = 'active'",
            """
            CREATE TABLE loyalty_members (
                tenant_id TEXT NOT NULL,
                account_id TEXT NOT NULL,
                programme_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                tier TEXT NOT NULL,
                tier_until BIGINT NOT NULL,
                in_debt INTEGER NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, account_id))
            """,
            // `in_debt`: 1 while the member's debt account (`pts_…_debt`) may owe points, so that an
            // earning reads it only then.
            "CREATE UNIQUE INDEX loyalty_members_by_customer ON loyalty_members (tenant_id, customer_id, programme_id)",
            // Members whose tier window ends: the sweep re-evaluates them.
            "CREATE INDEX loyalty_members_by_tier_until ON loyalty_members (tier_until)",
            """
            CREATE TABLE loyalty_lots (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                account_id TEXT NOT NULL,
                origin_account_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                source_id TEXT NOT NULL,
                points BIGINT NOT NULL,
                remaining BIGINT NOT NULL,
                qualifying BIGINT NOT NULL,
                line_points TEXT,
                earned_at BIGINT NOT NULL,
                expires_at BIGINT,
                PRIMARY KEY (tenant_id, account_id, id))\(dialect == .sqlite ? " WITHOUT ROWID" : "")
            """,
            // Keyed by account (without a rowid on SQLite): a member's lots sit together, so an
            // earning writes one page of them and spending reads them in one range.
            "CREATE UNIQUE INDEX loyalty_lots_by_id ON loyalty_lots (tenant_id, id)",
            // Lots with points left that will expire: the sweep's queue.
            "CREATE INDEX loyalty_lots_due ON loyalty_lots (expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL",
            // A sale earns once, whichever path recorded it.
            "CREATE UNIQUE INDEX loyalty_lots_earned_by_sale ON loyalty_lots (tenant_id, source_id) WHERE kind = 'earn'",
            """
            CREATE TABLE loyalty_merge_moves (
                tenant_id TEXT NOT NULL,
                merge_id TEXT NOT NULL,
                programme_id TEXT NOT NULL,
                from_account_id TEXT NOT NULL,
                to_account_id TEXT NOT NULL,
                points BIGINT NOT NULL,
                debt BIGINT NOT NULL,
                survivor_tier_before TEXT NOT NULL,
                survivor_tier_until_before BIGINT NOT NULL,
                survivor_tier_after TEXT NOT NULL,
                PRIMARY KEY (tenant_id, merge_id, programme_id))
            """,
            // A points part's value per point, fixed when held (NULL for value in the checkout's currency).
            "ALTER TABLE checkout_hold_parts ADD COLUMN point_value BIGINT",
        ]
    }
}
