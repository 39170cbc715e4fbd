import SQLKit

extension Database {
    /// Refreshes PostgreSQL's planner statistics of `tables` after a bulk load. A tenant loaded in
    /// one go is unknown to the statistics until autovacuum's next ANALYZE, and meanwhile the
    /// planner takes "tenant_id = this one" for a single row and may walk a whole tenant through
    /// any index that starts with tenant_id instead of probing the primary key — a lookup of
    /// microseconds becoming milliseconds. SQLite plans by index shape and needs nothing.
    public func analyzeAfterBulkLoad(_ tables: [String]) async throws {
        guard dialect == .postgres, !tables.isEmpty else { return }
        try await autocommit { sql in
            try await sql.raw("ANALYZE \(unsafeRaw: tables.joined(separator: ", "))").run()
        }
    }
}
