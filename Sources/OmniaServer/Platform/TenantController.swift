import Hummingbird
import OmniaCore

/// The caller's own tenant. Tenants are created by the operator with `omnia tenant create`.
///
/// | route | scope |
/// | --- | --- |
/// | `GET /v1/tenant` | any |
/// | `PATCH /v1/tenant` (additional currencies, return policy) | admin |
struct TenantController {
    let services: AppServices
    let authenticator: APIKeyAuthenticator

    func addRoutes(to routes: Routes) {
        routes.get("tenant", scopes: Set(Scope.allCases)) { _, _, caller in
            guard let tenant = try await services.platform.fetchTenant(caller.tenantID) else { throw PlatformError.tenantNotFound(caller.tenantID) }
            return try JSONResponse.make(tenant)
        }
        routes.patch("tenant", scopes: [.admin]) { request, context, caller in
            let body = try await request.decode(UpdateTenantRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            let response = try await services.mutation(context, status: .ok) { sql in
                try await services.platform.updateTenant(on: sql, tenantID: caller.tenantID, body, actor: actor)
            }
            // Keys cache their tenant's currencies; this process forgets them at once, others within the auth-cache TTL.
            authenticator.invalidate(tenantID: caller.tenantID)
            return response
        }
    }
}
