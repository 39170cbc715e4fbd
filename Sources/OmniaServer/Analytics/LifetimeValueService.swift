import Foundation
import HTTPTypes
import OmniaCore
import SQLKit

/// `POST /v1/analytics/clv/runs`: the horizon and discount rate predictions are stored for, and an
/// optional holdout to check the model against.
struct LifetimeValueRunRequest: RequestBody {
    /// Days predicted ahead (30 to 1,825; 365 by default).
    var horizonDays: Int?
    /// Yearly discount rate of future value, 0 to 1 (0.1 by default).
    var annualDiscountRate: Double?
    /// Days at the end of the history held out: a second fit on what came before forecasts them,
    /// and the forecast is compared with what happened (0, the default, skips the check).
    var holdoutDays: Int?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable { case horizonDays, annualDiscountRate, holdoutDays }
}

/// The stored result of a lifetime-value run: the two models, how well they fit, and what they predict.
struct LifetimeValueReport: Codable, Sendable {
    struct PurchaseModel: Codable, Sendable { let r: Double, alpha: Double, a: Double, b: Double }
    struct SpendModel: Codable, Sendable { let p: Double, q: Double, gamma: Double }
    struct Fit: Codable, Sendable {
        let logLikelihood: Double
        let iterations: Int
        let converged: Bool
        let customers: Int
    }
    struct Holdout: Codable, Sendable {
        let calibrationEnd: String
        let days: Int
        let customers: Int
        let predictedPurchases: Double
        let actualPurchases: Int
        /// Mean of |predicted − actual| purchases per customer.
        let meanAbsoluteError: Double
    }
    struct Distribution: Codable, Sendable {
        let customers: Int
        /// Sum of every customer's lifetime value, minor units.
        let total: Int64
        let mean: Int64
        /// Lifetime value at the 10th, 25th, 50th, 75th, 90th and 99th percentiles.
        let percentiles: [String: Int64]
        /// Customers by probability of being alive: [0, 0.25), [0.25, 0.5), [0.5, 0.75), [0.75, 1].
        let probabilityAlive: [String: Int]
    }

    var fittedAt: StoredTime
    let currency: String
    /// Model time is in weeks, as in Fader, Hardie & Lee.
    let periodDays: Int
    let horizonDays: Int
    let annualDiscountRate: Double
    let purchaseModel: PurchaseModel
    let spendModel: SpendModel
    let purchaseFit: Fit
    let spendFit: Fit
    let holdout: Holdout?
    let distribution: Distribution
}

/// Customer lifetime value: BG/NBD (how often, and whether still active) and Gamma-Gamma (how
/// much per order) fitted by maximum likelihood on the tenant's own sales, each customer's
/// predictions stored (`customer_predictions`, read by segments as `customer.clv`). A fit that
/// fails — too little history, a search that does not converge — is reported and the previous
/// model kept.
struct LifetimeValueService: Sendable {
    let services: AppServices
    static let kind = "clv"
    static let periodDays = 7
    static let horizonRange = 30...1_825

    /// The horizon, in monthly steps, in model weeks.
    static func horizon(days: Int, annualDiscountRate: Double) throws(LifetimeValueError) -> LifetimeValueHorizon {
        let periods = max(1, Int((Double(days) / 30.4375).rounded()))
        let periodDays = Double(days) / Double(periods)
        return try LifetimeValueHorizon(periods: periods, periodLength: periodDays / Double(Self.periodDays), annualDiscountRate: annualDiscountRate,
                                        periodsPerYear: 365.25 / periodDays)
    }

    /// Fits and scores now; nil when another server is doing it.
    func run(tenantID: String, _ request: LifetimeValueRunRequest) async throws -> LifetimeValueReport? {
        var validator = Validator()
        let horizonDays = request.horizonDays ?? 365
        if !Self.horizonRange.contains(horizonDays) { validator.fail("horizon_days", "out_of_range", "horizon_days must be 30 to 1825") }
        let rate = request.annualDiscountRate ?? 0.1
        if !(rate.isFinite && (0...1).contains(rate)) { validator.fail("annual_discount_rate", "out_of_range", "annual_discount_rate must be 0 to 1") }
        let holdoutDays = request.holdoutDays ?? 0
        if !(0...730).contains(holdoutDays) { validator.fail("holdout_days", "out_of_range", "holdout_days must be 0 to 730") }
        guard validator.isValid else { throw Problem.validation(validator.errors) }

        let jobs = AnalyticsJobs(services: services)
        guard let token = try await jobs.claim(tenantID: tenantID, kind: Self.kind) else { return nil }
        do {
            let report = try await fitAndScore(tenantID: tenantID, horizonDays: horizonDays, rate: rate, holdoutDays: holdoutDays, token: token)
            return report
        } catch {
            try? await services.database.transaction { sql in
                try await jobs.finish(on: sql, tenantID: tenantID, kind: Self.kind, token: token, model: nil,
                                      error: (error as? LifetimeValueError)?.description ?? String(describing: error))
            }
            if let error = error as? LifetimeValueError { throw Self.problem(error) }
            throw error
        }
    }

