/// The two indexes journey reports read a period's sales through carry what the reports read of
/// each sale — its kind, currency, channel, customer and total — so a report of 500,000 sales reads
/// the index alone instead of looking each sale's row up in the table: by time (channel mix, store
/// identification, ROPO's sides) and by customer and time (each customer's purchases in order, for
/// transitions and cross-channel customers). They replace the narrower indexes of the same names;
/// every query those served reads them the same way.
///
/// It also settles the campaign members' index. Migration 20 first created
/// `campaign_members_reached_by_time (tenant_id, created_at)`, and was later edited in place to
/// create `campaign_members_reached (tenant_id, customer_id, created_at)`, which personalization
/// coverage looks each buyer up by. A database migrated before that edit has only the first;
/// one migrated after it, or new, has only the second. Both end with the second.
enum Migration021JourneyCoveringIndexes {
    static let migration = Migration(version: 21, name: "journey_covering_indexes") { _ in
        [
            "DROP INDEX transactions_by_time",
            "CREATE INDEX transactions_by_time ON transactions (tenant_id, occurred_at, kind, currency, channel_id, customer_id, total)",
            "DROP INDEX transactions_by_customer",
            "CREATE INDEX transactions_by_customer ON transactions (tenant_id, customer_id, occurred_at, kind, currency, channel_id, total)",
            "DROP INDEX IF EXISTS campaign_members_reached_by_time",
            "CREATE INDEX IF NOT EXISTS campaign_members_reached ON campaign_members (tenant_id, customer_id, created_at) WHERE control = 0",
        ]
    }
}
