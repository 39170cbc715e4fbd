import Hummingbird
import OmniaCore

/// Loyalty programmes, and a customer's points.
///
/// | route | scope |
/// | --- | --- |
/// | `POST /v1/loyalty_programmes` | service |
/// | `GET /v1/loyalty_programmes` | pos, ecommerce, service, analytics:read |
/// | `GET /v1/loyalty_programmes/{id}` | pos, ecommerce, service, analytics:read |
/// | `PATCH /v1/loyalty_programmes/{id}` | service |
/// | `GET /v1/customers/{id}/loyalty` | pos, ecommerce, service, analytics:read |
/// | `POST /v1/customers/{id}/loyalty/adjustments` | service |
struct LoyaltyController {
    let services: AppServices

    func addRoutes(to routes: Routes) {
        let programmes = LoyaltyProgrammeService(services: services)
        let loyalty = LoyaltyService(services: services)
        routes.post("loyalty_programmes", scopes: [.service]) { request, context, caller in
            let body = try await request.decode(LoyaltyProgrammeRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in try await programmes.create(on: sql, caller: caller, body, actor: actor) }
        }
        routes.get("loyalty_programmes", scopes: CustomerController.readScopes) { request, _, caller in
            let page = try PageRequest(request)
            let found = try await services.database.read { sql in try await programmes.page(on: sql, tenantID: caller.tenantID, page: page) }
            return try JSONResponse.make(page.page(found.map(LoyaltyProgramme.init), id: \.id))
        }
        routes.get("loyalty_programmes/:id", scopes: CustomerController.readScopes) { request, context, caller in
            let id = try request.id("id", .loyaltyProgramme, context: context, what: "loyalty programme")
            let programme = try await services.database.read { sql in try await programmes.programme(on: sql, tenantID: caller.tenantID, id: id) }
            guard let programme else { throw Problem.notFound("loyalty programme") }
            return try JSONResponse.make(LoyaltyProgramme(programme))
        }
        routes.patch("loyalty_programmes/:id", scopes: [.service]) { request, context, caller in
            let id = try request.id("id", .loyaltyProgramme, context: context, what: "loyalty programme")
            let body = try await request.decode(LoyaltyProgrammeRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in
                try await programmes.update(on: sql, tenantID: caller.tenantID, id: id, body, actor: actor)
            }
        }
        routes.get("customers/:id/loyalty", scopes: CustomerController.readScopes) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            let memberships = try await services.database.read { sql in
                guard let customer = try await CustomerStore(tenantID: caller.tenantID).resolvedRow(on: sql, id: id) else {
                    throw Problem.notFound("customer")
                }
                return try await loyalty.memberships(on: sql, tenantID: caller.tenantID, customerID: customer.id)
            }
            return try JSONResponse.make(["data": memberships])
        }
        routes.post("customers/:id/loyalty/adjustments", scopes: [.service]) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            let body = try await request.decode(LoyaltyAdjustmentRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in try await loyalty.adjust(on: sql, caller: caller, customerID: id, body, actor: actor) }
        }
    }
}
