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
    /// `gift_card` or `store_credit`.
    let instrumentType: String
    let instrumentId: String
    /// The instrument's unit: an ISO 4217 currency, or `points`.
    let unit: String
    let amount: Int64
    let captured: Int64
    let refunded: Int64
    /// The ledger transfer that reserved (`pending`) or took (`posted`) the amount.
    let transferId: String
}

/// An instrument named in a request: by id, or by the code a shopper gives (with its PIN when it has one).
struct InstrumentInput: Codable, Sendable {
    var type: String?
    var id: String?
    var code: String?
    var pin: String?
    /// In the instrument's unit (minor units of its currency).
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

    /// The control account a redeemed amount goes to and a refund comes from.
    var redeemedPurpose: String {
        switch self {
        case .giftCard: "gift_cards_redeemed"
        case .storeCredit: "store_credit_redeemed"
        }
    }

    var idPrefix: IDPrefix {
        switch self {
        case .giftCard: .giftCard
        case .storeCredit: .storeCredit
        }
    }

    /// How errors name it.
    var noun: String {
        switch self {
        case .giftCard: "gift card"
        case .storeCredit: "store credit"
        }
    }
}
