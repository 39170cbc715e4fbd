import OmniaCore

/// A coupon campaign: one public code many customers use (`generic`, e.g. `SUMMER10`), or many
/// single-use codes generated for it (`unique`), each usable once. What a coupon unlocks is the
/// promotions' business; here a coupon is a right to use, counted so that no use is taken twice.
struct CouponCampaign: Codable, Sendable, Equatable {
    let id: String
    let name: String
    /// `generic` or `unique`.
    let kind: String
    /// A generic campaign's code.
    let code: String?
    /// `active` or `paused` (a paused campaign's codes are refused until it is active again).
    let status: String
    let startsAt: StoredTime?
    let endsAt: StoredTime?
    /// Channel codes its codes may be used in; every channel when absent.
    let channels: [String]?
    /// Uses in all (generic); a unique campaign's limit is its codes.
    let totalLimit: Int64?
    /// Uses per customer; a campaign with one needs the customer named at checkout.
    let perCustomerLimit: Int64?
    /// Uses held or redeemed so far.
    let uses: Int64
    /// Single-use codes generated (unique).
    let codeCount: Int64
    let createdAt: StoredTime
    let updatedAt: StoredTime

    static let kinds = ["generic", "unique"]
}

/// `POST /v1/coupon_campaigns`.
struct CreateCouponCampaignRequest: RequestBody {
    var name: String?
    var kind: String?
    /// Generic only: 3 to 32 letters, digits and dashes, stored in upper case.
    var code: String?
    var startsAt: String?
    var endsAt: String?
    var channels: [String]?
    var totalLimit: Int64?
    var perCustomerLimit: Int64?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, kind, code, startsAt, endsAt, channels, totalLimit, perCustomerLimit
    }
}

/// `POST /v1/coupon_campaigns/{id}/codes`.
struct GenerateCouponCodesRequest: RequestBody {
    var count: Int?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case count
    }
}

struct GeneratedCouponCodes: Codable, Sendable {
    let campaignId: String
    let generated: Int
    let codeCount: Int64
}

/// `POST /v1/coupons/assign`.
struct AssignCouponRequest: RequestBody {
    var code: String?
    var customerId: String?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case code, customerId
    }
}

/// A code as a till or web shop sees it when it asks: which campaign, and whether it can be used
/// now, here, by this customer (`GET /v1/coupons/validate`), or whom it is assigned to.
struct Coupon: Codable, Sendable, Equatable {
    /// The printed code.
    let code: String
    let campaignId: String
    let campaignName: String
    let kind: String
    /// A unique code's `available`, `held` or `redeemed`; a generic code's `available` while uses remain.
    let status: String
    let customerId: String?
    let endsAt: StoredTime?
}
