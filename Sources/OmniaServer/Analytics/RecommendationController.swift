import Foundation
import HTTPTypes
import Hummingbird
import OmniaCore
import SQLKit

/// Product recommendations from online and store history together: item-to-item co-occurrence
/// across every channel's baskets, the customer's own repeat purchases, and popularity for those
/// the model knows little of. The model is rebuilt daily by `AnalyticsWorker` and on demand; until
/// it is first built, every read answers 404 `not_computed` saying how to build it.
///
/// | route | scope |
/// | --- | --- |
/// | `GET /v1/customers/{id}/recommendations?limit=&context=&exclude_categories=` | pos, ecommerce, service, analytics:read |
/// | `GET /v1/products/{sku}/related?limit=&exclude_categories=` | pos, ecommerce, service, analytics:read |
/// | `POST /v1/recommendations/model/rebuild` (rebuilds the tenant's model now) | service |
/// | `GET /v1/recommendations/model` (the last build's report) | service, analytics:read |
///
/// `limit` is 1 to 50 (10 by default); `context` is `cart:SKU1,SKU2` or `product:SKU`, the items
/// the shopper is looking at now; `exclude_categories` is comma-separated category paths, each
/// leaving out itself and everything below it (`women/,kids/`).
struct RecommendationController {
    let services: AppServices
    /// Category paths one request may exclude.
    static let maximumExcludedCategories = 50

    func addRoutes(to routes: Routes) {
        let recommendations = RecommendationService(services: services)
        let models = RecommendationModelStore(services: services)
        routes.get("customers/:id/recommendations", scopes: CustomerController.readScopes) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            let query = request.uri.queryParameters
            var validator = Validator()
            let limit = Self.limit(query["limit"], into: &validator)
            var shopping: RecommendationContext?
            if let text = query["context"] {
                do {
                    shopping = try RecommendationContext(parsing: String(text))
                } catch {
                    validator.fail("context", "invalid_context", (error as? RecommendationContextError)?.detail
                        ?? "context must look like cart:SKU1,SKU2 or product:SKU")
                }
            }
            let excluded = Self.categories(query["exclude_categories"], into: &validator)
            guard validator.isValid else { throw Problem.validation(validator.errors) }
            let found = try await recommendations.recommend(tenantID: caller.tenantID, customerID: id, context: shopping,
                                                            excludedCategories: excluded, limit: limit)
            return try JSONResponse.make(found)
        }
        routes.get("products/:sku/related", scopes: CustomerController.readScopes) { request, context, caller in
            // Path parameters arrive as sent: a SKU with a slash or a space comes percent-encoded.
            let raw = context.parameters.get("sku") ?? ""
            guard case .success(let sku) = FreeText.check(raw.removingPercentEncoding ?? raw, maxLength: 200) else {
                throw Problem.notFound("product")
            }
            let query = request.uri.queryParameters
            var validator = Validator()
            let limit = Self.limit(query["limit"], into: &validator)
            let excluded = Self.categories(query["exclude_categories"], into: &validator)
            guard validator.isValid else { throw Problem.validation(validator.errors) }
            let found = try await recommendations.related(tenantID: caller.tenantID, sku: sku, excludedCategories: excluded, limit: limit)
            return try JSONResponse.make(found)
        }
        routes.post("recommendations/model/rebuild", scopes: [.service]) { _, _, caller in
            guard let report = try await models.rebuild(tenantID: caller.tenantID) else {
                throw Problem(.conflict, code: "run_in_progress", detail: "the tenant's recommendation model is being rebuilt now; read it in a moment",
                              headers: [.retryAfter: "5"])
            }
            return try JSONResponse.make(report)
        }
        routes.get("recommendations/model", scopes: [.service, .analyticsRead]) { _, _, caller in
            let jobs = AnalyticsJobs(services: services)
            guard let stored = try await services.database.read({ sql in
                try await jobs.stored(RecommendationModelReport.self, on: sql, tenantID: caller.tenantID, kind: RecommendationModelStore.kind)
            }) else { throw RecommendationService.notComputed }
            return try JSONResponse.make(RecommendationModelView(report: stored.model, lastError: stored.error))
        }
    }

    /// `limit`: 1 to 50, 10 when absent.
    static func limit(_ text: Substring?, into validator: inout Validator) -> Int {
        guard let text else { return RecommendationService.defaultLimit }
        guard let value = Int(String(text)), (1...RecommendationService.maximumLimit).contains(value) else {
            validator.fail("limit", "invalid_limit", "limit must be an integer from 1 to \(RecommendationService.maximumLimit)")
            return RecommendationService.defaultLimit
        }
        return value
    }

    /// `exclude_categories`: comma-separated category paths (blank entries and repeats ignored).
    static func categories(_ text: Substring?, into validator: inout Validator) -> [String] {
        guard let text else { return [] }
        var categories: [String] = []
        for part in text.split(separator: ",") {
            switch FreeText.check(String(part), maxLength: 200) {
            case .success(let category):
                if !categories.contains(category) { categories.append(category) }
            case .failure(.empty):
                continue
            case .failure:
                validator.fail("exclude_categories", "invalid_category", "each excluded category must be a path of at most 200 characters without control characters")
                return []
            }
        }
        if categories.count > Self.maximumExcludedCategories {
            validator.fail("exclude_categories", "too_many", "exclude_categories may name at most \(Self.maximumExcludedCategories) categories")
            return []
        }
        return categories
    }
}

/// `GET /v1/recommendations/model`: the last good build's report, and why the last attempt failed if it did.
struct RecommendationModelView: Encodable, Sendable {
    let report: RecommendationModelReport
    let lastError: String?

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(lastError, forKey: .lastError)
    }

    enum CodingKeys: String, CodingKey { case lastError }
}
