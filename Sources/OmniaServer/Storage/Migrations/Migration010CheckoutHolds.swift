/// Checkout holds and redemptions: what a checkout reserved or took, on which instruments — each
/// part one ledger transfer (a hold's `pending` one, a redemption's `posted` one) — and what was
/// captured and refunded of it; a customer's store credit, one ledger account per currency; and a
/// gift card's optional restriction to channels and countries.
enum Migration010CheckoutHolds {
    static let migration = Migration(version: 10, name: "checkout_holds") { _ in
        [
            """
            CREATE TABLE checkout_holds (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                kind TEXT NOT NULL,
                status TEXT NOT NULL,
                channel_id TEXT NOT NULL,
                currency TEXT NOT NULL,
                country TEXT,
                customer_id TEXT,
                reference TEXT,
                expires_at BIGINT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
            // Open holds by expiry, for the sweep that releases them (a partial index: resolved holds drop out).
            "CREATE INDEX checkout_holds_open_by_expiry ON checkout_holds (expires_at) WHERE status = 'open'",
            "CREATE INDEX checkout_holds_by_customer ON checkout_holds (tenant_id, customer_id, id) WHERE customer_id IS NOT NULL",
            """
            CREATE TABLE checkout_hold_parts (
                tenant_id TEXT NOT NULL,
                hold_id TEXT NOT NULL,
                position INTEGER NOT NULL,
                instrument_type TEXT NOT NULL,
                instrument_id TEXT NOT NULL,
                unit TEXT NOT NULL,
                amount BIGINT NOT NULL,
                captured BIGINT NOT NULL,
                refunded BIGINT NOT NULL,
                transfer_id TEXT NOT NULL,
                PRIMARY KEY (tenant_id, hold_id, position))
            """,
            "CREATE INDEX checkout_hold_parts_by_instrument ON checkout_hold_parts (tenant_id, instrument_id)",
            """
            CREATE TABLE store_credits (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                currency TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE UNIQUE INDEX store_credits_by_customer ON store_credits (tenant_id, customer_id, currency)",
            // JSON arrays of channel codes and ISO 3166 countries; NULL: anywhere.
            "ALTER TABLE gift_cards ADD COLUMN channels TEXT",
            "ALTER TABLE gift_cards ADD COLUMN countries TEXT",
        ]
    }
}
