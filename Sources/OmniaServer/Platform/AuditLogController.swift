import Foundation
import Hummingbird
import OmniaCore

/// The audit log of admin actions.
///
/// | route | scope |
/// | --- | --- |
/// | `GET /v1/audit_log` | admin |
struct AuditLogController {
    let services: AppServices

    /// One audited action, as stored and as listed.
    struct AuditEntry: Codable, Sendable {
        let id: String
        let actor: String
        let action: String
        let targetType: String
        let targetId: String
        let details: StoredJSON
        let requestId: String?
        let createdAt: StoredTime
    }

    func addRoutes(to routes: Routes) {
        routes.get("audit_log", scopes: [.admin]) { request, _, caller in
            let page = try PageRequest(request)
            let rows = try await services.database.page(AuditEntry.self, from: "audit_log", tenantID: caller.tenantID, page: page)
            return try JSONResponse.make(page.page(rows, id: \.id))
        }
    }
}
