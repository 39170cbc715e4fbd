import Foundation

/// The Gamma-Gamma model of spend per purchase (Fader & Hardie 2013, "The Gamma-Gamma Model of
/// Monetary Value"): a customer's purchase values are Gamma(p, ν) around their own mean, and ν is
/// spread across customers as Gamma(q, γ). γ is in the unit of the values (minor units when fitted
/// on summaries built from purchases); p and q have no unit.
public struct GammaGammaModel: Sendable, Hashable {
    /// Shape of the spread of one customer's purchase values.
    public let p: Double
    /// Shape of the spread of customers' value scales.
    public let q: Double
    /// Scale of the spread of customers' value scales, in the unit of the values.
    public let gamma: Double

    /// Fewest customers with a repeat purchase of positive mean value a fit accepts.
    public static let minimumCustomers = 10

    /// A model from its parameters, all finite and positive.
    public init(p: Double, q: Double, gamma: Double) throws(LifetimeValueError) {
        guard [p, q, gamma].allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw .invalidInput("Gamma-Gamma parameters must be finite and positive (p \(p), q \(q), gamma \(gamma))")
        }
        self.p = p
        self.q = q
        self.gamma = gamma
    }

    /// The maximum-likelihood model for the customers among `summaries` with repeat purchases of
    /// positive mean value — the only ones whose spend the model describes; the result counts them.
    /// Throws like `BGNBDModel.fit`.
    public static func fit(_ summaries: [PurchaseSummary], optimizer: NelderMead = NelderMead(),
                           requireConvergence: Bool = true) throws(LifetimeValueError) -> ModelFit<GammaGammaModel> {
        let spenders = summaries.filter { $0.repeatPurchases > 0 && $0.meanRepeatValue > 0 }
        guard spenders.count >= minimumCustomers else {
            throw .insufficientData(needed: "at least \(minimumCustomers) customers with repeat purchases of positive value (got \(spenders.count))")
        }
        // Values scaled to a mean of 1 so that γ starts near 1 like p and q.
        let scale = spenders.reduce(0.0) { $0 + $1.meanRepeatValue } / Double(spenders.count)
        let likelihood = GammaGammaLikelihood(spenders, valueScale: scale)
        let result = optimizer.minimize(from: [0, 0, 0]) { -likelihood.logLikelihood(logParameters: $0) }
        guard result.value.isFinite else { throw .nonFinite("the Gamma-Gamma log-likelihood at the starting parameters") }
        guard result.converged || !requireConvergence else { throw .nonConvergent(iterations: result.iterations) }
        let values = result.point.map { exp($0) }
        let model = try GammaGammaModel(p: values[0], q: values[1], gamma: values[2] * scale)
        // Each mean value's density carries a factor 1/s under scaling by s.
        let logLikelihood = -result.value - Double(spenders.count) * log(scale)
        guard logLikelihood.isFinite else { throw .nonFinite("the Gamma-Gamma log-likelihood at the fitted parameters") }
        return ModelFit(model: model, logLikelihood: logLikelihood, iterations: result.iterations,
                        evaluations: result.evaluations, converged: result.converged, customers: spenders.count)
    }

    /// The log-likelihood of the model for the customers among `summaries` with repeat purchases of positive mean value.
    public func logLikelihood(of summaries: [PurchaseSummary]) throws(LifetimeValueError) -> Double {
        let spenders = summaries.filter { $0.repeatPurchases > 0 && $0.meanRepeatValue > 0 }
        let value = GammaGammaLikelihood(spenders, valueScale: 1).logLikelihood(logParameters: [log(p), log(q), log(gamma)])
        guard value.isFinite else { throw .nonFinite("the Gamma-Gamma log-likelihood") }
        return value
    }

    /// E(Z) = pγ/(q − 1): the mean purchase value across the population; finite only for q > 1.
    public func populationMeanValue() throws(LifetimeValueError) -> Double {
        guard q > 1 else { throw .nonFinite("the population mean purchase value (q = \(q) ≤ 1)") }
        return p * gamma / (q - 1)
    }

    /// E(M | x, m̄) = p(γ + x m̄)/(px + q − 1): the expected value of this customer's future purchases,
    /// their own mean shrunk towards the population's the fewer purchases it rests on. Without repeat
    /// purchases it is the population mean.
    public func expectedOrderValue(given summary: PurchaseSummary) throws(LifetimeValueError) -> Double {
        guard summary.repeatPurchases > 0 else { return try populationMeanValue() }
        let x = Double(summary.repeatPurchases)
        let denominator = p * x + q - 1
        guard denominator > 0 else { throw .nonFinite("the expected purchase value (px + q − 1 = \(denominator) ≤ 0)") }
        let value = p * (gamma + x * summary.meanRepeatValue) / denominator
        guard value.isFinite else { throw .nonFinite("the expected purchase value") }
        return value
    }
}

/// The Gamma-Gamma log-likelihood (Fader & Hardie 2013, eq. 1a) arranged so that one evaluation
/// costs one logarithm per customer: the log-gamma terms are taken once per distinct x, and the
/// terms linear in p are sums computed once.
struct GammaGammaLikelihood: Sendable {
    /// The distinct x and how many customers have each.
    private var counts: [Double] = []
    private var countCustomers: [Double] = []
    /// Per customer: x·m̄ (scaled) and its x.
    private var totals: [Double] = []
    private var customerCounts: [Double] = []
    private var customers = 0.0
    /// Σ x ln m̄ and Σ ln m̄ over the customers, which multiply p and 1.
    private var sumCountLogMean = 0.0
    private var sumLogMean = 0.0

    init(_ spenders: [PurchaseSummary], valueScale: Double) {
        var countIndex: [Int: Int] = [:]
        for summary in spenders {
            let x = Double(summary.repeatPurchases)
            let mean = summary.meanRepeatValue / valueScale
            if let known = countIndex[summary.repeatPurchases] {
                countCustomers[known] += 1
            } else {
                countIndex[summary.repeatPurchases] = counts.count
                counts.append(x)
                countCustomers.append(1)
            }
            totals.append(x * mean)
            customerCounts.append(x)
            customers += 1
            sumCountLogMean += x * log(mean)
            sumLogMean += log(mean)
        }
    }

    /// Σ ln f(m̄ | x) at (ln p, ln q, ln γ); NaN or infinite where the parameters overflow.
    func logLikelihood(logParameters: [Double]) -> Double {
        let p = exp(logParameters[0]), q = exp(logParameters[1]), gamma = exp(logParameters[2])
        var total = customers * (q * log(gamma) - SpecialFunctions.logGamma(q)) + p * sumCountLogMean - sumLogMean
        for (x, weight) in zip(counts, countCustomers) {
            total += weight * (SpecialFunctions.logGamma(p * x + q) - SpecialFunctions.logGamma(p * x) + p * x * log(x))
        }
        for (x, spend) in zip(customerCounts, totals) {
            total -= (p * x + q) * log(spend + gamma)
        }
        return total
    }
}
