import Hummingbird
import OmniaCore

/// Promotions, created by marketers and evaluated by every channel.
///
/// | route | scope |
/// | --- | --- |
/// | `POST /v1/promotions` | service |
/// | `GET /v1/promotions?status=` | pos, ecommerce, service, analytics:read |
/// | `GET /v1/promotions/{id}` | pos, ecommerce, service, analytics:read |
/// | `GET /v1/promotions/{id}/versions/{version}` | pos, ecommerce, service, analytics:read |
/// | `PATCH /v1/promotions/{id}` | service |
/// | `POST /v1/checkout/evaluate` (writes nothing) | pos, ecommerce, service |
/// | `POST /v1/checkout/commit` (201 committed, 200 a retry of the same external id) | pos, ecommerce, service |
/// | `POST /v1/promotions/{id}/simulate` (writes nothing) | service |
/// | `GET /v1/promotions/{id}/report?from=&to=` | service, analytics:read |
struct PromotionController {
    let services: AppServices

    func addRoutes(to routes: Routes) {
        let promotions = PromotionService(services: services)
        routes.post("promotions", scopes: [.service]) { request, context, caller in
            let body = try await request.decode(PromotionRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context) { sql in try await promotions.create(on: sql, caller: caller, body, actor: actor) }
        }
        routes.get("promotions", scopes: CustomerController.readScopes) { request, _, caller in
            let page = try PageRequest(request)
            let status = request.uri.queryParameters["status"].map(String.init)
            if let status, !PromotionTerms.statuses.contains(status) {
                throw Problem.validation([FieldError(field: "status", code: "invalid_enum", detail: "status must be one of: \(PromotionTerms.statuses.joined(separator: ", "))")])
            }
            let found = try await services.database.read { sql in try await promotions.page(on: sql, tenantID: caller.tenantID, status: status, page: page) }
            return try JSONResponse.make(page.page(found.map { $0.view() }, id: \.id))
        }
        routes.get("promotions/:id", scopes: CustomerController.readScopes) { request, context, caller in
            let id = try request.id("id", .promotion, context: context, what: "promotion")
            let promotion = try await services.database.read { sql in try await promotions.promotion(on: sql, tenantID: caller.tenantID, id: id) }
            guard let promotion else { throw Problem.notFound("promotion") }
            return try JSONResponse.make(promotion.view())
        }
        routes.get("promotions/:id/versions/:version", scopes: CustomerController.readScopes) { request, context, caller in
            let id = try request.id("id", .promotion, context: context, what: "promotion")
            guard let version = context.parameters.get("version").flatMap(Int.init), version >= 1 else { throw Problem.notFound("promotion version") }
            let terms = try await services.database.read { sql in try await promotions.version(on: sql, tenantID: caller.tenantID, id: id, version: version) }
            guard let terms else { throw Problem.notFound("promotion version") }
            return try JSONResponse.make(PromotionVersionView(promotionId: id, version: version, terms: terms))
        }
        routes.patch("promotions/:id", scopes: [.service]) { request, context, caller in
            let id = try request.id("id", .promotion, context: context, what: "promotion")
            let body = try await request.decode(PromotionRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            return try await services.mutation(context, status: .ok) { sql in try await promotions.update(on: sql, caller: caller, id: id, body, actor: actor) }
        }
        let evaluation = CheckoutEvaluationService(services: services)
        routes.post("checkout/evaluate", scopes: CustomerController.writeScopes) { request, context, caller in
            let body = try await request.decode(EvaluateCheckoutRequest.self, maxBytes: services.config.maxBodyBytes)
            let result = try await services.database.read { sql in
                try await evaluation.evaluate(on: sql, caller: caller, body, client: context.clientAddress)
            }
            return try JSONResponse.make(result)
        }
        let simulations = PromotionSimulationService(services: services)
        routes.post("promotions/:id/simulate", scopes: [.service]) { request, context, caller in
            let id = try request.id("id", .promotion, context: context, what: "promotion")
            let body = try await request.decode(SimulatePromotionRequest.self, maxBytes: services.config.maxBodyBytes)
            let simulation = try await services.database.read { sql in try await simulations.simulate(on: sql, caller: caller, id: id, body) }
            return try JSONResponse.make(simulation)
        }
        let reports = PromotionReportService(services: services)
        routes.get("promotions/:id/report", scopes: [.service, .analyticsRead]) { request, context, caller in
            let id = try request.id("id", .promotion, context: context, what: "promotion")
            let (from, to) = try reports.range(request)
            let report = try await services.database.read { sql in try await reports.report(on: sql, tenantID: caller.tenantID, id: id, from: from, to: to) }
            return try JSONResponse.make(report)
        }
        let commits = CheckoutCommitService(services: services)
        routes.post("checkout/commit", scopes: CustomerController.writeScopes) { request, context, caller in
            let body = try await request.decode(CommitCheckoutRequest.self, maxBytes: services.config.maxBodyBytes)
            let actor = Actor(id: caller.keyID, requestID: context.requestID)
            // Evaluated before the write transaction; the budgets are taken, conditionally, inside it.
            // A budget spent by another commit since it was read fails the transaction: evaluated again
            // on the budget as it is then, the commit is refused for it or goes without it.
            var attempt = 0
            while true {
                attempt += 1
                let prepared = try await services.database.read { sql in
                    try await commits.prepare(on: sql, caller: caller, body, client: context.clientAddress)
                }
                do {
                    return try await services.mutation(context, status: { $0.created ? .created : .ok }) { sql in
                        try await commits.commit(on: sql, caller: caller, prepared, actor: actor)
                    }
                } catch is LedgerAccountsChanged where attempt < 3 {
                    continue
                } catch is LedgerAccountsChanged {
                    throw Problem(.conflict, code: "promotion_budget_exhausted", detail: "a promotion's budget ran out while committing; evaluate the cart again")
                }
            }
        }
    }
}

/// `GET /v1/promotions/{id}/versions/{version}`: the terms a sale that used that version saw.
struct PromotionVersionView: Codable, Sendable {
    let promotionId: String
    let version: Int
    let terms: PromotionTerms
}
