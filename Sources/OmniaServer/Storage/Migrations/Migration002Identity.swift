/// Customers, their identifiers and the record of merges.
///
/// A merge never rewrites history: every row keeps the customer it was written for, and
/// `canonical_id` says which customer that one resolves to today (itself, or the survivor of its
/// merges). Reads gather a customer's "cluster" (every row whose `canonical_id` is the customer);
/// unmerging resets `canonical_id` for the split-off part, so what belonged to each comes back.
/// Search keys use a binary collation on PostgreSQL so that prefix range scans use their index.
enum Migration002Identity {
    static let migration = Migration(version: 2, name: "identity") { dialect in
        let binary = dialect == .postgres ? " COLLATE \"C\"" : ""
        return [
            "ALTER TABLE tenants ADD COLUMN identity_policy TEXT",
            """
            CREATE TABLE customers (
                tenant_id TEXT NOT NULL REFERENCES tenants (id),
                id TEXT NOT NULL,
                canonical_id TEXT NOT NULL,
                merged_into TEXT,
                first_name TEXT,
                last_name TEXT,
                birth_date TEXT,
                language TEXT,
                address_line1 TEXT,
                address_line2 TEXT,
                city TEXT,
                postcode TEXT,
                region TEXT,
                country TEXT,
                attributes TEXT NOT NULL,
                name_key TEXT\(binary),
                last_name_key TEXT\(binary),
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE INDEX customers_by_canonical ON customers (tenant_id, canonical_id)",
            "CREATE INDEX customers_by_name ON customers (tenant_id, name_key)",
            "CREATE INDEX customers_by_last_name ON customers (tenant_id, last_name_key)",
            """
            CREATE TABLE customer_identifiers (
                tenant_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                value TEXT\(binary) NOT NULL,
                customer_id TEXT NOT NULL,
                channel_id TEXT,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, kind, value))
            """,
            "CREATE INDEX customer_identifiers_by_customer ON customer_identifiers (tenant_id, customer_id)",
            "CREATE INDEX customer_identifiers_by_value ON customer_identifiers (tenant_id, value)",
            """
            CREATE TABLE customer_merges (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                survivor_id TEXT NOT NULL,
                merged_id TEXT NOT NULL,
                reason TEXT NOT NULL,
                identifiers TEXT NOT NULL,
                filled_fields TEXT NOT NULL,
                actor TEXT NOT NULL,
                channel_id TEXT,
                request_id TEXT,
                created_at BIGINT NOT NULL,
                unmerged_at BIGINT,
                unmerged_by TEXT,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE INDEX customer_merges_by_merged ON customer_merges (tenant_id, merged_id)",
            "CREATE INDEX customer_merges_by_survivor ON customer_merges (tenant_id, survivor_id)",
        ]
    }
}
