/// Segments of customers and the tenant's computed profile attributes.
///
/// A segment is a rule over the live profile (dynamic) or a list (static). `segment_members` is
/// its membership as of the last refresh, with the time each customer entered; it is indexed by
/// customer as well, since checkout and campaigns read `customer.segments` one customer at a time.
/// `segment_sizes` keeps a row per refresh that changed a segment (size, entered, exited), its
/// history. `segment_refreshes` is one row per tenant: the lease a server holds while it
/// refreshes the tenant's dynamic segments, so with many servers only one does at a time.
/// `profile_attributes` are the tenant's attributes computed by rule from the profile.
enum Migration017Segments {
    static let migration = Migration(version: 17, name: "segments") { _ in
        [
            """
            CREATE TABLE segments (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                code TEXT NOT NULL,
                name TEXT NOT NULL,
                description TEXT,
                kind TEXT NOT NULL,
                rule TEXT,
                status TEXT NOT NULL,
                version INTEGER NOT NULL,
                size BIGINT NOT NULL,
                refreshed_at BIGINT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE UNIQUE INDEX segments_by_code ON segments (tenant_id, code)",
            """
            CREATE TABLE segment_members (
                tenant_id TEXT NOT NULL,
                segment_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                entered_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, segment_id, customer_id))
            """,
            "CREATE INDEX segment_members_by_customer ON segment_members (tenant_id, customer_id)",
            """
            CREATE TABLE segment_sizes (
                tenant_id TEXT NOT NULL,
                segment_id TEXT NOT NULL,
                measured_at BIGINT NOT NULL,
                size BIGINT NOT NULL,
                entered BIGINT NOT NULL,
                exited BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, segment_id, measured_at))
            """,
            """
            CREATE TABLE segment_refreshes (
                tenant_id TEXT NOT NULL,
                lease_token TEXT,
                lease_until BIGINT,
                refreshed_at BIGINT,
                PRIMARY KEY (tenant_id))
            """,
            """
            CREATE TABLE profile_attributes (
                tenant_id TEXT NOT NULL,
                code TEXT NOT NULL,
                type TEXT NOT NULL,
                rule TEXT NOT NULL,
                description TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, code))
            """,
        ]
    }
}
