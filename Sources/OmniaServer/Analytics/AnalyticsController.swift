import Foundation
import HTTPTypes
import Hummingbird
import OmniaCore
import SQLKit

/// RFM and customer lifetime value: computed daily by `AnalyticsWorker` and on demand.
///
/// | route | scope |
/// | --- | --- |
/// | `POST /v1/analytics/rfm/runs` (scores every customer now) | service |
/// | `GET /v1/analytics/rfm` (the last scoring: quintiles and groups) | service, analytics:read |
/// | `POST /v1/analytics/clv/runs` (fits the models and scores every customer now) | service |
/// | `GET /v1/analytics/clv` (the models, their fit, the distribution of value) | service, analytics:read |
/// | `GET /v1/customers/{id}/predictions?horizon_days=&annual_discount_rate=` | pos, ecommerce, service, analytics:read |
struct AnalyticsController {
    let services: AppServices

    func addRoutes(to routes: Routes) {
        let readers: Set<Scope> = [.service, .analyticsRead]
        let jobs = AnalyticsJobs(services: services)
        routes.post("analytics/rfm/runs", scopes: [.service]) { _, _, caller in
            guard let report = try await RFMService(services: services).run(tenantID: caller.tenantID) else { throw Self.busy("RFM scores") }
            return try JSONResponse.make(report)
        }
        routes.get("analytics/rfm", scopes: readers) { _, _, caller in
            guard let stored = try await services.database.read({ sql in
                try await jobs.stored(RFMReport.self, on: sql, tenantID: caller.tenantID, kind: RFMService.kind)
            }) else { throw Self.notComputed("RFM scores", run: "POST /v1/analytics/rfm/runs") }
            return try JSONResponse.make(stored.model)
        }
        routes.post("analytics/clv/runs", scopes: [.service]) { request, _, caller in
            let body = try await request.decode(LifetimeValueRunRequest.self, maxBytes: services.config.maxBodyBytes)
            guard let report = try await LifetimeValueService(services: services).run(tenantID: caller.tenantID, body) else {
                throw Self.busy("lifetime value models")
            }
            return try JSONResponse.make(report)
        }
        routes.get("analytics/clv", scopes: readers) { _, _, caller in
            let (stored, error) = try await services.database.read { sql in
                (try await jobs.stored(LifetimeValueReport.self, on: sql, tenantID: caller.tenantID, kind: LifetimeValueService.kind),
                 try await jobs.lastError(on: sql, tenantID: caller.tenantID, kind: LifetimeValueService.kind))
            }
            guard let stored else { throw Self.notComputed("lifetime value models", run: "POST /v1/analytics/clv/runs", lastError: error) }
            return try JSONResponse.make(LifetimeValueView(report: stored.model, lastError: stored.error))
        }
        routes.get("customers/:id/predictions", scopes: CustomerController.readScopes) { request, context, caller in
            let id = try request.id("id", .customer, context: context, what: "customer")
            let query = request.uri.queryParameters
            var validator = Validator()
            var horizonDays: Int?
            if let text = query["horizon_days"] {
                horizonDays = Int(String(text))
                if horizonDays.map(LifetimeValueService.horizonRange.contains) != true {
                    validator.fail("horizon_days", "out_of_range", "horizon_days must be an integer from 30 to 1825")
                }
            }
            var rate: Double?
            if let text = query["annual_discount_rate"] {
                rate = Double(String(text))
                if rate.map({ $0.isFinite && (0...1).contains($0) }) != true {
                    validator.fail("annual_discount_rate", "out_of_range", "annual_discount_rate must be a number from 0 to 1")
                }
            }
            guard validator.isValid else { throw Problem.validation(validator.errors) }
            let prediction = try await services.database.read { [horizonDays, rate] sql in
                guard let root = try await CustomerStore(tenantID: caller.tenantID).resolvedRow(on: sql, id: id) else { throw Problem.notFound("customer") }
                guard let stored = try await jobs.stored(LifetimeValueReport.self, on: sql, tenantID: caller.tenantID, kind: LifetimeValueService.kind) else {
                    throw Self.notComputed("lifetime value models", run: "POST /v1/analytics/clv/runs")
                }
                return try await CustomerPrediction.read(on: sql, tenantID: caller.tenantID, customerID: root.id, report: stored.model,
                                                         horizonDays: horizonDays, annualDiscountRate: rate)
            }
            return try JSONResponse.make(prediction)
        }
    }

    static func busy(_ what: String) -> Problem {
        Problem(.conflict, code: "run_in_progress", detail: "the tenant's \(what) are being computed now; read them in a moment", headers: [.retryAfter: "5"])
    }

    static func notComputed(_ what: String, run: String, lastError: String? = nil) -> Problem {
        Problem(.notFound, code: "not_computed", detail: "the tenant's \(what) have not been computed yet; they are daily, or now with \(run)"
                + (lastError.map { ". The last attempt failed: \($0)" } ?? ""))
    }
}

