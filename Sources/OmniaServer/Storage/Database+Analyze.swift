import Logging
import SQLKit

extension Database {
    /// Refreshes PostgreSQL's planner statistics of `tables` after a bulk load. A tenant loaded in
    /// one go is unknown to the statistics until autovacuum's next ANALYZE, and meanwhile the
    /// planner takes "tenant_id = this one" for a single row and may walk a whole tenant through
    /// any index that starts with tenant_id instead of probing the primary key — a lookup of
    /// microseconds becoming milliseconds. SQLite plans by index shape and needs nothing.
    ///
    /// The load has committed by then, so a failure is only logged: autovacuum catches up later.
    public func analyzeAfterBulkLoad(_ tables: [String], logger: Logger) async {
        guard dialect == .postgres, !tables.isEmpty else { return }
        do {
            try await autocommit { sql in
                try await sql.raw("ANALYZE \(unsafeRaw: tables.joined(separator: ", "))").run()
            }
        } catch {
            logger.warning("ANALYZE after a bulk load failed; query plans may be slow until autovacuum analyzes",
                           metadata: ["tables": .string(tables.joined(separator: ",")), "error": .string(String(describing: error))])
        }
    }
}