    static func problem(_ error: LifetimeValueError) -> Problem {
        Problem(.unprocessableContent, code: error.code, detail: "\(error.description); the previous model, if any, is kept")
    }

    private func fitAndScore(tenantID: String, horizonDays: Int, rate: Double, holdoutDays: Int, token: String) async throws -> LifetimeValueReport {
        guard let tenant = try await services.platform.fetchTenant(tenantID) else { throw Problem.notFound("tenant") }
        let now = services.nowMilliseconds
        let offset = LocalClock.utcOffsetSeconds(at: now, timeZone: tenant.timezone)
        let today = PurchaseSummary.day(epochMilliseconds: now, utcOffsetSeconds: offset)
        let histories = try await services.database.read { sql in
            try await Self.purchaseDays(on: sql, tenantID: tenantID, currency: tenant.defaultCurrency, utcOffsetSeconds: offset)
        }
        // Customers whose first purchase is after today (a clock behind the data) have no summary yet: ids and summaries stay paired.
        var ids: [String] = []
        var summaries: [PurchaseSummary] = []
        for id in histories.keys.sorted() {
            guard let history = histories[id], let summary = try PurchaseSummary.summarize(history, calibrationEnd: today, periodDays: Self.periodDays)
            else { continue }
            ids.append(id)
            summaries.append(summary)
        }
        // The holdout check first: it fails soonest when the history is too short for it.
        let holdout = holdoutDays > 0 ? try Self.holdoutCheck(histories, ids: ids, today: today, days: holdoutDays) : nil
        let purchases = try BGNBDModel.fit(summaries)
        let spend = try GammaGammaModel.fit(summaries)
        let horizon = try Self.horizon(days: horizonDays, annualDiscountRate: rate)
        let weeks = Double(horizonDays) / Double(Self.periodDays)
        let populationValue = try spend.model.populationMeanValue()

        var rows: [(id: String, summary: PurchaseSummary, expected: Double, alive: Double, orderValue: Int64, clv: Int64)] = []
        rows.reserveCapacity(summaries.count)
        for (id, summary) in zip(ids, summaries) {
            let expected = try purchases.model.expectedPurchases(in: weeks, given: summary)
            // A customer without repeat purchases has no spend of their own to go by: the population's mean order.
            let orderValue = summary.repeatPurchases > 0 ? try spend.model.expectedOrderValue(given: summary) : populationValue
            let clv = try LifetimeValue.value(of: summary, purchases: purchases.model, orderValue: orderValue, horizon: horizon)
            rows.append((id, summary, expected, purchases.model.probabilityAlive(given: summary), Int64(orderValue.rounded()), Int64(clv.rounded())))
        }

        let values = rows.map(\.clv).sorted()
        func percentile(_ p: Double) -> Int64 { values.isEmpty ? 0 : values[min(values.count - 1, Int(Double(values.count - 1) * p))] }
        var alive = ["0-0.25": 0, "0.25-0.5": 0, "0.5-0.75": 0, "0.75-1": 0]
        for row in rows {
            let bucket = row.alive < 0.25 ? "0-0.25" : row.alive < 0.5 ? "0.25-0.5" : row.alive < 0.75 ? "0.5-0.75" : "0.75-1"
            alive[bucket, default: 0] += 1
        }
        let total = values.reduce(0, +)
        func fit<M>(_ fit: ModelFit<M>) -> LifetimeValueReport.Fit {
            .init(logLikelihood: (fit.logLikelihood * 1_000).rounded() / 1_000, iterations: fit.iterations, converged: fit.converged, customers: fit.customers)
        }
        let report = LifetimeValueReport(
            fittedAt: StoredTime(milliseconds: now), currency: tenant.defaultCurrency, periodDays: Self.periodDays, horizonDays: horizonDays,
            annualDiscountRate: rate,
            purchaseModel: .init(r: purchases.model.r, alpha: purchases.model.alpha, a: purchases.model.a, b: purchases.model.b),
            spendModel: .init(p: spend.model.p, q: spend.model.q, gamma: spend.model.gamma), purchaseFit: fit(purchases), spendFit: fit(spend),
            holdout: holdout,
            distribution: .init(customers: rows.count, total: total, mean: rows.isEmpty ? 0 : total / Int64(rows.count),
                                percentiles: ["p10": percentile(0.1), "p25": percentile(0.25), "p50": percentile(0.5), "p75": percentile(0.75),
                                              "p90": percentile(0.9), "p99": percentile(0.99)],
                                probabilityAlive: alive))

        let scored = rows
        try await services.database.transaction { sql in
            try await sql.raw("DELETE FROM customer_predictions WHERE tenant_id = \(bind: tenantID)").run()
            for batch in scored.chunks(of: 200) {
                try await sql.insertRows(into: "customer_predictions", columns: [
                    "tenant_id", "customer_id", "repeat_purchases", "recency_weeks", "age_weeks", "mean_repeat_value", "expected_purchases",
                    "probability_alive", "expected_order_value", "clv",
                ], Array(batch)) { row, values in
                    values.add(tenantID)
                    values.add(row.id)
                    values.add(row.summary.repeatPurchases)
                    values.add(row.summary.recency)
                    values.add(row.summary.age)
                    values.add(row.summary.meanRepeatValue)
                    values.add(row.expected)
                    values.add(row.alive)
                    values.add(row.orderValue)
                    values.add(row.clv)
                }
            }
            try await AnalyticsJobs(services: services).finish(on: sql, tenantID: tenantID, kind: Self.kind, token: token,
                                                               model: try JSONCoding.text(report), error: nil)
        }
        return report
    }

