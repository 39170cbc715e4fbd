/// Exact integer arithmetic for discounts: shares that sum to the amount to the minor unit.
public enum DiscountAllocation {
    /// Splits `amount` over `weights` in proportion (largest remainder; ties to the earlier weight).
    /// Each share is at most its weight when `amount` is at most their sum, so no line goes below zero.
    public static func proportional(_ amount: Int64, over weights: [Int64]) -> [Int64] {
        let total = weights.reduce(0, +)
        guard amount > 0, total > 0 else { return weights.map { _ in 0 } }
        let amount = min(amount, total)
        var shares: [Int64] = []
        var remainders: [(remainder: UInt64, index: Int)] = []
        for (index, weight) in weights.enumerated() {
            let product = amount.multipliedFullWidth(by: weight)
            let (quotient, remainder) = total.dividingFullWidth(product)
            shares.append(quotient)
            remainders.append((UInt64(remainder), index))
        }
        var left = amount - shares.reduce(0, +)
        for entry in remainders.sorted(by: { $0.remainder != $1.remainder ? $0.remainder > $1.remainder : $0.index < $1.index }) where left > 0 {
            guard entry.remainder > 0 else { break }
            shares[entry.index] += 1
            left -= 1
        }
        return shares
    }

    /// `basisPoints` / 10,000 of `amount`, rounded half to even.
    public static func percent(_ basisPoints: Int64, of amount: Int64) -> Int64 {
        let product = amount.multipliedFullWidth(by: basisPoints)
        let (quotient, remainder) = Int64(10_000).dividingFullWidth(product)
        let twice = remainder * 2
        if twice > 10_000 || (twice == 10_000 && quotient % 2 != 0) { return quotient + 1 }
        return quotient
    }
}
