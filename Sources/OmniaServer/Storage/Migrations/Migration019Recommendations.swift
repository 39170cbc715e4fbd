/// The recommendation model of each tenant, as rows a request reads only a few of.
///
/// `recommendation_items` is one row per SKU ever sold: its popularity (decayed by the age of each
/// buyer's last purchase), repeat rate and interval, and whether it is a consumable (which a
/// customer who owns it may be offered again). `popularity_rank` is its place in the model's
/// order (most popular first, then by SKU) and is indexed, so the popular head every request
/// blends in is a short index range, never a sort of the catalogue. `recommendation_neighbours`
/// holds each item's neighbours best first, one row per rank, keyed so that a request reads just
/// its anchor items' lists by primary-key prefix; the neighbour's category is carried so the
/// category filter needs no second lookup. Both are replaced whole, in one transaction, by each
/// rebuild; the build's report and the lease a server holds while it builds live in
/// `analytics_models` (kind `recs`). On SQLite both are `WITHOUT ROWID`, so a neighbour list is one
/// contiguous run of the primary key's b-tree (see migration 008). Doubles are `DOUBLE PRECISION`.
enum Migration019Recommendations {
    static let migration = Migration(version: 19, name: "recommendations") { dialect in
        let clustered = dialect == .sqlite ? " WITHOUT ROWID" : ""
        return [
            """
            CREATE TABLE recommendation_items (
                tenant_id TEXT NOT NULL,
                sku TEXT NOT NULL,
                name TEXT NOT NULL,
                category TEXT NOT NULL,
                baskets BIGINT NOT NULL,
                buyers BIGINT NOT NULL,
                popularity DOUBLE PRECISION NOT NULL,
                repeat_rate DOUBLE PRECISION NOT NULL,
                repeat_interval_days DOUBLE PRECISION,
                consumable INTEGER NOT NULL,
                popularity_rank INTEGER NOT NULL,
                PRIMARY KEY (tenant_id, sku))\(clustered)
            """,
            "CREATE INDEX recommendation_items_by_rank ON recommendation_items (tenant_id, popularity_rank)",
            """
            CREATE TABLE recommendation_neighbours (
                tenant_id TEXT NOT NULL,
                sku TEXT NOT NULL,
                rank INTEGER NOT NULL,
                neighbour_sku TEXT NOT NULL,
                score DOUBLE PRECISION NOT NULL,
                co_baskets BIGINT NOT NULL,
                channel_kind TEXT NOT NULL,
                category TEXT NOT NULL,
                PRIMARY KEY (tenant_id, sku, rank))\(clustered)
            """,
        ]
    }
}
