/// The index by customer and time also carries each sale's id, so a customer's recent sales are
/// read from the index alone: the recommendations' history (every request) joins the lines by
/// sale id, and until now looked each sale's row up in the table for it — a random page read per
/// sale, about a fifth of the request's time. It replaces the index of migration 21 of the same
/// name; every query that read that one reads this the same way.
enum Migration023CustomerHistoryIndex {
    static let migration = Migration(version: 23, name: "customer_history_index") { _ in
        [
            "DROP INDEX transactions_by_customer",
            "CREATE INDEX transactions_by_customer ON transactions (tenant_id, customer_id, occurred_at, kind, currency, channel_id, total, id)",
        ]
    }
}
