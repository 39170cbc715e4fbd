import Foundation

/// The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy
/// Way"): while alive a customer buys at a Poisson rate spread across customers as Gamma(r, α), and
/// after each purchase drops out with a probability spread as Beta(a, b). Times are in the period
/// unit of the summaries it is fitted on (α scales with it; r, a and b do not).
public struct BGNBDModel: Sendable, Hashable {
    /// Shape of the gamma spread of purchase rates.
    public let r: Double
    /// Scale of the gamma spread of purchase rates, in periods.
    public let alpha: Double
    /// First shape of the beta spread of dropout probabilities.
    public let a: Double
    /// Second shape of the beta spread of dropout probabilities.
    public let b: Double

    /// Fewest customers a fit accepts: four parameters need a population to describe.
    public static let minimumCustomers = 20
    /// Fewest customers with a repeat purchase a fit accepts: only they tell dropout apart from a low rate.
    public static let minimumRepeatCustomers = 10

    /// A model from its parameters, all finite and positive.
    public init(r: Double, alpha: Double, a: Double, b: Double) throws(LifetimeValueError) {
        guard [r, alpha, a, b].allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw .invalidInput("BG/NBD parameters must be finite and positive (r \(r), alpha \(alpha), a \(a), b \(b))")
        }
        self.r = r
        self.alpha = alpha
        self.a = a
        self.b = b
    }

    /// The maximum-likelihood model for `summaries`. Throws `insufficientData` for too few customers
    /// or repeat customers, `nonConvergent` when the search does not settle (unless
    /// `requireConvergence` is false: the result then says `converged == false`), and `nonFinite`
    /// rather than return parameters that are not numbers.
    public static func fit(_ summaries: [PurchaseSummary], optimizer: NelderMead = NelderMead(),
                           requireConvergence: Bool = true) throws(LifetimeValueError) -> ModelFit<BGNBDModel> {
        let repeaters = summaries.count(where: { $0.repeatPurchases > 0 })
        guard summaries.count >= minimumCustomers else {
            throw .insufficientData(needed: "at least \(minimumCustomers) customers (got \(summaries.count))")
        }
        guard repeaters >= minimumRepeatCustomers else {
            throw .insufficientData(needed: "at least \(minimumRepeatCustomers) customers with a repeat purchase (got \(repeaters))")
        }
        // Times scaled so the longest customer age is 10: α then starts near 1 like the other parameters.
        let longest = summaries.map(\.age).max() ?? 0
        guard longest > 0 else { throw .insufficientData(needed: "customers observed for more than zero time") }
        let scale = 10 / longest
        let likelihood = BGNBDLikelihood(summaries, timeScale: scale)
        let result = optimizer.minimize(from: [0, 0, 0, 0]) { -likelihood.logLikelihood(logParameters: $0) }
        guard result.value.isFinite else { throw .nonFinite("the BG/NBD log-likelihood at the starting parameters") }
        guard result.converged || !requireConvergence else { throw .nonConvergent(iterations: result.iterations) }
        let values = result.point.map { exp($0) }
        let model = try BGNBDModel(r: values[0], alpha: values[1] / scale, a: values[2], b: values[3])
        // Scaling time by s shifts the log-likelihood by −ln(s) per repeat purchase; report it in the caller's unit.
        let repeatPurchases = summaries.reduce(0.0) { $0 + Double($1.repeatPurchases) }
        let logLikelihood = -result.value + log(scale) * repeatPurchases
        guard logLikelihood.isFinite else { throw .nonFinite("the BG/NBD log-likelihood at the fitted parameters") }
        return ModelFit(model: model, logLikelihood: logLikelihood, iterations: result.iterations,
                        evaluations: result.evaluations, converged: result.converged, customers: summaries.count)
    }

    /// The log-likelihood of the model for `summaries` (Fader, Hardie & Lee, eq. 6).
    public func logLikelihood(of summaries: [PurchaseSummary]) throws(LifetimeValueError) -> Double {
        let value = BGNBDLikelihood(summaries, timeScale: 1).logLikelihood(logParameters: [log(r), log(alpha), log(a), log(b)])
        guard value.isFinite else { throw .nonFinite("the BG/NBD log-likelihood") }
        return value
    }

    /// The probability that a customer with this history has not dropped out by the end of it;
    /// 1 without repeat purchases, since the model only lets customers drop out right after a purchase.
    public func probabilityAlive(given summary: PurchaseSummary) -> Double {
        guard summary.repeatPurchases > 0 else { return 1 }
        let x = Double(summary.repeatPurchases)
        // 1 / (1 + a/(b+x−1) ((α+T)/(α+t_x))^(r+x)) through its logarithm, so a large power gives 0, not NaN.
        let logOdds = log(a) - log(b + x - 1) + (r + x) * (log(alpha + summary.age) - log(alpha + summary.recency))
        return 1 / (1 + exp(logOdds))
    }

    /// E[X(t)]: the expected repeat purchases in the first `t` periods of a customer picked at random
    /// from the population (Fader, Hardie & Lee, eq. 9).
    public func expectedPurchases(in t: Double) throws(LifetimeValueError) -> Double {
        try futurePurchases(in: t, repeatPurchases: 0, age: 0)
    }

    /// E[Y(t) | x, t_x, T]: the expected purchases in the `t` periods after a customer's history
    /// (Fader, Hardie & Lee, eq. 10).
    public func expectedPurchases(in t: Double, given summary: PurchaseSummary) throws(LifetimeValueError) -> Double {
        try futurePurchases(in: t, repeatPurchases: summary.repeatPurchases, age: summary.age) * probabilityAlive(given: summary)
    }

    /// The expected purchases in the next `t` periods of a customer still alive after x repeat
    /// purchases in T periods. Equation 10 holds ₂F₁(r+x, b+x; a+b+x−1; z) times (1−z)^(r+x); by
    /// Euler's transformation that is (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z), whose parameters no
    /// longer grow with x, and writing its ₂F₁ as 1 + (a−1)·tail takes the division by a − 1 out:
    /// E = (a+b+x−1) · [−expm1((a−1)L)/(a−1) − (1−z)^(a−1) · tail], with z = t/(α+T+t), L = ln(1−z).
    func futurePurchases(in t: Double, repeatPurchases: Int, age: Double) throws(LifetimeValueError) -> Double {
        guard t.isFinite, t >= 0 else { throw .invalidInput("the forecast horizon must be finite and not negative (\(t))") }
        guard t > 0 else { return 0 }
        let x = Double(repeatPurchases)
        let z = t / (alpha + age + t)
        let logRemaining = -log1p(t / (alpha + age))
        let shift = a - 1
        let level = shift == 0 ? -logRemaining : -expm1(shift * logRemaining) / shift
        guard let tail = SpecialFunctions.hypergeometric2F1Tail(a: a + b - 1 - r, b: shift, c: a + b + x - 1, z: z) else {
            throw .nonFinite("the BG/NBD forecast over \(t) periods (its series does not settle this close to z = 1: z = \(z))")
        }
        let expected = (a + b + x - 1) * (level - exp(shift * logRemaining) * tail)
        guard expected.isFinite else { throw .nonFinite("the BG/NBD expected purchases") }
        // Rounding can leave a hair below zero where the true value is a hair above it.
        return max(expected, 0)
    }
}

