import Foundation
import OmniaCore

/// A gift card as the API shows it. Its code appears once, in the response that issued it; after
/// that only its last four characters do.
struct GiftCard: Codable, Sendable, Equatable {
    let id: String
    /// The printed code (`K7QM-4XZP-9RTA-B3CV`), only when the card was just issued.
    var code: String?
    let codeLast4: String
    let currency: String
    /// `active`, `inactive` (issued, not yet sold), `disabled` or `expired`.
    let status: String
    /// Credits minus debits posted, in minor units.
    let balance: Int64
    /// The balance less what open holds reserve.
    let available: Int64
    let customerId: String?
    let hasPin: Bool
    /// The channel codes it may be spent in; absent: every channel.
    let channels: [String]?
    /// The countries (ISO 3166-1 alpha-2) it may be spent in; absent: everywhere.
    let countries: [String]?
    let expiresAt: StoredTime?
    let createdAt: StoredTime
    let updatedAt: StoredTime
}

/// `POST /v1/gift_cards`.
struct IssueGiftCardRequest: RequestBody {
    /// Minor units loaded at issue (0 for a card loaded later).
    var amount: Int64?
    /// ISO 4217; the tenant's currency when absent. Must be one the tenant accepts.
    var currency: String?
    var customerId: String?
    /// 4 to 8 digits; without one, the code alone spends the card.
    var pin: String?
    /// RFC 3339; the card cannot be spent after it.
    var expiresAt: String?
    /// false issues the card inactive, to be activated when it is sold.
    var active: Bool?
    /// Channel codes (or ids) the card may be spent in; every channel when absent.
    var channels: [String]?
    /// ISO 3166-1 alpha-2 countries the card may be spent in; everywhere when absent.
    var countries: [String]?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case amount, currency, customerId, pin, expiresAt, active, channels, countries
    }
}

/// `POST /v1/gift_cards/{id}/reload`.
struct ReloadGiftCardRequest: RequestBody {
    var amount: Int64?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case amount
    }
}

/// `POST /v1/gift_cards/{id}/activate` and `/disable`: an optional reason for the audit log (`{}` for none).
struct GiftCardActionRequest: RequestBody {
    var reason: String?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case reason
    }
}

/// A card's stored row, as far as reads need it (the PIN counters are only ever updated in SQL; the holder is the ledger account's).
struct GiftCardRow: Sendable {
    let id: String
    let codeLast4: String
    let currency: String
    let status: String
    let pinHash: String?
    let expiresAt: Int64?
    let channels: [String]?
    let countries: [String]?
    let createdAt: Int64
    let updatedAt: Int64

    /// The status a request sees: a card past its expiry is `expired` whatever was stored.
    func status(at now: Int64) -> String {
        if status != "disabled", let expiresAt, now >= expiresAt { return "expired" }
        return status
    }
}
