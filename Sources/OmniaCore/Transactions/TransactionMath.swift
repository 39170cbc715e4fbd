/// The arithmetic of sales and returns, in integer minor units.
public enum TransactionMath {
    /// `quantity × unitPrice − discount`, or nil when it would overflow or go below zero.
    public static func lineTotal(quantity: Int64, unitPrice: Int64, discount: Int64) -> Int64? {
        let (gross, overflow) = quantity.multipliedReportingOverflow(by: unitPrice)
        guard !overflow, discount <= gross else { return nil }
        return gross - discount
    }

    /// Splits `amount` across `weights` in proportion, by largest remainder, so the parts add up to
    /// `amount` exactly. Spreads an order-level discount over the lines, so each line knows the
    /// net amount its return refunds.
    public static func allocate(_ amount: Int64, over weights: [Int64]) -> [Int64] {
        let total = weights.reduce(0, +)
        guard total > 0, amount > 0 else { return weights.map { _ in 0 } }
        let divisions = weights.map { total.dividingFullWidth(amount.multipliedFullWidth(by: $0)) }
        var parts = divisions.map(\.quotient)
        let remainders = divisions.enumerated().map { ($0.offset, $0.element.remainder) }
        var left = amount - parts.reduce(0, +)
        for (index, _) in remainders.sorted(by: { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }) where left > 0 {
            parts[index] += 1
            left -= 1
        }
        return parts
    }

    /// What returning `quantity` more units of a line refunds, when `alreadyReturned` of the `sold`
    /// units were returned before. Each return refunds the difference of cumulative shares, so
    /// returning every unit, in any number of returns, refunds exactly the line's net amount.
    public static func refund(net: Int64, sold: Int64, alreadyReturned: Int64, quantity: Int64) -> Int64 {
        precondition(sold > 0 && alreadyReturned >= 0 && quantity >= 0 && alreadyReturned + quantity <= sold)
        func share(_ units: Int64) -> Int64 {
            sold.dividingFullWidth(net.multipliedFullWidth(by: units)).quotient
        }
        return share(alreadyReturned + quantity) - share(alreadyReturned)
    }
}
