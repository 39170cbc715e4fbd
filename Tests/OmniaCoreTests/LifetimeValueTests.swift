import Foundation
import OmniaCore
import Testing

/// The CDNOW sample of Fader, Hardie & Lee: 2,357 customers whose first purchase was in the first
/// quarter of 1997, with every purchase up to June 1998 (customer, customer in sample, YYYYMMDD,
/// CDs, dollars). Loaded once; purchase values in cents.
private enum CDNOW {
    static let history: [Int: [PurchaseSummary.Purchase]]? = load()
    /// Fader & Hardie's calibration ends with 1997-09-30 and their holdout with 1998-06-30: 39 weeks each.
    static let calibrationEnd = PurchaseSummary.day(year: 1997, month: 9, day: 30) ?? 0
    static let holdoutEnd = PurchaseSummary.day(year: 1998, month: 6, day: 30) ?? 0

    static func summaries(periodDays: Int = 7) throws -> [PurchaseSummary] {
        let history = try #require(history)
        return try history.keys.sorted().map { id in
            try #require(try PurchaseSummary.summarize(history[id] ?? [], calibrationEnd: calibrationEnd, periodDays: periodDays))
        }
    }

    private static func load() -> [Int: [PurchaseSummary.Purchase]]? {
        guard let url = Bundle.module.url(forResource: "CDNOW_sample", withExtension: "txt", subdirectory: "Fixtures"),
              let text = try? String(contentsOf: url, encoding: .utf8) else { return nil }
        var history: [Int: [PurchaseSummary.Purchase]] = [:]
        // The file has CRLF line ends, which Swift reads as one newline character.
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: " ")
            guard fields.count == 5, let id = Int(fields[1]), let date = Int(fields[2]), let cents = cents(fields[4]),
                  let day = PurchaseSummary.day(year: date / 10_000, month: date / 100 % 100, day: date % 100) else { return nil }
            history[id, default: []].append(PurchaseSummary.Purchase(day: day, value: cents))
        }
        return history
    }

    /// "29.33" as 2933, exactly.
    private static func cents(_ text: Substring) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard let whole = Int64(parts[0]) else { return nil }
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        guard parts.count <= 2, fraction.count <= 2, let hundredths = Int64(fraction.padding(toLength: 2, withPad: "0", startingAt: 0)) else {
            return nil
        }
        return whole * 100 + hundredths
    }
}

