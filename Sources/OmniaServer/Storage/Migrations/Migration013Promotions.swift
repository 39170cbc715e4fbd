/// Promotions: each with its current terms (`definition`, the validated request as JSON) and
/// every version of them, since a sale keeps the version it used; and a per-tenant catalog
/// version, bumped by every change, by which each server process knows when its compiled copy of
/// the tenant's active promotions is stale — on one SQLite file or many servers on PostgreSQL.
enum Migration013Promotions {
    static let migration = Migration(version: 13, name: "promotions") { _ in
        [
            """
            CREATE TABLE promotions (
                tenant_id TEXT NOT NULL,
                id TEXT NOT NULL,
                version INTEGER NOT NULL,
                name TEXT NOT NULL,
                status TEXT NOT NULL,
                definition TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id))
            """,
            "CREATE INDEX promotions_by_status ON promotions (tenant_id, status, id)",
            """
            CREATE TABLE promotion_versions (
                tenant_id TEXT NOT NULL,
                promotion_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                definition TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, promotion_id, version))
            """,
            """
            CREATE TABLE promotion_catalogs (
                tenant_id TEXT NOT NULL PRIMARY KEY,
                version BIGINT NOT NULL)
            """,
        ]
    }
}
