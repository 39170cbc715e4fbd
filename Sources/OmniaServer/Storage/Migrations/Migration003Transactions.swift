/// Sales and returns from every channel, and the per-customer figures kept up to date as they land.
///
/// A transaction keeps the customer it was recorded for (like every row, see migration 002); the
/// customer 360 reads a merged customer's whole cluster. `(channel_id, external_id)` is unique so a
/// till's retry never records a sale twice. Lines carry `net_total` (after their share of order
/// discounts), which is what returning them refunds, and `returned_quantity`, which a return raises
/// with a conditional write so that concurrent returns can never return more than was sold.
/// Claim codes and original ids are indexed only where present (anonymous sales, returns), so the
/// common sale writes two index entries fewer.
///
/// The `customer_*_stats` tables are the 360's aggregates, written in the same transaction as the
/// sale, return or claim, so reading a customer with thousands of sales costs a few index reads.
enum Migration003Transactions {
    static let migration = Migration(version: 3, name: "transactions") { _ in
        [
            "ALTER TABLE tenants ADD COLUMN additional_currencies TEXT",
            "ALTER TABLE tenants ADD COLUMN return_policy TEXT",
            """
            CREATE TABLE transactions (
                tenant_id TEXT NOT NULL REFERENCES tenants (id),
                id TEXT NOT NULL,
                kind TEXT NOT NULL,
                channel_id TEXT NOT NULL,
                location_id TEXT,
                external_id TEXT NOT NULL,
                customer_id TEXT,
                original_id TEXT,
                occurred_at BIGINT NOT NULL,
                currency TEXT NOT NULL,
                subtotal BIGINT NOT NULL,
                discount_total BIGINT NOT NULL,
                tax_total BIGINT NOT NULL,
                taxes_included INTEGER NOT NULL,
                total BIGINT NOT NULL,
                discounts TEXT NOT NULL,
                taxes TEXT NOT NULL,
                tenders TEXT NOT NULL,
                claim_code TEXT,
                claimed_at BIGINT,
                receipt_token TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE UNIQUE INDEX transactions_by_external_id ON transactions (tenant_id, channel_id, external_id)",
            "CREATE UNIQUE INDEX transactions_by_claim_code ON transactions (tenant_id, claim_code) WHERE claim_code IS NOT NULL",
            "CREATE UNIQUE INDEX transactions_by_receipt ON transactions (tenant_id, receipt_token)",
            "CREATE INDEX transactions_by_customer ON transactions (tenant_id, customer_id, occurred_at)",
            "CREATE INDEX transactions_by_original ON transactions (tenant_id, original_id) WHERE original_id IS NOT NULL",
            """
            CREATE TABLE transaction_lines (
                tenant_id TEXT NOT NULL,
                transaction_id TEXT NOT NULL,
                line_number INTEGER NOT NULL,
                sku TEXT NOT NULL,
                name TEXT,
                category TEXT,
                quantity BIGINT NOT NULL,
                unit_price BIGINT NOT NULL,
                discount BIGINT NOT NULL,
                total BIGINT NOT NULL,
                net_total BIGINT NOT NULL,
                returned_quantity BIGINT NOT NULL DEFAULT 0,
                original_line INTEGER,
                reason TEXT,
                PRIMARY KEY (tenant_id, transaction_id, line_number))
            """,
            """
            CREATE TABLE customer_channel_stats (
                tenant_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                channel_id TEXT NOT NULL,
                currency TEXT NOT NULL,
                orders BIGINT NOT NULL,
                returns BIGINT NOT NULL,
                sales_amount BIGINT NOT NULL,
                returned_amount BIGINT NOT NULL,
                first_purchase_at BIGINT,
                last_purchase_at BIGINT,
                PRIMARY KEY (tenant_id, customer_id, channel_id, currency))
            """,
            """
            CREATE TABLE customer_category_stats (
                tenant_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                category TEXT NOT NULL,
                quantity BIGINT NOT NULL,
                lines BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, customer_id, category))
            """,
            """
            CREATE TABLE customer_location_stats (
                tenant_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                location_id TEXT NOT NULL,
                orders BIGINT NOT NULL,
                last_visit_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, customer_id, location_id))
            """,
        ]
    }
}
