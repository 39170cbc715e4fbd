import Hummingbird
import OmniaCore

/// Stores and warehouses.
///
/// | route | scope |
/// | --- | --- |
/// | `GET /v1/locations` | any |
/// | `GET /v1/locations/{id}` | any |
/// | `POST /v1/locations` | admin |
struct LocationController {
    let services: AppServices

    func addRoutes(to routes: Routes) {
        routes.listAndFetch(Location.self, path: "locations", table: "locations", prefix: .location, what: "location", scopes: Set(Scope.allCases),
                             database: services.database, id: \.id)
        routes.post("locations", scopes: [.admin]) { request, context, caller in
            let body = try await request.decode(CreateLocationRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in
                try await services.platform.createLocation(on: sql, tenantID: caller.tenantID, tenantTimeZone: caller.tenantTimeZone, body, actor: actor)
            }
        }
    }
}
