/// What the engine decided for one checkout: each promotion applied with its discount per line,
/// each one that did not with why, and the lines' totals after all of them.
public struct PromotionEvaluation: Sendable {
    public struct Applied: Sendable {
        public let promotionID: String
        public let version: Int
        /// Per cart line, in the cart's order: what this promotion took off it.
        public let lineDiscounts: [Int64]
        public let freeShipping: Bool
        public let bonusPoints: Int64
        public let couponCampaigns: [String]
        public let giftCardAmounts: [Int64]

        public var discount: Int64 { lineDiscounts.reduce(0, +) }
    }

    public struct NotApplied: Sendable, Hashable {
        public let promotionID: String
        public let reason: Reason
        public let detail: String

        public init(promotionID: String, reason: Reason, detail: String) {
            self.promotionID = promotionID
            self.reason = reason
            self.detail = detail
        }
    }

    public enum Reason: String, Sendable {
        case conditionNotMet = "condition_not_met"
        case outsideSchedule = "outside_schedule"
        case otherChannel = "other_channel"
        case otherCountry = "other_country"
        case otherCurrency = "other_currency"
        case codeRequired = "code_required"
        case evaluationFailed = "evaluation_failed"
        case excludedByExclusive = "excluded_by_exclusive"
        case notCombinable = "not_combinable"
        case groupTaken = "group_taken"
        case nothingToDiscount = "nothing_to_discount"
        /// Decided by the caller (a budget or limit used up); passed in as `unavailable`.
        case unavailable
    }

    public let applied: [Applied]
    public let notApplied: [NotApplied]
    /// Per line: the line's total, what all promotions took off it, and what is left.
    public let lineTotals: [Int64]
    public let lineDiscounts: [Int64]

    public var subtotal: Int64 { lineTotals.reduce(0, +) }
    public var discount: Int64 { lineDiscounts.reduce(0, +) }
    public var total: Int64 { subtotal - discount }
    public var freeShipping: Bool { applied.contains(where: \.freeShipping) }
    public var bonusPoints: Int64 { applied.reduce(0) { $0 + $1.bonusPoints } }
}