    /// Each customer's (canonical) purchases by local day, the day's sales summed, in the tenant's currency.
    /// Days are the tenant's local days at its current offset from UTC: a day of summer time shifts an hour, which a week's model never sees.
    static func purchaseDays(on sql: any SQLDatabase, tenantID: String, currency: String,
                             utcOffsetSeconds: Int) async throws -> [String: [PurchaseSummary.Purchase]] {
        var canonical: [String: String] = [:]
        for row in try await sql.raw("SELECT id, canonical_id FROM customers WHERE tenant_id = \(bind: tenantID) AND id <> canonical_id").all() {
            canonical[try row.decode(column: "id", as: String.self)] = try row.decode(column: "canonical_id", as: String.self)
        }
        let offset = Int64(utcOffsetSeconds) * 1_000
        var histories: [String: [PurchaseSummary.Purchase]] = [:]
        for row in try await sql.raw("""
            SELECT customer_id, (occurred_at + \(literal: offset)) / 86400000 AS day, CAST(SUM(total) AS BIGINT) AS value
            FROM transactions WHERE tenant_id = \(bind: tenantID) AND kind = 'sale' AND customer_id IS NOT NULL AND currency = \(bind: currency)
            GROUP BY customer_id, (occurred_at + \(literal: offset)) / 86400000
            """).all() {
            let id = try row.decode(column: "customer_id", as: String.self)
            histories[canonical[id] ?? id, default: []].append(
                PurchaseSummary.Purchase(day: Int(try row.decode(column: "day", as: Int64.self)), value: try row.decode(column: "value", as: Int64.self)))
        }
        return histories
    }

    /// Fits on the history before the last `days` days and compares its forecast of them with what happened.
    static func holdoutCheck(_ histories: [String: [PurchaseSummary.Purchase]], ids: [String], today: Int, days: Int) throws -> LifetimeValueReport.Holdout {
        let end = today - days
        var splits: [HoldoutSplit] = []
        for id in ids {
            if let history = histories[id], let split = try HoldoutSplit.split(history, calibrationEnd: end, holdoutEnd: today, periodDays: periodDays) {
                splits.append(split)
            }
        }
        let model = try BGNBDModel.fit(splits.map(\.calibration)).model
        var predicted = 0.0
        var error = 0.0
        for split in splits {
            let forecast = try model.expectedPurchases(in: split.holdoutLength, given: split.calibration)
            predicted += forecast
            error += abs(forecast - Double(split.holdoutPurchases))
        }
        return .init(calibrationEnd: RuleCalendar.text(day: Int32(end)), days: days, customers: splits.count,
                     predictedPurchases: (predicted * 100).rounded() / 100, actualPurchases: splits.reduce(0) { $0 + $1.holdoutPurchases },
                     meanAbsoluteError: splits.isEmpty ? 0 : (error / Double(splits.count) * 10_000).rounded() / 10_000)
    }
}
