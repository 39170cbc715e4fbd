/// Triggered campaigns, and what a committed sale's promotions issue: what each customer agreed to be contacted by (`customer_consents`, one
/// row per channel of contact), each reach a trigger scheduled (`campaign_deliveries`, unique per
/// campaign, source and customer, so a trigger seen twice schedules once), and how far each
/// tenant's triggers have been read (`campaign_trigger_cursors`: an event type's watermark, or a
/// daily sweep's last day), moved by conditional writes so several servers read each stretch once.
enum Migration016CampaignTriggers {
    static let migration = Migration(version: 16, name: "campaign_triggers") { _ in
        [
            """
            CREATE TABLE customer_consents (
                tenant_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                channel TEXT NOT NULL,
                granted INTEGER NOT NULL,
                source TEXT,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, customer_id, channel))
            """,
            """
            CREATE TABLE campaign_deliveries (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                campaign_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                source_id TEXT NOT NULL,
                status TEXT NOT NULL,
                triggered_at BIGINT NOT NULL,
                due_at BIGINT NOT NULL,
                reason TEXT,
                control INTEGER NOT NULL,
                coupon_code TEXT,
                points BIGINT NOT NULL,
                gift_card_id TEXT,
                message_channel TEXT,
                lease_until BIGINT,
                created_at BIGINT NOT NULL,
                done_at BIGINT,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE UNIQUE INDEX campaign_deliveries_once ON campaign_deliveries (tenant_id, campaign_id, source_id, customer_id)",
            "CREATE INDEX campaign_deliveries_due ON campaign_deliveries (status, due_at)",
            "CREATE INDEX campaign_deliveries_by_campaign ON campaign_deliveries (tenant_id, campaign_id, created_at)",
            // What a committed sale's promotions issued for next time (coupons, gift cards), taken back with the sale.
            "ALTER TABLE promotion_redemptions ADD COLUMN issued TEXT",
            """
            CREATE TABLE campaign_trigger_cursors (
                tenant_id TEXT NOT NULL,
                name TEXT NOT NULL,
                position BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, name))
            """,
        ]
    }
}
