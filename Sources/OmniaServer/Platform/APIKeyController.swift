import Hummingbird
import OmniaCore

/// API keys of the caller's tenant. The secret is returned once, at creation.
///
/// | route | scope |
/// | --- | --- |
/// | `GET /v1/api_keys` | admin |
/// | `GET /v1/api_keys/{id}` | admin |
/// | `POST /v1/api_keys` | admin |
/// | `DELETE /v1/api_keys/{id}` | admin (revokes) |
struct APIKeyController {
    let services: AppServices
    let authenticator: APIKeyAuthenticator

    func addRoutes(to routes: Routes) {
        routes.listAndFetch(APIKey.self, path: "api_keys", table: "api_keys", prefix: .apiKey, what: "API key", scopes: [.admin],
                             database: services.database, id: \.id)
        routes.post("api_keys", scopes: [.admin]) { request, context, caller in
            let body = try await request.decode(CreateAPIKeyRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in
                try await services.platform.createAPIKey(on: sql, tenantID: caller.tenantID, body, actor: actor)
            }
        }
        routes.delete("api_keys/:id", scopes: [.admin]) { request, context, caller in
            let id = try request.id("id", .apiKey, context: context, what: "API key")
            // Rotation is: create the new key, then revoke the old one with it — never lock yourself out.
            guard id != caller.keyID else { throw PlatformError.cannotRevokeOwnKey }
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            let response = try await services.mutation(context, status: .ok) { sql in
                try await services.platform.revokeAPIKey(on: sql, tenantID: caller.tenantID, keyID: id, actor: actor)
            }
            authenticator.invalidate(keyID: id)
            return response
        }
    }
}