/// The BG/NBD log-likelihood of a set of summaries, arranged so that one evaluation costs a few
/// logarithms per distinct time and one exp and log1p per distinct repeat-buying pattern: the terms
/// in x alone are computed once per distinct x, and customers without repeat purchases collapse
/// into a weighted sum over their distinct ages.
struct BGNBDLikelihood: Sendable {
    /// Every distinct (scaled) age and recency; ln(α + time) is taken once per entry.
    private var times: [Double] = []
    /// For customers without repeat purchases: how many have each age, by index into `times`.
    private var zeroAges: [Int] = []
    private var zeroWeights: [Double] = []
    private var zeroCount = 0.0
    /// The distinct repeat-purchase counts x > 0.
    private var counts: [Double] = []
    /// Distinct (x, t_x, T) patterns by index into `counts` and `times`, with how many customers share each.
    private var patternCount: [Int] = []
    private var patternRecency: [Int] = []
    private var patternAge: [Int] = []
    private var patternWeight: [Double] = []

    private struct Pattern: Hashable {
        let count: Int
        let recency: Int
        let age: Int
    }

    init(_ summaries: [PurchaseSummary], timeScale: Double) {
        var timeIndex: [Double: Int] = [:]
        func index(_ time: Double) -> Int {
            if let known = timeIndex[time] { return known }
            times.append(time)
            timeIndex[time] = times.count - 1
            return times.count - 1
        }
        var countIndex: [Int: Int] = [:]
        var zeroIndex: [Int: Int] = [:]
        var patternIndex: [Pattern: Int] = [:]
        for summary in summaries {
            let age = index(summary.age * timeScale)
            guard summary.repeatPurchases > 0 else {
                zeroCount += 1
                if let known = zeroIndex[age] {
                    zeroWeights[known] += 1
                } else {
                    zeroIndex[age] = zeroAges.count
                    zeroAges.append(age)
                    zeroWeights.append(1)
                }
                continue
            }
            let count: Int
            if let known = countIndex[summary.repeatPurchases] {
                count = known
            } else {
                count = counts.count
                countIndex[summary.repeatPurchases] = count
                counts.append(Double(summary.repeatPurchases))
            }
            let pattern = Pattern(count: count, recency: index(summary.recency * timeScale), age: age)
            if let known = patternIndex[pattern] {
                patternWeight[known] += 1
            } else {
                patternIndex[pattern] = patternWeight.count
                patternCount.append(pattern.count)
                patternRecency.append(pattern.recency)
                patternAge.append(pattern.age)
                patternWeight.append(1)
            }
        }
    }

