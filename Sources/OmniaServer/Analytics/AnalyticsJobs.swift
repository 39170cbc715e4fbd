import Foundation
import OmniaCore
import SQLKit

/// The tenant's analytics models (`analytics_models`): one row per tenant and kind holding the last
/// good result, when it was computed, the last attempt's error, and the lease a server holds while
/// it computes — so with many servers each job runs once at a time, and a failed attempt keeps
/// the previous result.
struct AnalyticsJobs: Sendable {
    let services: AppServices
    static let lease: Int64 = 300_000

    /// The job's lease, if no other server holds a live one; the token to release it with.
    func claim(tenantID: String, kind: String) async throws -> String? {
        let now = services.nowMilliseconds
        let token = UUID().uuidString
        let claimed = try await services.database.transaction { sql in
            try await sql.raw("""
                INSERT INTO analytics_models (tenant_id, kind) VALUES (\(bind: tenantID), \(bind: kind)) ON CONFLICT (tenant_id, kind) DO NOTHING
                """).run()
            return try await sql.raw("""
                UPDATE analytics_models SET lease_token = \(bind: token), lease_until = \(bind: now + Self.lease)
                WHERE tenant_id = \(bind: tenantID) AND kind = \(bind: kind) AND (lease_until IS NULL OR lease_until < \(bind: now))
                RETURNING kind
                """).first() != nil
        }
        return claimed ? token : nil
    }

    /// Ends the lease, recording the attempt: its error, or the new result (`model`, JSON) within `sql`'s transaction.
    func finish(on sql: any SQLDatabase, tenantID: String, kind: String, token: String, model: String?, error: String?) async throws {
        let now = services.nowMilliseconds
        let updated = try await sql.raw("""
            UPDATE analytics_models SET lease_token = NULL, lease_until = NULL, attempted_at = \(bind: now), error = \(bind: error),
              model = COALESCE(\(bind: model), model), fitted_at = \(unsafeRaw: model == nil ? "fitted_at" : "\(now)")
            WHERE tenant_id = \(bind: tenantID) AND kind = \(bind: kind) AND lease_token = \(bind: token)
            RETURNING kind
            """).first()
        // A server that stalled past its lease was taken over: it writes nothing.
        guard updated != nil else { throw AnalyticsJobTakenOver() }
    }

    /// The stored result and its time, if a run ever succeeded.
    func stored<Model: Decodable>(_: Model.Type, on sql: any SQLDatabase, tenantID: String, kind: String) async throws -> (model: Model, fittedAt: Int64, error: String?)? {
        guard let row = try await sql.raw("""
            SELECT model, fitted_at, error FROM analytics_models WHERE tenant_id = \(bind: tenantID) AND kind = \(bind: kind)
            """).first(), let text = try row.decode(column: "model", as: String?.self), let fittedAt = try row.decode(column: "fitted_at", as: Int64?.self)
        else { return nil }
        return (try JSONCoding.decoder.decode(Model.self, from: Data(text.utf8)), fittedAt, try row.decode(column: "error", as: String?.self))
    }

    /// The last attempt's error, when no run has succeeded yet (a 404 says why).
    func lastError(on sql: any SQLDatabase, tenantID: String, kind: String) async throws -> String? {
        try await sql.raw("SELECT error FROM analytics_models WHERE tenant_id = \(bind: tenantID) AND kind = \(bind: kind)")
            .first(decodingColumn: "error", as: String?.self) ?? nil
    }

    /// Tenants whose `kind` result is older than `age` milliseconds (or missing) and that have sales to compute it from.
    func due(kind: String, olderThan age: Int64) async throws -> [String] {
        let before = services.nowMilliseconds - age
        return try await services.database.read { sql in
            try await sql.raw("""
                SELECT t.id FROM tenants t WHERE EXISTS (SELECT 1 FROM customer_channel_stats s WHERE s.tenant_id = t.id)
                  AND NOT EXISTS (SELECT 1 FROM analytics_models m WHERE m.tenant_id = t.id AND m.kind = \(bind: kind)
                                  AND COALESCE(m.attempted_at, 0) > \(bind: before))
                ORDER BY t.id
                """).all(decodingColumn: "id", as: String.self)
        }
    }
}

/// The lease of an analytics job was taken over by another server after this one stalled.
struct AnalyticsJobTakenOver: Error {}
