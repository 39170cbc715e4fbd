/// Checkout holds and redemptions: what a checkout reserved or took, on which instruments — each
/// part one ledger transfer (a hold's `pending` one, a redemption's `posted` one) — and what was
/// captured and refunded of it (a coupon part has no transfer: it holds a code, not value); a
/// customer's store credit, one ledger account per currency; coupon campaigns, their single-use
/// codes and their uses per customer; and a gift card's optional restriction to channels and countries.
enum Migration010CheckoutHolds {
    static let migration = Migration(version: 10, name: "checkout_holds") { dialect in
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
                occurred_at BIGINT,
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
                transfer_id TEXT,
                PRIMARY KEY (tenant_id, hold_id, position))
            """,
            "CREATE INDEX checkout_hold_parts_by_instrument ON checkout_hold_parts (tenant_id, instrument_id)",
            // A redemption a till made while offline that could no longer be honoured when it synced:
            // kept for review with what it asked for and the amount at risk, never dropped.
            """
            CREATE TABLE redemption_exceptions (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                status TEXT NOT NULL,
                channel_id TEXT NOT NULL,
                customer_id TEXT,
                reference TEXT,
                occurred_at BIGINT,
                currency TEXT NOT NULL,
                amount_at_risk BIGINT NOT NULL,
                instruments TEXT NOT NULL,
                code TEXT NOT NULL,
                detail TEXT NOT NULL,
                resolution TEXT,
                created_at BIGINT NOT NULL,
                resolved_at BIGINT,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE INDEX redemption_exceptions_open ON redemption_exceptions (tenant_id, status, id)",
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
            // A generic campaign's one public code is `code`; a unique campaign's codes are rows of
            // `coupon_codes`. `uses` counts the uses held or redeemed, within `total_limit`.
            """
            CREATE TABLE coupon_campaigns (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                name TEXT NOT NULL,
                kind TEXT NOT NULL,
                code TEXT,
                status TEXT NOT NULL,
                starts_at BIGINT,
                ends_at BIGINT,
                channels TEXT,
                total_limit BIGINT,
                per_customer_limit BIGINT,
                uses BIGINT NOT NULL,
                code_count BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE UNIQUE INDEX coupon_campaigns_by_code ON coupon_campaigns (tenant_id, code) WHERE code IS NOT NULL",
            // A single-use code: `available`, `held` by an open hold, or `redeemed`; optionally assigned to a customer.
            // Keyed by the code alone (without a rowid on SQLite): a lookup is one b-tree probe.
            """
            CREATE TABLE coupon_codes (
                tenant_id TEXT NOT NULL,
                code TEXT NOT NULL,
                campaign_id TEXT NOT NULL,
                status TEXT NOT NULL,
                customer_id TEXT,
                hold_id TEXT,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, code))\(dialect == .sqlite ? " WITHOUT ROWID" : "")
            """,
            "CREATE INDEX coupon_codes_by_campaign ON coupon_codes (tenant_id, campaign_id, code)",
            // Covering for the wallet's read of a customer's codes: without it SQLite walks the tenant's codes by key.
            "CREATE INDEX coupon_codes_by_customer ON coupon_codes (tenant_id, customer_id, status, campaign_id) WHERE customer_id IS NOT NULL",
            """
            CREATE TABLE coupon_customer_uses (
                tenant_id TEXT NOT NULL,
                campaign_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                uses BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, campaign_id, customer_id))
            """,
            // A shopper's link to their wallet page: only the token's hash is kept, like an API key's.
            """
            CREATE TABLE wallet_links (
                tenant_id TEXT NOT NULL,
                token_hash TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, token_hash))
            """,
            // JSON arrays of channel codes and ISO 3166 countries; NULL: anywhere.
            "ALTER TABLE gift_cards ADD COLUMN channels TEXT",
            "ALTER TABLE gift_cards ADD COLUMN countries TEXT",
        ]
    }
}
