/// Indexes the journey analytics and the maturity scorecard read a period through, so that each
/// report reads the period's rows of one kind instead of every row of the tenant: journey events
/// by type and time (abandoned carts, orders placed), returns by time, captured checkouts by when
/// they were used (benefits used in another channel), promotion redemptions that used or issued
/// coupons and gift cards, and whether a customer was reached by a campaign (personalization coverage).
enum Migration020JourneyAnalyticsIndexes {
    static let migration = Migration(version: 20, name: "journey_analytics_indexes") { _ in
        [
            "CREATE INDEX journey_events_by_type ON journey_events (tenant_id, type, occurred_at)",
            "CREATE INDEX transactions_returns_by_time ON transactions (tenant_id, occurred_at) WHERE kind = 'return'",
            "CREATE INDEX checkout_holds_captured_by_time ON checkout_holds (tenant_id, (COALESCE(occurred_at, created_at))) WHERE status = 'captured'",
            "CREATE INDEX promotion_redemptions_coupons_by_time ON promotion_redemptions (tenant_id, occurred_at) WHERE coupon_code IS NOT NULL",
            "CREATE INDEX promotion_redemptions_issued_by_time ON promotion_redemptions (tenant_id, occurred_at) WHERE issued IS NOT NULL",
            "CREATE INDEX campaign_members_reached ON campaign_members (tenant_id, customer_id, created_at) WHERE control = 0",
        ]
    }
}
