/// Each tenant's sales and returns summed by hour, channel, kind and currency, kept as each
/// transaction is written (`TransactionHours`): the journey reports that count a period's sales
/// without asking who bought (channel mix, identified store sales, ROPO's sides, the scorecard's
/// identified share) read a few rows an hour instead of every sale of the period. `identified`
/// and `identified_total` count the transactions with a customer; a claimed receipt moves its sale
/// (and the sale's returns) from anonymous to identified. The table is filled from the
/// transactions already recorded. On SQLite it is `WITHOUT ROWID`, so a period is one run of the
/// primary key's b-tree (see migration 008).
enum Migration022TransactionHours {
    static let migration = Migration(version: 22, name: "transaction_hours") { dialect in
        let clustered = dialect == .sqlite ? " WITHOUT ROWID" : ""
        return [
            """
            CREATE TABLE transaction_hours (
                tenant_id TEXT NOT NULL,
                hour BIGINT NOT NULL,
                channel_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                currency TEXT NOT NULL,
                transactions BIGINT NOT NULL,
                identified BIGINT NOT NULL,
                total BIGINT NOT NULL,
                identified_total BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, hour, channel_id, kind, currency))\(clustered)
            """,
            """
            INSERT INTO transaction_hours (tenant_id, hour, channel_id, kind, currency, transactions, identified, total, identified_total)
            SELECT tenant_id, occurred_at / 3600000, channel_id, kind, currency, COUNT(*), COUNT(customer_id), SUM(total),
              SUM(CASE WHEN customer_id IS NULL THEN 0 ELSE total END)
            FROM transactions GROUP BY tenant_id, occurred_at / 3600000, channel_id, kind, currency
            """,
        ]
    }
}
