import Hummingbird
import OmniaCore

/// Identity resolution and the tenant's identity policy.
///
/// | route | scope |
/// | --- | --- |
/// | `POST /v1/identify` | pos, ecommerce, service |
/// | `GET /v1/identity/policy` | any |
/// | `PATCH /v1/identity/policy` | admin |
struct IdentityController {
    let services: AppServices
    let authenticator: APIKeyAuthenticator

    func addRoutes(to routes: Routes) {
        let identity = IdentityService(services: services)
        routes.post("identify", scopes: CustomerController.writeScopes) { request, context, caller in
            let body = try await request.decode(IdentifyRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: { (result: IdentifyResult) in result.created ? .created : .ok }) { sql in
                try await identity.identify(on: sql, tenantID: caller.tenantID, policy: caller.identityPolicy, body, actor: actor)
            }
        }
        routes.get("identity/policy", scopes: Set(Scope.allCases)) { _, _, caller in
            try JSONResponse.make(caller.identityPolicy)
        }
        routes.patch("identity/policy", scopes: [.admin]) { request, context, caller in
            let body = try await request.decode(UpdateIdentityPolicyRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            let response = try await services.mutation(context, status: .ok) { sql in
                try await identity.updatePolicy(on: sql, tenantID: caller.tenantID, body, actor: actor)
            }
            // Keys cache their tenant's policy; this process forgets them at once, others within the auth-cache TTL.
            authenticator.invalidate(tenantID: caller.tenantID)
            return response
        }
    }
}