    /// Σ ln L over the customers at (ln r, ln α, ln a, ln b); NaN or infinite where the parameters overflow.
    func logLikelihood(logParameters: [Double]) -> Double {
        let r = exp(logParameters[0]), alpha = exp(logParameters[1]), a = exp(logParameters[2]), b = exp(logParameters[3])
        let logAlpha = log(alpha), logA = log(a)
        let logAlphaPlus = times.map { log(alpha + $0) }

        // x = 0: ln L = r ln α − r ln(α + T), the Beta terms cancelling.
        var total = zeroCount * r * logAlpha
        for (age, weight) in zip(zeroAges, zeroWeights) { total -= weight * r * logAlphaPlus[age] }

        // A₁ + A₂ and the constant part of A₄ depend on x alone.
        let shared = SpecialFunctions.logGamma(a + b) - SpecialFunctions.logGamma(b) - SpecialFunctions.logGamma(r) + r * logAlpha
        let constant = counts.map { x in
            shared + SpecialFunctions.logGamma(r + x) + SpecialFunctions.logGamma(b + x) - SpecialFunctions.logGamma(a + b + x)
        }
        let dropout = counts.map { x in logA - log(b + x - 1) }
        for i in patternWeight.indices {
            let count = patternCount[i]
            let power = r + counts[count]
            // ln[(α+T)^−(r+x) + a/(b+x−1) (α+t_x)^−(r+x)] by log-sum-exp: both terms underflow for large x.
            let survived = -power * logAlphaPlus[patternAge[i]]
            let dropped = dropout[count] - power * logAlphaPlus[patternRecency[i]]
            let high = max(survived, dropped)
            total += patternWeight[i] * (constant[count] + high + log1p(exp(-abs(survived - dropped))))
        }
        return total
    }
}
