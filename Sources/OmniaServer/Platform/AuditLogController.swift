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

    struct AuditEntry: Codable, Sendable {
        let id: String
        let actor: String
        let action: String
        let targetType: String
        let targetId: String
        let details: JSONValue
        let requestId: String?
        let createdAt: String
    }

    struct AuditRow: Decodable, Sendable {
        let id: String
        let actor: String
        let action: String
        let targetType: String
        let targetId: String
        let details: String
        let requestId: String?
        let createdAt: Int64

        var response: AuditEntry {
            let details = (try? JSONCoding.decoder.decode(JSONValue.self, from: Data(self.details.utf8))) ?? .null
            return AuditEntry(id: id, actor: actor, action: action, targetType: targetType, targetId: targetId, details: details,
                              requestId: requestId, createdAt: Timestamp.text(createdAt))
        }
    }

    func addRoutes(to routes: Routes) {
        routes.get("audit_log", scopes: [.admin]) { request, _, caller in
            let page = try PageRequest(request)
            let rows = try await services.database.page(AuditRow.self, from: "audit_log", tenantID: caller.tenantID, page: page)
            return try JSONResponse.make(page.page(rows.map(\.response), id: \.id))
        }
    }
}
