/// What committed sales took of promotions: each promotion's part of a sale (`promotion_redemptions`,
/// with its share of every line, so a return gives back exactly what its lines took), and the
/// counters budgets and limits are checked against (`promotion_usage`: one row per promotion and
/// scope — `total`, a local day `day:N`, a customer `customer:cus_…`), taken by conditional upserts
/// so two channels committing the last of a budget cannot both succeed. And the sales by time, which
/// a simulation reads the last days of.
enum Migration014PromotionRedemptions {
    static let migration = Migration(version: 14, name: "promotion_redemptions") { _ in
        [
            """
            CREATE TABLE promotion_redemptions (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                promotion_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                transaction_id TEXT NOT NULL,
                customer_id TEXT,
                channel_id TEXT NOT NULL,
                currency TEXT NOT NULL,
                local_day INTEGER NOT NULL,
                discount BIGINT NOT NULL,
                sale_net BIGINT NOT NULL,
                bonus_points BIGINT NOT NULL,
                line_discounts TEXT NOT NULL,
                coupon_code TEXT,
                returned_discount BIGINT NOT NULL,
                use_returned INTEGER NOT NULL,
                occurred_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE INDEX promotion_redemptions_by_transaction ON promotion_redemptions (tenant_id, transaction_id)",
            "CREATE INDEX promotion_redemptions_by_promotion ON promotion_redemptions (tenant_id, promotion_id, occurred_at)",
            // A promotion's simulation replays the sales of the last days, found by when they happened.
            "CREATE INDEX transactions_by_time ON transactions (tenant_id, occurred_at)",
            """
            CREATE TABLE promotion_usage (
                tenant_id TEXT NOT NULL,
                promotion_id TEXT NOT NULL,
                scope TEXT NOT NULL,
                uses BIGINT NOT NULL,
                discount BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, promotion_id, scope))
            """,
        ]
    }
}
