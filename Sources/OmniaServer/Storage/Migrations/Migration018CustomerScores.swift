/// What the tenant's analytics jobs compute per customer, and their models.
///
/// `customer_rfm` holds each buying customer's recency, frequency and monetary value with their
/// quintile scores and named group; `customer_predictions` each customer's purchase summary (the
/// BG/NBD inputs, so a prediction over another horizon needs no history read) and what the fitted
/// models predict. Both are replaced whole by each run. `analytics_models` keeps one row per
/// tenant and kind (`rfm`, `clv`): the last good result as JSON, the last attempt and its error (a
/// fit that fails keeps the previous model), and the lease a server holds while it runs the job.
/// Doubles are `DOUBLE PRECISION`: eight bytes on PostgreSQL, a REAL on SQLite.
enum Migration018CustomerScores {
    static let migration = Migration(version: 18, name: "customer_scores") { _ in
        [
            """
            CREATE TABLE customer_rfm (
                tenant_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                recency_days INTEGER NOT NULL,
                frequency BIGINT NOT NULL,
                monetary BIGINT NOT NULL,
                recency_score INTEGER NOT NULL,
                frequency_score INTEGER NOT NULL,
                monetary_score INTEGER NOT NULL,
                cell TEXT NOT NULL,
                rfm_group TEXT NOT NULL,
                PRIMARY KEY (tenant_id, customer_id))
            """,
            """
            CREATE TABLE customer_predictions (
                tenant_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                repeat_purchases INTEGER NOT NULL,
                recency_weeks DOUBLE PRECISION NOT NULL,
                age_weeks DOUBLE PRECISION NOT NULL,
                mean_repeat_value DOUBLE PRECISION NOT NULL,
                expected_purchases DOUBLE PRECISION NOT NULL,
                probability_alive DOUBLE PRECISION NOT NULL,
                expected_order_value BIGINT NOT NULL,
                clv BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, customer_id))
            """,
            """
            CREATE TABLE analytics_models (
                tenant_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                model TEXT,
                fitted_at BIGINT,
                attempted_at BIGINT,
                error TEXT,
                lease_token TEXT,
                lease_until BIGINT,
                PRIMARY KEY (tenant_id, kind))
            """,
        ]
    }
}
