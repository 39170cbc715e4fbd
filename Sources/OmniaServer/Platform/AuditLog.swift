import Foundation
import OmniaCore
import SQLKit

/// Who did what to which object, written in the same transaction as the admin action it records.
struct AuditLog: Sendable {
    let ids: IDGenerator
    let now: @Sendable () -> Date

    /// `actor` is the API key id, or `cli` for the command-line tool.
    func record(on sql: any SQLDatabase, tenantID: String, actor: String, action: String, targetType: String,
                targetID: String, details: [String: JSONValue] = [:], requestID: String?) async throws {
        let detailText = try JSONCoding.text(details)
        try await sql.runDeferrable("""
            INSERT INTO audit_log (tenant_id, id, actor, action, target_type, target_id, details, request_id, created_at)
            VALUES (\(bind: tenantID), \(bind: ids.make(.auditEntry)), \(bind: actor), \(bind: action), \(bind: targetType),
                    \(bind: targetID), \(bind: detailText), \(bind: requestID), \(bind: Timestamp.milliseconds(now())))
            """)
    }
}
