import OmniaCore

/// `POST /v1/checkout/evaluate`: a cart as any channel has it, and who buys it, where.
struct EvaluateCheckoutRequest: RequestBody {
    /// The channel's code or id (a key bound to a channel may leave it out).
    var channel: String?
    var currency: String?
    var customerId: String?
    var lines: [EvaluateLineInput]?
    /// Promotional and coupon codes entered.
    var codes: [String]?
    /// The checkout's country (ISO 3166), e.g. a web order's delivery country; a store's own by default.
    var country: String?
    /// When the checkout happens (RFC 3339); now when absent.
    var at: String?
    /// Also list every promotion that does not apply, with why (`not_applied`): for a console or
    /// a support agent; a till needs only what applies.
    var explain: Bool?
    /// Also list what the customer holds that can pay for this cart (`tenders`): a till offering
    /// gift cards, store credit or points at payment asks once, with the cart.
    var wallet: Bool?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case channel, currency, customerId, lines, codes, country, at, explain, wallet
    }

    static let maximumLines = 500
    static let maximumQuantity: Int64 = 10_000
    static let maximumCodes = 10
}

struct EvaluateLineInput: Codable, Sendable {
    var sku: String?
    /// What the receipt prints (a commit stores it; an evaluation does not need it).
    var name: String?
    var category: String?
    var brand: String?
    var quantity: Int64?
    /// Minor units of the cart's currency.
    var unitPrice: Int64?
    var tags: [String]?
}

/// What every channel is told about one cart: each promotion that applies and why, what it takes
/// off each line, the codes accepted or refused, and the totals after.
struct CheckoutEvaluation: Codable, Sendable {
    struct Line: Codable, Sendable {
        let line: Int
        let sku: String
        let quantity: Int64
        let total: Int64
        let discount: Int64
        let netTotal: Int64
        /// Each promotion's share of the discount on this line.
        let promotions: [LinePromotion]
    }

    struct LinePromotion: Codable, Sendable {
        let promotionId: String
        let amount: Int64
    }

    struct Applied: Codable, Sendable {
        let promotionId: String
        let version: Int
        let name: String
        let discount: Int64
        let freeShipping: Bool
        let bonusPoints: Int64
        /// Coupon campaigns a coupon is issued from, and gift card amounts, when the sale is committed.
        let issuesCoupons: [String]
        let issuesGiftCards: [Int64]
        /// Why it applies: its condition (absent: none), and the code or coupon campaign that unlocked it.
        let condition: String?
        let unlockedBy: String?
    }

    struct NotApplied: Codable, Sendable {
        let promotionId: String
        let name: String
        let reason: String
        let detail: String
    }

    /// An instrument of the customer's that can pay for this cart: in its currency, active, with
    /// value available, and allowed in its channel and country — `instruments[]` of a redemption.
    struct WalletTender: Codable, Sendable {
        /// `gift_card`, `store_credit` or `points`.
        let type: String
        let id: String
        /// What it can pay now, in minor units of the cart's currency.
        let available: Int64
        /// Of points: how many are available (`available` is their value).
        let points: Int64?
        /// Of a gift card: the last four characters of its code, to tell cards apart.
        let codeLast4: String?
    }

    struct Code: Codable, Sendable {
        let code: String
        /// `accepted` or `rejected`.
        let status: String
        /// What it unlocks: a promotion's own code, or a coupon campaign.
        let unlocks: String?
        /// Why it was refused: the same codes a coupon validation gives (`coupon_not_found`, `coupon_ended`, …).
        let reason: String?
        let detail: String?
    }

    let currency: String
    let customerId: String?
    let channel: String
    let subtotal: Int64
    let discount: Int64
    let total: Int64
    let freeShipping: Bool
    let bonusPoints: Int64
    /// What the loyalty programme of the cart's currency gives the customer for this cart once
    /// sold — on each line's net, after the discounts, by its earn rules and the customer's tier;
    /// absent for an anonymous cart or a currency without an active programme. `bonus_points` come on top.
    let pointsToEarn: Int64?
    let lines: [Line]
    let applied: [Applied]
    /// With `explain: true` only.
    let notApplied: [NotApplied]?
    let codes: [Code]
    /// With `wallet: true` and a customer only.
    var tenders: [WalletTender]? = nil
    let catalogVersion: Int64
    let evaluatedAt: StoredTime
}