/// The error a throwing call ends with, or nil when it returns.
private func failure<T>(_ body: () throws -> T) -> LifetimeValueError? {
    do {
        _ = try body()
        return nil
    } catch let error as LifetimeValueError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

/// `value` rounded to `digits` significant digits, to compare with figures published to that precision.
private func significant(_ value: Double, _ digits: Int) -> Double {
    guard value != 0, value.isFinite else { return value }
    let scale = pow(10, Double(digits - 1) - floor(log10(abs(value))))
    return (value * scale).rounded() / scale
}

private func close(_ value: Double, _ expected: Double, relative: Double) -> Bool {
    abs(value - expected) <= relative * abs(expected)
}

@Suite("Customer lifetime value: BG/NBD purchases, Gamma-Gamma spend and their maths")
struct LifetimeValueTests {
    /// Fader, Hardie & Lee's estimates for CDNOW, in weeks.
    static let published = (r: 0.243, alpha: 4.414, a: 0.793, b: 2.426)
    /// Fader & Hardie's Gamma-Gamma estimates for CDNOW, in dollars.
    static let publishedSpend = (p: 6.25, q: 3.74, gamma: 15.44)

    static func publishedModels() throws -> (purchases: BGNBDModel, spend: GammaGammaModel) {
        (try BGNBDModel(r: published.r, alpha: published.alpha, a: published.a, b: published.b),
         try GammaGammaModel(p: publishedSpend.p, q: publishedSpend.q, gamma: publishedSpend.gamma))
    }

    // MARK: Special functions and the optimiser

    @Test("log-gamma agrees with closed forms and its recurrence to 1e-13")
    func logGamma() {
        #expect(close(SpecialFunctions.logGamma(0.5), 0.5 * log(Double.pi), relative: 1e-14))
        #expect(close(SpecialFunctions.logGamma(10), log(362_880), relative: 1e-14))
        #expect(close(SpecialFunctions.logGamma(1e-10), -log(1e-10) - 0.577_215_664_901_532_9e-10, relative: 1e-14))
        for x in [0.3, 0.793, 2.426, 3.7, 55.5, 1_000.25, 1e6] {
            #expect(close(SpecialFunctions.logGamma(x + 1), SpecialFunctions.logGamma(x) + log(x), relative: 1e-13), "\(x)")
        }
        #expect(abs(SpecialFunctions.logGamma(1)) < 1e-15 && abs(SpecialFunctions.logGamma(2)) < 1e-15)
        #expect(SpecialFunctions.logGamma(0).isNaN && SpecialFunctions.logGamma(-1.5).isNaN, "log-gamma is only defined here for x > 0")
        #expect(close(SpecialFunctions.logBeta(2, 3), log(1.0 / 12), relative: 1e-14))
    }

    @Test("log-sum-exp neither overflows nor turns infinities into NaN")
    func logSumExp() {
        #expect(close(SpecialFunctions.logSumExp(1_000, 1_000), 1_000 + log(2), relative: 1e-15))
        #expect(SpecialFunctions.logSumExp(-1_000, 0) == 0)
        #expect(SpecialFunctions.logSumExp(-.infinity, -.infinity) == -.infinity)
        #expect(SpecialFunctions.logSumExp(-.infinity, 3) == 3)
        #expect(SpecialFunctions.logSumExp([]) == -.infinity)
        #expect(close(SpecialFunctions.logSumExp([1, 2, 3]), log(exp(1) + exp(2) + exp(3)), relative: 1e-15))
        #expect(close(SpecialFunctions.logSumExp([-800, -800]), -800 + log(2), relative: 1e-15))
    }

    @Test("the hypergeometric series matches closed forms, and its tail stays exact as b goes to 0")
    func hypergeometric() throws {
        for z in [-0.9, -0.5, 0.1, 0.5, 0.9, 0.99] {
            // ₂F₁(1, 1; 2; z) = −ln(1 − z)/z and ₂F₁(a, b; b; z) = (1 − z)^−a.
            #expect(close(try #require(SpecialFunctions.hypergeometric2F1(a: 1, b: 1, c: 2, z: z)), -log1p(-z) / z, relative: 1e-12), "\(z)")
            #expect(close(try #require(SpecialFunctions.hypergeometric2F1(a: 0.7, b: 2.5, c: 2.5, z: z)), pow(1 - z, -0.7), relative: 1e-12), "\(z)")
        }
        // d/db ₂F₁(1, b; 2; z) at b = 0 is Σ zᵏ/(k(k+1)) = 1 − ln(1 − z) + ln(1 − z)/z.
        let z = 0.5
        #expect(close(try #require(SpecialFunctions.hypergeometric2F1Tail(a: 1, b: 0, c: 2, z: z)), 1 - log1p(-z) + log1p(-z) / z, relative: 1e-14))
        let small = 1e-6
        let quotient = (try #require(SpecialFunctions.hypergeometric2F1(a: 1, b: small, c: 2, z: z)) - 1) / small
        #expect(close(try #require(SpecialFunctions.hypergeometric2F1Tail(a: 1, b: small, c: 2, z: z)), quotient, relative: 1e-8))
        #expect(SpecialFunctions.hypergeometric2F1(a: 1, b: 1, c: 2, z: 1) == nil, "the series does not reach |z| ≥ 1")
        #expect(SpecialFunctions.hypergeometric2F1(a: 1, b: 1, c: 0, z: 0.5) == nil, "c = 0 is a pole")
    }

    @Test("Nelder–Mead finds Rosenbrock's minimum, walks around NaN, and says when it ran out of iterations")
    func nelderMead() {
        let rosenbrock: ([Double]) -> Double = { p in 100 * pow(p[1] - p[0] * p[0], 2) + pow(1 - p[0], 2) }
        let found = NelderMead().minimize(from: [-1.2, 1], rosenbrock)
        #expect(found.converged)
        #expect(abs(found.point[0] - 1) < 1e-6 && abs(found.point[1] - 1) < 1e-6)
        #expect(found.value < 1e-12 && found.iterations > 0 && found.evaluations > found.iterations)

        let partial: ([Double]) -> Double = { p in p[0] < 0 ? .nan : (p[0] - 1) * (p[0] - 1) }
        let around = NelderMead().minimize(from: [3], partial)
        #expect(around.converged && abs(around.point[0] - 1) < 1e-6)
        let broken = NelderMead().minimize(from: [-3], partial)
        #expect(!broken.converged && broken.value == .infinity, "a start where the function is NaN is reported, not searched from")

        let short = NelderMead(maximumIterations: 10).minimize(from: [-1.2, 1], rosenbrock)
        #expect(!short.converged && short.iterations == 10 && short.value.isFinite)
    }

    // MARK: Summaries

    @Test("purchases on one day count as one purchase of their summed value, and the first purchase is not a repeat")
    func summaryFromPurchases() throws {
        let purchases = [(24, 10), (10, 100), (17, 30), (10, 50), (17, 20), (31, 999)].map { PurchaseSummary.Purchase(day: $0.0, value: Int64($0.1)) }
        let summary = try #require(try PurchaseSummary.summarize(purchases, calibrationEnd: 30))
        #expect(summary.repeatPurchases == 2)
        #expect(summary.recency == 2, "weeks from day 10 to day 24")
        #expect(summary.age == 20.0 / 7)
        #expect(summary.meanRepeatValue == 30, "(30 + 20 + 10) / 2; the first day and the day after the calibration are left out")
        let daily = try #require(try PurchaseSummary.summarize(purchases, calibrationEnd: 30, periodDays: 1))
        #expect(daily.recency == 14 && daily.age == 20)

        let split = try #require(try HoldoutSplit.split(purchases + [PurchaseSummary.Purchase(day: 31, value: 1), PurchaseSummary.Purchase(day: 40, value: 5)],
                                                       calibrationEnd: 30, holdoutEnd: 37))
        #expect(split.calibration == summary)
        #expect(split.holdoutPurchases == 1 && split.holdoutLength == 1, "day 31 twice is one purchase; day 40 is after the holdout")

        #expect(try PurchaseSummary.summarize(purchases, calibrationEnd: 9) == nil, "not yet a customer at the calibration end")
        #expect(try PurchaseSummary.summarize([], calibrationEnd: 9) == nil)
        #expect(failure { try PurchaseSummary.summarize(purchases, calibrationEnd: 30, periodDays: 0) }?.code == "invalid_input")
        #expect(failure { try HoldoutSplit.split(purchases, calibrationEnd: 30, holdoutEnd: 29) }?.code == "invalid_input")
    }

    @Test("day numbers count from 1970-01-01 and reject dates that do not exist")
    func dayNumbers() {
        #expect(PurchaseSummary.day(year: 1970, month: 1, day: 1) == 0)
        #expect(PurchaseSummary.day(year: 1969, month: 12, day: 31) == -1)
        #expect(PurchaseSummary.day(year: 1997, month: 1, day: 1) == 9_862)
        #expect(PurchaseSummary.day(year: 2000, month: 2, day: 29) == 11_016)
        #expect(PurchaseSummary.day(year: 1900, month: 2, day: 29) == nil && PurchaseSummary.day(year: 1997, month: 13, day: 1) == nil)
        #expect(PurchaseSummary.day(epochMilliseconds: -1) == -1)
        #expect(PurchaseSummary.day(epochMilliseconds: 1_772_360_100_000) == 20_513, "2026-03-01T10:15:00Z")
        #expect(PurchaseSummary.day(epochMilliseconds: 1_772_360_100_000, utcOffsetSeconds: 14 * 3_600) == 20_514, "already 2 March at UTC+14")
    }

    @Test("a summary refuses numbers no history can have")
    func summaryValidation() {
        #expect(failure { try PurchaseSummary(repeatPurchases: 2, recency: 5, age: 4) }?.code == "invalid_input")
        #expect(failure { try PurchaseSummary(repeatPurchases: -1, recency: 0, age: 4) }?.code == "invalid_input")
        #expect(failure { try PurchaseSummary(repeatPurchases: 0, recency: 1, age: 4) }?.code == "invalid_input")
        #expect(failure { try PurchaseSummary(repeatPurchases: 1, recency: .nan, age: 4) }?.code == "invalid_input")
        #expect(failure { try PurchaseSummary(repeatPurchases: 1, recency: 1, age: .infinity) }?.code == "invalid_input")
    }

    @Test("the CDNOW summary built from the raw transactions is Fader and Hardie's")
    func cdnowSummary() throws {
        let summaries = try CDNOW.summaries()
        #expect(summaries.count == 2_357)
        #expect(summaries.reduce(0) { $0 + $1.repeatPurchases } == 2_457)
        #expect(summaries.count(where: { $0.repeatPurchases > 0 }) == 946)
        // Rows of their summary (x, t_x and T in weeks, mean repeat value in dollars), to the two decimals published.
        let rows: [(id: Int, x: Int, recency: Double, age: Double, mean: Double)] = [
            (1, 2, 30.43, 38.86, 22.35), (2, 1, 1.71, 38.86, 11.77), (3, 0, 0, 38.86, 0), (17, 10, 34.14, 38.86, 24.24),
            (100, 1, 23.86, 38.29, 26.22), (157, 29, 37.71, 38.00, 26.26), (509, 18, 35.14, 35.86, 78.63),
        ]
        // Half a cent or a hundredth of a week, and a hair more: a tie (22.345) was published rounded up.
        let rounding = 0.005 + 1e-9
        for row in rows {
            let summary = summaries[row.id - 1]
            #expect(summary.repeatPurchases == row.x, "customer \(row.id)")
            #expect(abs(summary.recency - row.recency) <= rounding && abs(summary.age - row.age) <= rounding, "customer \(row.id)")
            #expect(abs(summary.meanRepeatValue / 100 - row.mean) <= rounding, "customer \(row.id)")
        }
        #expect(summaries[0].age == 272.0 / 7, "T runs from 1997-01-01 to 1997-09-30")
    }

    // MARK: Fitting

    @Test("BG/NBD fitted to CDNOW reproduces Fader, Hardie and Lee's estimates and log-likelihood")
    func bgnbdFit() throws {
        let fit = try BGNBDModel.fit(try CDNOW.summaries())
        #expect(fit.converged && fit.customers == 2_357)
        #expect(significant(fit.model.r, 3) == 0.243)
        #expect(significant(fit.model.alpha, 3) == 4.41)
        #expect(significant(fit.model.a, 3) == 0.793)
        #expect(significant(fit.model.b, 3) == 2.43)
        #expect(abs(fit.logLikelihood - -9_582.43) < 0.01)
        // An independent fit (scipy) of the published, rounded summary: 0.242593, 4.413532, 0.792886, 2.425754.
        #expect(close(fit.model.r, 0.242_593, relative: 2e-4) && close(fit.model.alpha, 4.413_532, relative: 2e-4))
        #expect(close(fit.model.a, 0.792_886, relative: 2e-4) && close(fit.model.b, 2.425_754, relative: 2e-4))
        #expect(abs(try fit.model.logLikelihood(of: try CDNOW.summaries()) - fit.logLikelihood) < 1e-6)
    }

    @Test("the period unit only rescales alpha: fitting CDNOW in days gives seven times the weekly alpha")
    func bgnbdUnits() throws {
        let weeks = try BGNBDModel.fit(try CDNOW.summaries())
        let days = try BGNBDModel.fit(try CDNOW.summaries(periodDays: 1))
        #expect(close(days.model.alpha, 7 * weeks.model.alpha, relative: 1e-5))
        #expect(close(days.model.r, weeks.model.r, relative: 1e-5) && close(days.model.a, weeks.model.a, relative: 1e-5))
        #expect(close(days.model.b, weeks.model.b, relative: 1e-5))
        // Each repeat purchase's density is per unit of time: 2,457 of them shift the log-likelihood by ln 7 each.
        #expect(abs(days.logLikelihood - (weeks.logLikelihood - 2_457 * log(7))) < 1e-4)
    }

    @Test("Gamma-Gamma fitted to CDNOW's 946 repeat customers reproduces Fader and Hardie's estimates")
    func gammaGammaFit() throws {
        let summaries = try CDNOW.summaries()
        let fit = try GammaGammaModel.fit(summaries)
        #expect(fit.converged && fit.customers == 946)
        #expect(significant(fit.model.p, 3) == 6.25)
        #expect(significant(fit.model.q, 3) == 3.74)
        #expect(significant(fit.model.gamma / 100, 3) == 15.4, "γ is in cents: 15.44 dollars")
        // In dollars each of the 946 densities is 100 times larger: scipy finds −4055.92 on the published summary.
        #expect(abs(fit.logLikelihood + 946 * log(100) - -4_055.92) < 0.05)
        let dollars = try summaries.map { summary in
            try PurchaseSummary(repeatPurchases: summary.repeatPurchases, recency: summary.recency, age: summary.age,
                                meanRepeatValue: summary.meanRepeatValue / 100)
        }
        let inDollars = try GammaGammaModel.fit(dollars)
        #expect(close(inDollars.model.gamma * 100, fit.model.gamma, relative: 1e-6) && close(inDollars.model.p, fit.model.p, relative: 1e-6))
    }

    // MARK: Predictions

    @Test("with the published parameters, predictions match Fader, Hardie and Lee's and the lifetimes formulas")
    func predictions() throws {
        let model = try Self.publishedModels().purchases
        let customer = try PurchaseSummary(repeatPurchases: 2, recency: 30.43, age: 38.86)
        #expect(close(try model.expectedPurchases(in: 39, given: customer), 1.226_028_174_767_135, relative: 1e-10))
        #expect(close(model.probabilityAlive(given: customer), 0.726_578_570_080_673, relative: 1e-12))
        let newcomer = try PurchaseSummary(repeatPurchases: 0, recency: 0, age: 38.86)
        #expect(model.probabilityAlive(given: newcomer) == 1, "the model only lets customers drop out after a purchase")
        #expect(close(try model.expectedPurchases(in: 39, given: newcomer), 0.195_098_052_011_254, relative: 1e-10))
        #expect(close(try model.expectedPurchases(in: 39), 1.196_723_193_320_799, relative: 1e-10))
        // A heavy buyer active until the end, one silent for 29 weeks, and a ten-year forecast for a week-old customer.
        #expect(close(try model.expectedPurchases(in: 52, given: PurchaseSummary(repeatPurchases: 30, recency: 38, age: 38.86)),
                      25.161_624_391_395, relative: 1e-10))
        #expect(try model.expectedPurchases(in: 52, given: PurchaseSummary(repeatPurchases: 30, recency: 10, age: 38.86)) < 1e-11)
        #expect(close(try model.expectedPurchases(in: 520, given: PurchaseSummary(repeatPurchases: 1, recency: 1, age: 1)),
                      12.218_050_536_091, relative: 1e-10))
        #expect(try model.expectedPurchases(in: 0, given: customer) == 0)
        let unconditional = try (1...10).map { try model.expectedPurchases(in: Double($0) * 10) }
        #expect(zip(unconditional, unconditional.dropFirst()).allSatisfy { $0 < $1 }, "expected purchases grow with the horizon")
    }

    @Test("the forecast is continuous through a = 1, where its textbook form divides by zero")
    func forecastAtAEqualsOne() throws {
        let customer = try PurchaseSummary(repeatPurchases: 2, recency: 30.43, age: 38.86)
        let at = try BGNBDModel(r: 0.243, alpha: 4.414, a: 1, b: 2.426).expectedPurchases(in: 39, given: customer)
        let near = try BGNBDModel(r: 0.243, alpha: 4.414, a: 1 + 1e-7, b: 2.426).expectedPurchases(in: 39, given: customer)
        #expect(at.isFinite && abs(at - near) < 1e-6)
        let above = try BGNBDModel(r: 0.243, alpha: 4.414, a: 1.7, b: 2.426).expectedPurchases(in: 39, given: customer)
        #expect(close(above, 0.809_034_706_195_782, relative: 1e-10))
    }

    @Test("the fitted BG/NBD forecasts CDNOW's 39-week holdout as the lifetimes formula does")
    func holdout() throws {
        let history = try #require(CDNOW.history)
        let splits = try history.keys.sorted().map { id in
            try #require(try HoldoutSplit.split(history[id] ?? [], calibrationEnd: CDNOW.calibrationEnd, holdoutEnd: CDNOW.holdoutEnd))
        }
        #expect(splits.allSatisfy { $0.holdoutLength == 39 })
        #expect(splits.reduce(0) { $0 + $1.holdoutPurchases } == 1_882, "purchases on distinct days, 1997-10-01 to 1998-06-30")
        let model = try BGNBDModel.fit(splits.map(\.calibration)).model
        let forecast = try splits.reduce(0.0) { try $0 + model.expectedPurchases(in: $1.holdoutLength, given: $1.calibration) }
        // lifetimes' formula with scipy's ₂F₁ on the published summary and these parameters: 1653.42.
        #expect(abs(forecast - 1_653.42) < 0.5)
    }

    @Test("the expected order value shrinks a customer's own mean towards the population's")
    func expectedOrderValue() throws {
        let spend = try Self.publishedModels().spend
        let customer = try PurchaseSummary(repeatPurchases: 2, recency: 30.43, age: 38.86, meanRepeatValue: 22.35)
        #expect(close(try spend.expectedOrderValue(given: customer), 6.25 * (15.44 + 2 * 22.35) / (6.25 * 2 + 3.74 - 1), relative: 1e-14))
        let population = try spend.populationMeanValue()
        #expect(close(population, 6.25 * 15.44 / 2.74, relative: 1e-14))
        #expect(try spend.expectedOrderValue(given: PurchaseSummary(repeatPurchases: 0, recency: 0, age: 10)) == population)
        let loyal = try spend.expectedOrderValue(given: PurchaseSummary(repeatPurchases: 200, recency: 30, age: 38.86, meanRepeatValue: 22.35))
        #expect(abs(loyal - 22.35) < 0.1, "two hundred purchases outweigh the population")
        let heavyTailed = try GammaGammaModel(p: 6.25, q: 0.9, gamma: 15.44)
        #expect(failure { try heavyTailed.populationMeanValue() }?.code == "non_finite", "the population mean is infinite for q ≤ 1")
    }

    // MARK: Lifetime value

    @Test("lifetime value discounts each month's expected purchases, as lifetimes computes it")
    func lifetimeValue() throws {
        let (purchases, spend) = try Self.publishedModels()
        // 12 months of 4.345 weeks at 1 % a month, as lifetimes' customer_lifetime_value(time: 12, discount_rate: 0.01, freq: "W").
        let horizon = try LifetimeValueHorizon(periods: 12, periodLength: 4.345, discountRate: 0.01)
        let value = LifetimeValue(purchases: purchases, spend: spend, horizon: horizon)
        let customer = try PurchaseSummary(repeatPurchases: 2, recency: 30.43, age: 38.86, meanRepeatValue: 22.35)
        #expect(close(try value.value(of: customer), 36.289_211_125_599_216, relative: 1e-10))
        #expect(close(try value.value(of: PurchaseSummary(repeatPurchases: 0, recency: 0, age: 38.86)), 8.369_004_358_920_183, relative: 1e-10))
    }

    @Test("without discounting, lifetime value is the expected purchases over the horizon times the order value")
    func undiscounted() throws {
        let purchases = try Self.publishedModels().purchases
        let customer = try PurchaseSummary(repeatPurchases: 5, recency: 20, age: 38.86, meanRepeatValue: 30)
        let flat = try LifetimeValueHorizon(periods: 52, periodLength: 1, discountRate: 0)
        let value = try LifetimeValue.value(of: customer, purchases: purchases, orderValue: 30, horizon: flat)
        #expect(close(value, 30 * (try purchases.expectedPurchases(in: 52, given: customer)), relative: 1e-12))
        let discounted = try LifetimeValueHorizon(periods: 52, periodLength: 1, annualDiscountRate: 0.1, periodsPerYear: 52)
        #expect(close(discounted.discountRate, pow(1.1, 1.0 / 52) - 1, relative: 1e-12))
        let less = try LifetimeValue.value(of: customer, purchases: purchases, orderValue: 30, horizon: discounted)
        #expect(less < value && less > value / 1.1)
    }

    // MARK: Bad input

    @Test("fitting without enough customers or repeat customers says what is needed")
    func insufficientData() throws {
        let empty = failure { try BGNBDModel.fit([]) }
        guard case .insufficientData(let needed)? = empty else {
            Issue.record("expected insufficientData, got \(String(describing: empty))")
            return
        }
        #expect(needed.contains("\(BGNBDModel.minimumCustomers) customers"))
        let oneTimers = try (0..<100).map { index in
            index < 3 ? try PurchaseSummary(repeatPurchases: 1, recency: 2, age: 10, meanRepeatValue: 500) : try PurchaseSummary(repeatPurchases: 0, recency: 0, age: 10)
        }
        let few = failure { try BGNBDModel.fit(oneTimers) }
        guard case .insufficientData(let repeatNeeded)? = few else {
            Issue.record("expected insufficientData, got \(String(describing: few))")
            return
        }
        #expect(repeatNeeded.contains("repeat purchase") && repeatNeeded.contains("got 3"))
        #expect(failure { try GammaGammaModel.fit(oneTimers) }?.code == "insufficient_data")
        #expect(failure { try GammaGammaModel.fit([]) }?.code == "insufficient_data")
        let newborn = try (0..<30).map { _ in try PurchaseSummary(repeatPurchases: 1, recency: 0, age: 0) }
        #expect(failure { try BGNBDModel.fit(newborn) }?.code == "insufficient_data", "no customer observed for any time")
    }

    @Test("a fit that runs out of iterations is an error, or a result marked not converged when asked for")
    func nonConvergent() throws {
        let summaries = try CDNOW.summaries()
        let short = NelderMead(maximumIterations: 10)
        #expect(failure { try BGNBDModel.fit(summaries, optimizer: short) } == .nonConvergent(iterations: 10))
        let partial = try BGNBDModel.fit(summaries, optimizer: short, requireConvergence: false)
        #expect(!partial.converged && partial.iterations == 10)
        #expect([partial.model.r, partial.model.alpha, partial.model.a, partial.model.b, partial.logLikelihood].allSatisfy { $0.isFinite })
        #expect(failure { try GammaGammaModel.fit(summaries, optimizer: short) } == .nonConvergent(iterations: 10))
    }

    @Test("degenerate data, whose likelihood runs off to infinity, never yields NaN parameters")
    func degenerateData() throws {
        // Every customer spends the same: the Gamma-Gamma optimum lies at p → ∞.
        let sameSpend = try (0..<50).map { index in try PurchaseSummary(repeatPurchases: 1 + index % 4, recency: 5, age: 10, meanRepeatValue: 2_500) }
        // Every customer buys again on the last day: no sign of dropout at all.
        let neverLeave = try (0..<50).map { index in try PurchaseSummary(repeatPurchases: 1 + index % 5, recency: 10, age: 10) }
        // Ten buy twice at once, then all go silent for a year.
        let allGone = try (0..<50).map { index in
            index < 10 ? try PurchaseSummary(repeatPurchases: 1, recency: 0.1, age: 50) : try PurchaseSummary(repeatPurchases: 0, recency: 0, age: 50)
        }
        for requireConvergence in [true, false] {
            // Each fit either fails with a LifetimeValueError or returns finite, positive parameters.
            if let fit = try? GammaGammaModel.fit(sameSpend, requireConvergence: requireConvergence) {
                #expect([fit.model.p, fit.model.q, fit.model.gamma, fit.logLikelihood].allSatisfy { $0.isFinite })
            }
            for summaries in [neverLeave, allGone] {
                if let fit = try? BGNBDModel.fit(summaries, requireConvergence: requireConvergence) {
                    #expect([fit.model.r, fit.model.alpha, fit.model.a, fit.model.b, fit.logLikelihood].allSatisfy { $0.isFinite })
                }
            }
        }
        #expect(failure { try GammaGammaModel.fit(sameSpend) } == .nonConvergent(iterations: NelderMead().maximumIterations))
    }

    @Test("parameters, horizons and order values outside the models' domain are refused, never computed into NaN")
    func invalidInput() throws {
        #expect(failure { try BGNBDModel(r: .nan, alpha: 1, a: 1, b: 1) }?.code == "invalid_input")
        #expect(failure { try BGNBDModel(r: 1, alpha: 0, a: 1, b: 1) }?.code == "invalid_input")
        #expect(failure { try GammaGammaModel(p: 1, q: -1, gamma: 1) }?.code == "invalid_input")
        #expect(failure { try LifetimeValueHorizon(periods: 0, discountRate: 0.01) }?.code == "invalid_input")
        #expect(failure { try LifetimeValueHorizon(periods: 12, periodLength: .nan, discountRate: 0.01) }?.code == "invalid_input")
        #expect(failure { try LifetimeValueHorizon(periods: 12, discountRate: -0.5) }?.code == "invalid_input")
        #expect(failure { try LifetimeValueHorizon(periods: 12, periodLength: 1, annualDiscountRate: 0.1, periodsPerYear: 0) }?.code == "invalid_input")

        let (purchases, spend) = try Self.publishedModels()
        let customer = try PurchaseSummary(repeatPurchases: 2, recency: 30.43, age: 38.86, meanRepeatValue: 22.35)
        #expect(failure { try purchases.expectedPurchases(in: .infinity, given: customer) }?.code == "invalid_input")
        #expect(failure { try purchases.expectedPurchases(in: -1) }?.code == "invalid_input")
        // So far beyond the customer's age that the series cannot settle: an error, not a number.
        #expect(failure { try purchases.expectedPurchases(in: 1e9) }?.code == "non_finite")
        let horizon = try LifetimeValueHorizon(periods: 12, periodLength: 4.345, discountRate: 0.01)
        #expect(failure { try LifetimeValue.value(of: customer, purchases: purchases, orderValue: .nan, horizon: horizon) }?.code == "invalid_input")
        let heavyTailed = LifetimeValue(purchases: purchases, spend: try GammaGammaModel(p: 6.25, q: 0.9, gamma: 15.44), horizon: horizon)
        #expect(failure { try heavyTailed.value(of: PurchaseSummary(repeatPurchases: 0, recency: 0, age: 10)) }?.code == "non_finite")
        #expect(try LifetimeValue(purchases: purchases, spend: spend, horizon: horizon).value(of: customer).isFinite)
    }
}
