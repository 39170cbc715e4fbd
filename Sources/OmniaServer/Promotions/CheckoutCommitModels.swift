import OmniaCore

/// `POST /v1/checkout/commit`: the cart as evaluated, posted as the sale. The promotions are
/// evaluated again and their budgets, limits and coupon uses taken in the sale's own transaction.
struct CommitCheckoutRequest: RequestBody, Encodable {
    /// The sale's id in its channel (an order number, a till's receipt number): a retry with the
    /// same request answers the stored commit, whatever the promotions say by then.
    var externalId: String?
    var channel: String?
    var currency: String?
    var customerId: String?
    /// As evaluated, with each line's `name` for the receipt.
    var lines: [EvaluateLineInput]?
    var codes: [String]?
    var country: String?
    /// When the sale happened (RFC 3339); now when absent.
    var at: String?
    /// The promotions the evaluation shown to the customer applied. When given, a commit whose
    /// evaluation applies others is refused (409 `evaluation_changed`, or
    /// `promotion_budget_exhausted` / `promotion_limit_reached` when one has run out since).
    var promotions: [String]?
    var taxes: [TaxInput]?
    var taxesIncluded: Bool?
    /// How the sale was paid; their sum must be the total after discounts.
    var tenders: [TenderInput]?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case externalId, channel, currency, customerId, lines, codes, country, at, promotions, taxes, taxesIncluded, tenders
    }

    /// The cart as an evaluation reads it.
    var evaluation: EvaluateCheckoutRequest {
        EvaluateCheckoutRequest(channel: channel, currency: currency, customerId: customerId, lines: lines, codes: codes, country: country, at: at,
                                explain: true)
    }
}

/// What a commit answers: the sale as recorded (its lines carrying each one's discount), and what
/// each promotion took and gave. 201 when committed now, 200 for a retry of the same commit.
struct CheckoutCommit: Encodable, Sendable {
    let transaction: SalesTransaction
    let promotions: [PromotionRedemption]
    let discount: Int64
    let bonusPoints: Int64
    let freeShipping: Bool
    /// Each code entered, accepted or refused with why, as the evaluation gave it; none on a retry.
    let codes: [CheckoutEvaluation.Code]
    /// What the promotions issued for the next visit: coupons in the customer's wallet, gift cards
    /// (with their codes, for the receipt — shown here only, not on a retry).
    let issued: [Issued]
    let created: Bool

    struct Issued: Codable, Sendable {
        let promotionId: String
        /// `coupon` or `gift_card`.
        let type: String
        var couponCode: String? = nil
        var couponCampaignId: String? = nil
        var giftCardId: String? = nil
        var giftCardCode: String? = nil
        var amount: Int64? = nil
    }

    enum CodingKeys: String, CodingKey {
        case transaction, promotions, discount, bonusPoints, freeShipping, codes, issued
    }
}