/// `GET /v1/analytics/clv`: the last good models, and why the last attempt failed if it did.
struct LifetimeValueView: Encodable, Sendable {
    let report: LifetimeValueReport
    let lastError: String?

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(lastError, forKey: .lastError)
    }

    enum CodingKeys: String, CodingKey { case lastError }
}

/// `GET /v1/customers/{id}/predictions`: what the lifetime-value models expect of a customer, and their RFM scores.
struct CustomerPrediction: Encodable, Sendable {
    struct RFM: Encodable, Sendable {
        let recencyDays: Int
        let frequency: Int64
        let monetary: Int64
        let recencyScore: Int
        let frequencyScore: Int
        let monetaryScore: Int
        let cell: String
        let group: String
    }

    let customerId: String
    let modelFittedAt: StoredTime
    let currency: String
    let horizonDays: Int
    let annualDiscountRate: Double
    /// False for a customer with no purchase at the last fit: the models describe customers from their first purchase.
    let predicted: Bool
    let repeatPurchases: Int?
    let expectedPurchases: Double?
    let probabilityAlive: Double?
    let expectedOrderValue: Int64?
    let clv: Int64?
    let rfm: RFM?

    static func read(on sql: any SQLDatabase, tenantID: String, customerID: String, report: LifetimeValueReport, horizonDays: Int?,
                     annualDiscountRate: Double?) async throws -> CustomerPrediction {
        let horizon = horizonDays ?? report.horizonDays
        let rate = annualDiscountRate ?? report.annualDiscountRate
        let rfm = try await sql.raw("SELECT * FROM customer_rfm WHERE tenant_id = \(bind: tenantID) AND customer_id = \(bind: customerID)").first().map { row in
            RFM(recencyDays: try row.decode(column: "recency_days", as: Int.self), frequency: try row.decode(column: "frequency", as: Int64.self),
                monetary: try row.decode(column: "monetary", as: Int64.self), recencyScore: try row.decode(column: "recency_score", as: Int.self),
                frequencyScore: try row.decode(column: "frequency_score", as: Int.self), monetaryScore: try row.decode(column: "monetary_score", as: Int.self),
                cell: try row.decode(column: "cell", as: String.self), group: try row.decode(column: "rfm_group", as: String.self))
        }
        guard let row = try await sql.raw("""
            SELECT * FROM customer_predictions WHERE tenant_id = \(bind: tenantID) AND customer_id = \(bind: customerID)
            """).first() else {
            return CustomerPrediction(customerId: customerID, modelFittedAt: report.fittedAt, currency: report.currency, horizonDays: horizon,
                                      annualDiscountRate: rate, predicted: false, repeatPurchases: nil, expectedPurchases: nil, probabilityAlive: nil,
                                      expectedOrderValue: nil, clv: nil, rfm: rfm)
        }
        var expected = try row.decode(column: "expected_purchases", as: Double.self)
        var clv = try row.decode(column: "clv", as: Int64.self)
        let orderValue = try row.decode(column: "expected_order_value", as: Int64.self)
        // Another horizon or rate than the stored run's: predicted again from the stored summary, with no history read.
        if horizon != report.horizonDays || rate != report.annualDiscountRate {
            do {
                let summary = try PurchaseSummary(repeatPurchases: try row.decode(column: "repeat_purchases", as: Int.self),
                                                  recency: try row.decode(column: "recency_weeks", as: Double.self),
                                                  age: try row.decode(column: "age_weeks", as: Double.self),
                                                  meanRepeatValue: try row.decode(column: "mean_repeat_value", as: Double.self))
                let model = try BGNBDModel(r: report.purchaseModel.r, alpha: report.purchaseModel.alpha, a: report.purchaseModel.a, b: report.purchaseModel.b)
                expected = try model.expectedPurchases(in: Double(horizon) / Double(LifetimeValueService.periodDays), given: summary)
                clv = Int64(try LifetimeValue.value(of: summary, purchases: model, orderValue: Double(orderValue),
                                                    horizon: LifetimeValueService.horizon(days: horizon, annualDiscountRate: rate)).rounded())
            } catch let error as LifetimeValueError {
                throw LifetimeValueService.problem(error)
            }
        }
        return CustomerPrediction(
            customerId: customerID, modelFittedAt: report.fittedAt, currency: report.currency, horizonDays: horizon, annualDiscountRate: rate,
            predicted: true, repeatPurchases: try row.decode(column: "repeat_purchases", as: Int.self), expectedPurchases: (expected * 10_000).rounded() / 10_000,
            probabilityAlive: (try row.decode(column: "probability_alive", as: Double.self) * 10_000).rounded() / 10_000, expectedOrderValue: orderValue,
            clv: clv, rfm: rfm)
    }
}
