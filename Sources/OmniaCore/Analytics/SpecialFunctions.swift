import Foundation

/// The special functions the customer-lifetime-value models are written in: log-gamma, the Gauss
/// hypergeometric function and log-sum-exp. Pure functions of their arguments.
public enum SpecialFunctions {
    /// The series stop once the rest they would add is below this share of their sum.
    static let seriesTolerance = Double.ulpOfOne / 2
    /// A series that has not settled after this many terms is too close to its radius of convergence to trust.
    public static let maximumSeriesTerms = 1_000_000

    /// ln Γ(x) for x > 0 (the C library's `lgamma`, accurate to a few ulps); NaN for x ≤ 0 or NaN.
    public static func logGamma(_ x: Double) -> Double {
        // Below zero Γ changes sign and has poles; no model here needs it there.
        guard x > 0 else { return .nan }
        return lgamma(x)
    }

    /// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b) for a, b > 0.
    public static func logBeta(_ a: Double, _ b: Double) -> Double {
        logGamma(a) + logGamma(b) - logGamma(a + b)
    }

    /// ln(eˣ + eʸ) without overflow or underflow; −∞ when both are −∞.
    public static func logSumExp(_ x: Double, _ y: Double) -> Double {
        let high = max(x, y)
        // An infinite maximum would make the differences below NaN.
        guard high.isFinite else { return x.isNaN || y.isNaN ? .nan : high }
        return high + log1p(exp(min(x, y) - high))
    }

    /// ln Σ eˣ over `values` without overflow or underflow; −∞ for no values.
    public static func logSumExp(_ values: [Double]) -> Double {
        guard let high = values.max() else { return -.infinity }
        guard high.isFinite else { return values.contains(where: \.isNaN) ? .nan : high }
        return high + log(values.reduce(0) { $0 + exp($1 - high) })
    }

    /// The Gauss hypergeometric function ₂F₁(a, b; c; z) by its power series, for |z| < 1; nil
    /// where the series does not apply (|z| ≥ 1, c a pole) or does not settle.
    public static func hypergeometric2F1(a: Double, b: Double, c: Double, z: Double) -> Double? {
        guard let tail = hypergeometric2F1Tail(a: a, b: b, c: c, z: z) else { return nil }
        let value = 1 + b * tail
        return value.isFinite ? value : nil
    }

    /// (₂F₁(a, b; c; z) − 1) / b by its own series, for |z| < 1 — finite and exact as b → 0,
    /// where the quotient itself would be 0 / 0. The BG/NBD forecast divides by a − 1 this way.
    /// nil where the series does not apply or does not settle.
    public static func hypergeometric2F1Tail(a: Double, b: Double, c: Double, z: Double) -> Double? {
        guard abs(z) < 1, a.isFinite, b.isFinite, c.isFinite, c != 0 else { return nil }
        // Σ_{k≥1} (a)_k (b + 1)_{k−1} zᵏ / ((c)_k k!), each term from the one before.
        var term = a * z / c
        var sum = term
        // Beyond this index no factor can change sign, and the ratio of terms tends to z monotonically.
        let settled = max(abs(a), abs(b), abs(c)) + 2
        var k = 1.0
        while true {
            let denominator = (c + k) * (k + 1)
            guard denominator != 0 else { return nil }
            let ratio = (a + k) * (b + k) * z / denominator
            term *= ratio
            sum += term
            k += 1
            guard sum.isFinite else { return nil }
            if term == 0 { return sum }
            if k > settled {
                // Later ratios stay below the larger of this one and z, so the rest is at most a geometric tail.
                let bound = max(abs(ratio), abs(z))
                if bound < 1, abs(term) * bound / (1 - bound) <= seriesTolerance * abs(sum) { return sum }
            }
            if k > Double(maximumSeriesTerms) { return nil }
        }
    }
}
