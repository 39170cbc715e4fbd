/// The benefits ledger — accounts in one unit each, with their four running sums kept beside the
/// immutable transfers that make them (TigerBeetle's model: posted and pending on each side;
/// `ledger verify` recomputes the sums from the transfers), and the holds still open — and the
/// gift cards whose accounts it keeps.
enum Migration009Benefits {
    static let migration = Migration(version: 9, name: "benefits") { _ in
        [
            """
            CREATE TABLE ledger_accounts (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                unit TEXT NOT NULL,
                kind TEXT NOT NULL,
                customer_id TEXT,
                flags INTEGER NOT NULL,
                debits_pending BIGINT NOT NULL,
                debits_posted BIGINT NOT NULL,
                credits_pending BIGINT NOT NULL,
                credits_posted BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE INDEX ledger_accounts_by_customer ON ledger_accounts (tenant_id, customer_id) WHERE customer_id IS NOT NULL",
            """
            CREATE TABLE ledger_transfers (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                kind TEXT NOT NULL,
                debit_account_id TEXT NOT NULL,
                credit_account_id TEXT NOT NULL,
                amount BIGINT NOT NULL,
                unit TEXT NOT NULL,
                pending_id TEXT,
                expires_at BIGINT,
                reason TEXT,
                request_id TEXT,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE INDEX ledger_transfers_by_debit_account ON ledger_transfers (tenant_id, debit_account_id, id)",
            "CREATE INDEX ledger_transfers_by_credit_account ON ledger_transfers (tenant_id, credit_account_id, id)",
            // A hold is captured or voided once: the safety net under `ledger_open_holds`.
            "CREATE UNIQUE INDEX ledger_transfers_resolving ON ledger_transfers (tenant_id, pending_id) WHERE pending_id IS NOT NULL",
            // Holds not yet captured, voided or expired: a row inserted with the hold and deleted by
            // whatever resolves it, so "is it open?" is one delete and the expiry sweep reads only open holds.
            """
            CREATE TABLE ledger_open_holds (
                tenant_id TEXT NOT NULL,
                transfer_id TEXT NOT NULL,
                expires_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, transfer_id))
            """,
            "CREATE INDEX ledger_open_holds_by_expiry ON ledger_open_holds (expires_at)",
            // A card's id is also its ledger account's. The code is a bearer secret: only its hash
            // is kept (75 random bits, so a plain SHA-256 cannot be reversed), with its last four
            // characters to tell cards apart. A PIN is kept hashed with the card's id.
            """
            CREATE TABLE gift_cards (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                code_hash TEXT NOT NULL,
                code_last4 TEXT NOT NULL,
                currency TEXT NOT NULL,
                status TEXT NOT NULL,
                customer_id TEXT,
                pin_hash TEXT,
                failed_pin_attempts INTEGER NOT NULL,
                locked_until BIGINT,
                expires_at BIGINT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE UNIQUE INDEX gift_cards_by_code ON gift_cards (tenant_id, code_hash)",
            "CREATE INDEX gift_cards_by_customer ON gift_cards (tenant_id, customer_id) WHERE customer_id IS NOT NULL",
        ]
    }
}
