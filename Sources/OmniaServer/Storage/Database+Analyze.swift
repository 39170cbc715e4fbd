import Logging
import SQLKit

extension Database {
    /// Refreshes PostgreSQL's planner statistics of `tables`: after a bulk load, and periodically
    /// (`HousekeepingService`) for tenants that grow. A tenant loaded in one go, or grown since the
    /// last ANALYZE, is unknown to the statistics until autovacuum's next one (on a large shared
    /// table that waits for a tenth of it to change), and meanwhile the
    /// planner takes "tenant_id = this one" for a single row and may walk a whole tenant through
    /// any index that starts with tenant_id instead of probing the primary key — a lookup of
    /// microseconds becoming milliseconds. SQLite plans by index shape and needs nothing.
    ///
    /// `vacuum`, after a bulk load, runs `VACUUM (ANALYZE)`: it also marks the loaded pages
    /// all-visible, so index-only scans — the journey reports' reads of `transactions_by_customer` —
    /// never visit the table for them (a freshly loaded tenant's report fetched ~90,000 heap rows,
    /// a third of its time). Autovacuum would do it only once a table's insert threshold passed.
    ///
    /// What was written has committed by then, so a failure is only logged: autovacuum catches up later.
    public func refreshPlannerStatistics(_ tables: [String], vacuum: Bool = false, logger: Logger) async {
        guard dialect == .postgres, !tables.isEmpty else { return }
        do {
            try await autocommit { sql in
                try await sql.raw("\(unsafeRaw: vacuum ? "VACUUM (ANALYZE)" : "ANALYZE") \(unsafeRaw: tables.joined(separator: ", "))").run()
            }
        } catch {
            logger.warning("ANALYZE failed; query plans may be slow until autovacuum analyzes",
                           metadata: ["tables": .string(tables.joined(separator: ",")), "error": .string(String(describing: error))])
        }
    }
}
