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

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case channel, currency, country, customerId, reference, expiresIn, instruments
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

    /// Whether the instrument holds value on the ledger (a coupon holds uses).
    var holdsValue: Bool { self != .coupon }

    /// The control account a redeemed amount goes to and a refund comes from.
    var redeemedPurpose: String {
        switch self {
        case .giftCard: "gift_cards_redeemed"
        case .storeCredit: "store_credit_redeemed"
        case .coupon: preconditionFailure("a coupon moves no value")
        }
    }

    /// The prefix of its id, for instruments named by id.
    var idPrefix: IDPrefix? {
        switch self {
        case .giftCard: .giftCard
        case .storeCredit: .storeCredit
        case .coupon: nil
        }
    }

    /// How errors name it.
    var noun: String {
        switch self {
        case .giftCard: "gift card"
        case .storeCredit: "store credit"
        case .coupon: "coupon"
        }
    }
}
