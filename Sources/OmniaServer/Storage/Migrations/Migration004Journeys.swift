/// Journey events from every channel (views, searches, carts, store visits, custom types), the
/// anonymous ids stitched to customers once they identify, and the carts the abandonment sweep watches.
enum Migration004Journeys {
    static let migration = Migration(version: 4, name: "journeys") { _ in
        [
            "ALTER TABLE tenants ADD COLUMN cart_abandonment_minutes INTEGER",
            """
            CREATE TABLE journey_events (
                tenant_id TEXT NOT NULL REFERENCES tenants (id),
                id TEXT NOT NULL,
                type TEXT NOT NULL,
                customer_id TEXT,
                anonymous_id TEXT,
                channel_id TEXT,
                occurred_at BIGINT NOT NULL,
                properties TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE INDEX journey_events_by_customer ON journey_events (tenant_id, customer_id, occurred_at)",
            "CREATE INDEX journey_events_by_anonymous ON journey_events (tenant_id, anonymous_id) WHERE anonymous_id IS NOT NULL",
            """
            CREATE TABLE anonymous_ids (
                tenant_id TEXT NOT NULL,
                anonymous_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                stitched_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, anonymous_id))
            """,
            """
            CREATE TABLE carts (
                tenant_id TEXT NOT NULL,
                cart_key TEXT NOT NULL,
                customer_id TEXT,
                anonymous_id TEXT,
                channel_id TEXT,
                state TEXT NOT NULL,
                item_count BIGINT,
                value BIGINT,
                currency TEXT,
                last_activity_at BIGINT NOT NULL,
                abandoned_at BIGINT,
                PRIMARY KEY (tenant_id, cart_key))
            """,
            "CREATE INDEX carts_open_by_activity ON carts (last_activity_at) WHERE state = 'open'",
        ]
    }
}
