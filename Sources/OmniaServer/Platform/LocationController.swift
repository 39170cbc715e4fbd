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
        routes.get("locations", scopes: Set(Scope.allCases)) { request, _, caller in
            let page = try PageRequest(request)
            let rows = try await services.database.page(Location.self, from: "locations", tenantID: caller.tenantID, page: page)
            return try JSONResponse.make(page.page(rows, id: \.id))
        }
        routes.get("locations/:id", scopes: Set(Scope.allCases)) { request, context, caller in
            let id = try request.id("id", .location, context: context, what: "location")
            guard let row = try await services.database.fetch(Location.self, from: "locations", tenantID: caller.tenantID, id: id) else {
                throw Problem.notFound("location")
            }
            return try JSONResponse.make(row)
        }
        routes.post("locations", scopes: [.admin]) { request, context, caller in
            let body = try await request.decode(CreateLocationRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in
                try await services.platform.createLocation(on: sql, tenantID: caller.tenantID, tenantTimeZone: caller.tenantTimeZone, body, actor: actor)
            }
        }
    }
}
