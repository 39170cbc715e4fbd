/// The platform: tenants, locations, channels, API keys, idempotency keys, the event outbox,
/// webhooks and the audit log. `tenant_id` leads every primary key and unique index so the schema
/// can later be distributed by tenant without redesign. Times are epoch milliseconds (BIGINT) so
/// both dialects compare and sort them the same way.
enum Migration001Platform {
    static let migration = Migration(version: 1, name: "platform") { _ in
        [
            """
            CREATE TABLE tenants (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                default_currency TEXT NOT NULL,
                timezone TEXT NOT NULL,
                country TEXT,
                created_at BIGINT NOT NULL)
            """,
            "CREATE INDEX tenants_by_name ON tenants (name)",
            """
            CREATE TABLE locations (
                tenant_id TEXT NOT NULL REFERENCES tenants (id),
                id TEXT NOT NULL,
                code TEXT NOT NULL,
                name TEXT NOT NULL,
                kind TEXT NOT NULL,
                address_line1 TEXT,
                address_line2 TEXT,
                city TEXT,
                postcode TEXT,
                region TEXT,
                country TEXT NOT NULL,
                timezone TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE UNIQUE INDEX locations_by_code ON locations (tenant_id, code)",
            """
            CREATE TABLE channels (
                tenant_id TEXT NOT NULL REFERENCES tenants (id),
                id TEXT NOT NULL,
                code TEXT NOT NULL,
                name TEXT NOT NULL,
                kind TEXT NOT NULL,
                location_id TEXT,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id),
                FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id))
            """,
            "CREATE UNIQUE INDEX channels_by_code ON channels (tenant_id, code)",
            """
            CREATE TABLE api_keys (
                tenant_id TEXT NOT NULL REFERENCES tenants (id),
                id TEXT NOT NULL,
                name TEXT NOT NULL,
                key_hash TEXT NOT NULL,
                hint TEXT NOT NULL,
                scopes TEXT NOT NULL,
                channel_id TEXT,
                location_id TEXT,
                created_at BIGINT NOT NULL,
                revoked_at BIGINT,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE UNIQUE INDEX api_keys_by_hash ON api_keys (tenant_id, key_hash)",
            """
            CREATE TABLE idempotency_keys (
                tenant_id TEXT NOT NULL,
                api_key_id TEXT NOT NULL,
                idempotency_key TEXT NOT NULL,
                request_hash TEXT NOT NULL,
                state TEXT NOT NULL,
                response_status INTEGER,
                response_body TEXT,
                created_at BIGINT NOT NULL,
                locked_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, api_key_id, idempotency_key))
            """,
            "CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at)",
            """
            CREATE TABLE events (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                type TEXT NOT NULL,
                data TEXT NOT NULL,
                request_id TEXT,
                created_at BIGINT NOT NULL,
                dispatched INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE INDEX events_by_type ON events (tenant_id, type, id)",
            "CREATE INDEX events_undispatched ON events (created_at) WHERE dispatched = 0",
            """
            CREATE TABLE webhook_endpoints (
                tenant_id TEXT NOT NULL REFERENCES tenants (id),
                id TEXT NOT NULL,
                url TEXT NOT NULL,
                description TEXT,
                secret TEXT NOT NULL,
                event_types TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                deleted_at BIGINT,
                PRIMARY KEY (tenant_id, id))
            """,
            """
            CREATE TABLE webhook_deliveries (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                endpoint_id TEXT NOT NULL,
                event_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at BIGINT,
                last_attempt_at BIGINT,
                last_response_status INTEGER,
                last_error TEXT,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (tenant_id, endpoint_id, event_id)",
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'sending')",
            """
            CREATE TABLE audit_log (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                target_type TEXT NOT NULL,
                target_id TEXT NOT NULL,
                details TEXT NOT NULL,
                request_id TEXT,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
        ]
    }
}
