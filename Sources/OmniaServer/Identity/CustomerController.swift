import Hummingbird
import OmniaCore

/// Customers: the one record every channel's sales, returns and events land on.
///
/// | route | scope |
/// | --- | --- |
/// | `GET /v1/customers` (`?query=` prefix search) | pos, ecommerce, service, analytics:read |
/// | `GET /v1/customers/{id}` (a merged id returns its survivor with `merged_into`) | pos, ecommerce, service, analytics:read |
/// | `GET /v1/customers/{id}/merges` | service, analytics:read |
/// | `POST /v1/customers` | pos, ecommerce, service |
/// | `PATCH /v1/customers/{id}` | pos, ecommerce, service |
/// | `POST /v1/customers/{id}/merge` | service |
/// | `POST /v1/customers/{id}/unmerge` | service |
struct CustomerController {
    let services: AppServices

    static let readScopes: Set<Scope> = [.pos, .ecommerce, .service, .analyticsRead]
    static let writeScopes: Set<Scope> = [.pos, .ecommerce, .service]

    func addRoutes(to routes: Routes) {
        let identity = IdentityService(services: services)
        routes.get("customers", scopes: Self.readScopes) { request, _, caller in
            let page = try PageRequest(request)
            let query = try Self.searchQuery(request)
            let customers = try await services.database.read { sql in
                try await identity.page(on: sql, tenantID: caller.tenantID, query: query, policy: caller.identityPolicy, page: page)
            }
            return try JSONResponse.make(page.page(customers, id: \.id))
        }
        routes.get("customers/:id", scopes: Self.readScopes) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            guard let customer = try await services.database.read({ sql in try await identity.customer(on: sql, tenantID: caller.tenantID, id: id) })
            else { throw Problem.notFound("customer") }
            return try JSONResponse.make(customer)
        }
        routes.get("customers/:id/merges", scopes: [.service, .analyticsRead]) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            let merges = try await services.database.read { sql in
                guard try await CustomerStore(tenantID: caller.tenantID).row(on: sql, id: id) != nil else { throw Problem.notFound("customer") }
                return try await identity.merges(on: sql, tenantID: caller.tenantID, id: id)
            }
            return try JSONResponse.make(["data": merges])
        }
        routes.post("customers", scopes: Self.writeScopes) { request, context, caller in
            let body = try await request.decode(CreateCustomerRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in
                try await identity.create(on: sql, tenantID: caller.tenantID, policy: caller.identityPolicy, body, actor: actor)
            }
        }
        routes.patch("customers/:id", scopes: Self.writeScopes) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            let body = try await request.decode(UpdateCustomerRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in
                try await identity.update(on: sql, tenantID: caller.tenantID, policy: caller.identityPolicy, id: id, body, actor: actor)
            }
        }
        routes.post("customers/:id/merge", scopes: [.service]) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            let body = try await request.decode(MergeCustomersRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in
                try await identity.mergeManually(on: sql, tenantID: caller.tenantID, id: id, body, actor: actor)
            }
        }
        routes.post("customers/:id/unmerge", scopes: [.service]) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            _ = try await request.decode(UnmergeCustomerRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in
                try await identity.unmerge(on: sql, tenantID: caller.tenantID, id: id, actor: actor)
            }
        }
    }

    /// `?query=`: 1–100 characters of text, trimmed.
    static func searchQuery(_ request: Request) throws -> String? {
        guard let raw = request.uri.queryParameters["query"] else { return nil }
        var validator = Validator()
        guard let query = validator.text(String(raw), field: "query", maxLength: 100) else { throw Problem.validation(validator.errors) }
        return query
    }
}
