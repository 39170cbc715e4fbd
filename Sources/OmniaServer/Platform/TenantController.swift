import Hummingbird
import OmniaCore

/// The caller's own tenant. Tenants are created by the operator with `omnia tenant create`.
///
/// | route | scope |
/// | --- | --- |
/// | `GET /v1/tenant` | any |
struct TenantController {
    let services: AppServices

    func addRoutes(to routes: Routes) {
        routes.get("tenant", scopes: Set(Scope.allCases)) { _, _, caller in
            guard let tenant = try await services.platform.fetchTenant(caller.tenantID) else { throw PlatformError.tenantNotFound(caller.tenantID) }
            return try JSONResponse.make(tenant)
        }
    }
}
