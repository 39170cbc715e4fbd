import OmniaCore

/// A checkout's claim on a customer's instruments: a hold (`kind: hold`, reserved until captured,
/// voided or expired) or a redemption (`kind: redemption`, taken at once). Each part is one
/// instrument and one ledger transfer.
struct CheckoutHold: Codable, Sendable, Equatable {
    let id: String
    /// `hold` or `redemption`.
    let kind: String
    /// `open`, `captured`, `voided` or `expired`; a redemption is `captured` from the start.
    let status: String
    let channelId: String
    /// The checkout's currency: every card of the hold counts it.
    let currency: String
    let country: String?
    let customerId: String?
    /// The caller's own reference: an order or basket number.
    let reference: String?
    /// Until when an open hold reserves its amounts (a redemption has none).
    let expiresAt: StoredTime?
    /// When a till says the redemption happened (one synced after working offline); absent for one made live.
    var occurredAt: StoredTime? = nil
    let parts: [CheckoutHoldPart]
    let createdAt: StoredTime
    let updatedAt: StoredTime

    static let kinds = ["hold", "redemption"]
}

/// One instrument of a hold: how much it reserved, how much of that was captured and how much of
/// the capture was refunded, in the instrument's unit.
struct CheckoutHoldPart: Codable, Sendable, Equatable {
    /// `gift_card`, `store_credit` or `coupon`.
    let instrumentType: String
    let instrumentId: String
    /// The instrument's unit: an ISO 4217 currency, `points`, or `uses` (a coupon: amount 1).
    let unit: String
    let amount: Int64
    let captured: Int64
    let refunded: Int64
    /// The ledger transfer that reserved (`pending`) or took (`posted`) the amount; none for a coupon.
    let transferId: String?
    /// A points part: what one point pays, in minor units of the checkout's currency, fixed when
    /// the points were held. Captures and refunds, given in the currency, take whole points at it.
    var pointValue: Int64? = nil

    /// What `units` of the part pay in the checkout's currency.
    func value(of units: Int64) -> Int64 { units * (pointValue ?? 1) }

    /// The whole units of the part that `value` of the checkout's currency pays for, at most `units`.
    func units(paying value: Int64, atMost units: Int64) -> Int64 { min(units, value / (pointValue ?? 1)) }
}

/// An instrument named in a request: by id, or by the code a shopper gives (with its PIN when it has one).
struct InstrumentInput: Codable, Sendable {
    var type: String?
    var id: String?
    var code: String?
    var pin: String?
    /// In the instrument's unit (minor units of its currency); a coupon's is 1, and may be left out.
    var amount: Int64?
}

/// `POST /v1/holds` and `POST /v1/redemptions`.
struct CreateHoldRequest: RequestBody {
    /// The channel (id or code) the checkout runs in.
    var channel: String?
    /// ISO 4217: the checkout's currency, which every card must count; the tenant's when absent.
    var currency: String?
    /// ISO 3166-1 alpha-2; the channel's location's country when absent.
    var country: String?
    var customerId: String?
    var reference: String?
    /// Seconds an open hold lasts, 30 to 604,800 (7 days); 900 when absent. Not for redemptions.
    var expiresIn: Int?
    var instruments: [InstrumentInput]?
    /// Redemptions only: when the till made it, RFC 3339 (a till syncing what it did offline).
    var occurredAt: String?
    /// Redemptions only: true for one a till made offline and now syncs. One that can no longer
    /// be honoured is then recorded as a `redemption_exception` (202) instead of refused.
    var offline: Bool?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case channel, currency, country, customerId, reference, expiresIn, instruments, occurredAt, offline
    }
}

/// `POST /v1/holds/{id}/capture`, and `/refund`: how much, in the checkout's currency, taken from
/// the parts in order (the whole when absent); `/void` takes only the reason.
struct HoldAmountRequest: RequestBody {
    var amount: Int64?
    var reason: String?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case amount, reason
    }
}

/// The type of instrument a hold part names, and how the ledger moves its value.
enum InstrumentType: String, CaseIterable, Sendable {
    case giftCard = "gift_card"
    case storeCredit = "store_credit"
    /// A coupon code: a right to one use, not value — it moves no money, so its part has no ledger transfer.
    case coupon
    /// A member's loyalty points (their points account, `pts_…`), spent at the programme's point value.
    case points

    /// Whether the instrument holds value on the ledger (a coupon holds uses).
    var holdsValue: Bool { self != .coupon }

    /// The control account a redeemed amount goes to and a refund comes from.
    var redeemedPurpose: String {
        switch self {
        case .giftCard: "gift_cards_redeemed"
        case .storeCredit: "store_credit_redeemed"
        case .points: "points_redeemed"
        case .coupon: preconditionFailure("a coupon moves no value")
        }
    }

    /// The prefix of its id, for instruments named by id.
    var idPrefix: IDPrefix? {
        switch self {
        case .giftCard: .giftCard
        case .storeCredit: .storeCredit
        case .points: .loyaltyAccount
        case .coupon: nil
        }
    }

    /// How errors name it.
    var noun: String {
        switch self {
        case .giftCard: "gift card"
        case .storeCredit: "store credit"
        case .points: "points account"
        case .coupon: "coupon"
        }
    }
}

/// A redemption a till made offline that could not be honoured when it synced (the card was spent
/// elsewhere meanwhile, disabled, the coupon used): nothing of it was taken, and it waits here for
/// review with the amount at risk.
struct RedemptionException: Codable, Sendable, Equatable {
    let id: String
    /// `open` until someone resolves it, then `resolved`.
    let status: String
    let channelId: String
    let customerId: String?
    let reference: String?
    let occurredAt: StoredTime?
    let currency: String
    /// What the till took payment for with the instruments that could not be honoured: the value instruments' amounts.
    let amountAtRisk: Int64
    /// The instruments as the till sent them (codes shown by their last four characters, PINs never).
    let instruments: [ExceptionInstrument]
    /// The refusal a live redemption would have got (`insufficient_funds`, `gift_card_disabled`, `coupon_already_redeemed`…).
    let code: String
    let detail: String
    let resolution: String?
    let createdAt: StoredTime
    let resolvedAt: StoredTime?
}

struct ExceptionInstrument: Codable, Sendable, Equatable {
    let type: String
    let id: String?
    let codeLast4: String?
    let amount: Int64
}

/// `POST /v1/redemption_exceptions/{id}/resolve`.
struct ResolveExceptionRequest: RequestBody {
    /// What was done about it (the customer paid the difference, written off…), for the audit log.
    var resolution: String?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case resolution
    }
}
