import Foundation

/// Why a lifetime-value model could not be fitted or could not give a number. A value that is not
/// finite is always one of these, never a result.
public enum LifetimeValueError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The data cannot support a fit; says what would.
    case insufficientData(needed: String)
    /// An argument outside what the models accept.
    case invalidInput(String)
    /// The likelihood search did not settle within its iteration budget.
    case nonConvergent(iterations: Int)
    /// A computation overflowed or left its domain; names the quantity.
    case nonFinite(String)

    /// A stable machine code for problem responses.
    public var code: String {
        switch self {
        case .insufficientData: "insufficient_data"
        case .invalidInput: "invalid_input"
        case .nonConvergent: "non_convergent"
        case .nonFinite: "non_finite"
        }
    }

    /// The reason in words, for logs and a problem's detail.
    public var description: String {
        switch self {
        case .insufficientData(let needed): "not enough data to fit the model: needs \(needed)"
        case .invalidInput(let reason): reason
        case .nonConvergent(let iterations): "the model fit did not converge in \(iterations) iterations"
        case .nonFinite(let quantity): "\(quantity) cannot be computed as a finite number"
        }
    }
}

/// A fitted model with what the fit tells about itself.
public struct ModelFit<Model: Sendable & Hashable>: Sendable, Hashable {
    /// The maximum-likelihood parameters.
    public let model: Model
    /// The maximised log-likelihood, in the unit of the data the model was fitted on.
    public let logLikelihood: Double
    /// Simplex steps the search took.
    public let iterations: Int
    /// Likelihood evaluations, the measure of the fit's cost.
    public let evaluations: Int
    /// Whether the search settled at a minimum; only false when the fit was asked not to require it.
    public let converged: Bool
    /// The customers whose data entered the likelihood.
    public let customers: Int
}

/// How far ahead a lifetime value looks and how it discounts: `periods` periods of `periodLength`
/// each, in the summaries' time unit (with weekly summaries, 52/12 weeks for months), each discounted
/// at `discountRate` per period, compounded, at the period's end.
public struct LifetimeValueHorizon: Sendable, Hashable {
    /// How many periods the value looks ahead.
    public let periods: Int
    /// The length of one period in the summaries' time unit.
    public let periodLength: Double
    /// The discount rate per period of the horizon (0.01 is 1 % a period).
    public let discountRate: Double

    /// The most periods a horizon may have: each costs one series per customer.
    public static let maximumPeriods = 10_000

    /// A horizon discounting at `discountRate` per period; throws `invalidInput` outside 1…10,000 periods,
    /// for a period that is not positive, or for a negative rate.
    public init(periods: Int, periodLength: Double = 1, discountRate: Double) throws(LifetimeValueError) {
        guard (1...Self.maximumPeriods).contains(periods) else {
            throw .invalidInput("a horizon has 1 to \(Self.maximumPeriods) periods (got \(periods))")
        }
        guard periodLength.isFinite, periodLength > 0 else { throw .invalidInput("the period length must be positive (got \(periodLength))") }
        guard discountRate.isFinite, discountRate >= 0 else { throw .invalidInput("the discount rate must not be negative (got \(discountRate))") }
        self.periods = periods
        self.periodLength = periodLength
        self.discountRate = discountRate
    }

    /// A horizon discounting at an annual rate, converted to the equivalent compound rate per period
    /// for `periodsPerYear` periods a year: (1 + annual)^(1/periodsPerYear) − 1.
    public init(periods: Int, periodLength: Double, annualDiscountRate: Double, periodsPerYear: Double) throws(LifetimeValueError) {
        guard periodsPerYear.isFinite, periodsPerYear > 0 else { throw .invalidInput("periods per year must be positive (got \(periodsPerYear))") }
        guard annualDiscountRate.isFinite, annualDiscountRate >= 0 else {
            throw .invalidInput("the discount rate must not be negative (got \(annualDiscountRate))")
        }
        try self.init(periods: periods, periodLength: periodLength, discountRate: expm1(log1p(annualDiscountRate) / periodsPerYear))
    }
}

/// Customer lifetime value: Σ over the horizon's periods i of the purchases expected in period i
/// (E[Y(i·length)] − E[Y((i−1)·length)] from the BG/NBD, given the customer's history) times the
/// expected value of a purchase, discounted by (1 + d)^i. The value is in the unit of the purchase
/// values (minor units for summaries built from purchases); an expectation, not an amount to book.
public struct LifetimeValue: Sendable, Hashable {
    /// Forecasts how many purchases a customer will make.
    public let purchases: BGNBDModel
    /// Forecasts what each of those purchases will be worth.
    public let spend: GammaGammaModel
    /// How far ahead to look and how to discount.
    public let horizon: LifetimeValueHorizon

    /// Lifetime values from these two models over `horizon`.
    public init(purchases: BGNBDModel, spend: GammaGammaModel, horizon: LifetimeValueHorizon) {
        self.purchases = purchases
        self.spend = spend
        self.horizon = horizon
    }

    /// The lifetime value of a customer with this history, each purchase worth the Gamma-Gamma
    /// model's expected value for them.
    public func value(of summary: PurchaseSummary) throws(LifetimeValueError) -> Double {
        try Self.value(of: summary, purchases: purchases, orderValue: spend.expectedOrderValue(given: summary), horizon: horizon)
    }

    /// The lifetime value of a customer with this history, each purchase worth `orderValue`.
    public static func value(of summary: PurchaseSummary, purchases: BGNBDModel, orderValue: Double,
                             horizon: LifetimeValueHorizon) throws(LifetimeValueError) -> Double {
        guard orderValue.isFinite, orderValue >= 0 else { throw .invalidInput("the order value must be finite and not negative (got \(orderValue))") }
        // Every period shares the customer's chance of being alive; only the horizon's end moves.
        let alive = purchases.probabilityAlive(given: summary)
        var discounted = 0.0
        var previous = 0.0
        var factor = 1.0
        for period in 1...horizon.periods {
            let cumulative = try purchases.futurePurchases(in: Double(period) * horizon.periodLength,
                                                           repeatPurchases: summary.repeatPurchases, age: summary.age)
            factor /= 1 + horizon.discountRate
            discounted += max(cumulative - previous, 0) * factor
            previous = cumulative
        }
        let value = discounted * alive * orderValue
        guard value.isFinite else { throw .nonFinite("the lifetime value") }
        return value
    }
}
