/// A customer's per-category figures in one row per customer instead of one per category (see
/// `CustomerCategoryFigures`): a sale adds to one row however many categories its lines have. The
/// existing rows are folded into the new values.
enum Migration007CustomerCategories {
    static let migration = Migration(version: 7, name: "customer_categories") { dialect in
        let (join, separator, fieldSeparator) = dialect == .postgres
            ? ("string_agg", "chr(30)", "chr(31)") : ("group_concat", "char(30)", "char(31)")
        return [
            """
            CREATE TABLE customer_categories (
                tenant_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                figures TEXT NOT NULL,
                PRIMARY KEY (tenant_id, customer_id))
            """,
            """
            INSERT INTO customer_categories (tenant_id, customer_id, figures)
            SELECT tenant_id, customer_id, \(join)(category || \(fieldSeparator) || quantity || \(fieldSeparator) || lines, \(separator))
            FROM customer_category_stats GROUP BY tenant_id, customer_id
            """,
            "DROP TABLE customer_category_stats",
        ]
    }
}
