import Hummingbird
import OmniaCore
import SQLKit

/// Live profiles and the tenant's computed profile attributes.
///
/// | route | scope |
/// | --- | --- |
/// | `GET /v1/customers/{id}/profile` | pos, ecommerce, service, analytics:read |
/// | `POST /v1/profile_attributes`, `PATCH /v1/profile_attributes/{code}` | service |
/// | `GET /v1/profile_attributes`, `GET /v1/profile_attributes/{code}` | service, analytics:read |
struct ProfileController {
    let services: AppServices

    func addRoutes(to routes: Routes) {
        let readers: Set<Scope> = [.service, .analyticsRead]
        let attributes = ProfileAttributes()
        routes.get("customers/:id/profile", scopes: CustomerController.readScopes) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            let day = LocalClock.day(at: services.nowMilliseconds, timeZone: caller.tenantTimeZone).day
            let profile = try await services.database.read { sql in
                guard let root = try await CustomerStore(tenantID: caller.tenantID).resolvedRow(on: sql, id: id),
                    var profile = try await LiveProfiles(caller: caller).profile(of: root.id, on: sql)
                else { throw Problem.notFound("customer") }
                try await ProfileAttributes.load(on: sql, tenantID: caller.tenantID).apply(to: &profile, on: day)
                return profile
            }
            return try JSONResponse.make(LiveProfileView(profile, on: day))
        }
        routes.post("profile_attributes", scopes: [.service]) { request, context, caller in
            let body = try await request.decode(ProfileAttributeRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in
                let created = try await attributes.create(on: sql, tenantID: caller.tenantID, body, now: services.nowMilliseconds)
                try await recorded(created, event: "profile_attribute.created", on: sql, tenantID: caller.tenantID, actor: actor)
                return created
            }
        }
        routes.get("profile_attributes", scopes: readers) { _, _, caller in
            let all = try await services.database.read { sql in try await ProfileAttributes.load(on: sql, tenantID: caller.tenantID).definitions }
            return try JSONResponse.make(Page(data: all, hasMore: false, nextCursor: nil))
        }
        routes.get("profile_attributes/:code", scopes: readers) { _, context, caller in
            let code = context.parameters.get("code") ?? ""
            let found = try await services.database.read { sql in
                try await sql.raw("SELECT * FROM profile_attributes WHERE tenant_id = \(bind: caller.tenantID) AND code = \(bind: code)").row(ProfileAttribute.self)
            }
            guard let found else { throw Problem.notFound("profile attribute") }
            return try JSONResponse.make(found)
        }
        routes.patch("profile_attributes/:code", scopes: [.service]) { request, context, caller in
            let code = context.parameters.get("code") ?? ""
            let body = try await request.decode(ProfileAttributeRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in
                let updated = try await attributes.update(on: sql, tenantID: caller.tenantID, code: code, body, now: services.nowMilliseconds)
                try await recorded(updated, event: "profile_attribute.updated", on: sql, tenantID: caller.tenantID, actor: actor)
                return updated
            }
        }
    }

    private func recorded(_ attribute: ProfileAttribute, event: String, on sql: any SQLDatabase, tenantID: String, actor: Actor) async throws {
        try await services.events.append(on: sql, tenantID: tenantID, type: event, data: attribute, requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: tenantID, actor: actor.id, action: event, targetType: "profile_attribute",
                                        targetID: attribute.code, details: ["rule": .string(attribute.rule)], requestID: actor.requestID)
    }
}
