import OmniaCore

/// A loyalty programme: its rules (`LoyaltyRules`) in one currency, which its sales earn in and
/// its points pay in. At most one programme per currency is active.
struct LoyaltyProgramme: Encodable, Sendable, Equatable {
    let id: String
    let name: String
    let currency: String
    /// `active` (sales earn, points can be spent) or `inactive`.
    let status: String
    let earnPoints: Int64
    let earnPerAmount: Int64
    let pointValue: Int64
    let pointsExpireAfterDays: Int?
    let qualificationWindowDays: Int
    let negativeBalance: String
    let tiers: [LoyaltyTier]
    let earnRules: [EarnRuleView]
    let createdAt: StoredTime
    let updatedAt: StoredTime

    init(_ stored: StoredLoyaltyProgramme) {
        let rules = stored.rules
        id = stored.id
        name = stored.name
        currency = stored.currency
        status = stored.status
        earnPoints = rules.earnPoints
        earnPerAmount = rules.earnPerAmount
        pointValue = rules.pointValue
        pointsExpireAfterDays = rules.pointsExpireAfterDays
        qualificationWindowDays = rules.qualificationWindowDays
        negativeBalance = rules.negativeBalance.rawValue
        tiers = rules.tiers
        earnRules = rules.earnRules.map(EarnRuleView.init)
        createdAt = stored.createdAt
        updatedAt = stored.updatedAt
    }
}

/// An earn rule as the API shows it: its period as RFC 3339 times.
struct EarnRuleView: Encodable, Sendable, Equatable {
    let name: String
    let channels: [String]?
    let categories: [String]?
    let tiers: [String]?
    let startsAt: StoredTime?
    let endsAt: StoredTime?
    let earnPercent: Int64

    init(_ rule: EarnRule) {
        name = rule.name
        channels = rule.channels
        categories = rule.categories
        tiers = rule.tiers
        startsAt = rule.startsAt.map(StoredTime.init(milliseconds:))
        endsAt = rule.endsAt.map(StoredTime.init(milliseconds:))
        earnPercent = rule.earnPercent
    }
}

/// A programme row: its rules decoded.
struct StoredLoyaltyProgramme: Sendable, Equatable {
    let id: String
    let name: String
    let currency: String
    let status: String
    let rules: LoyaltyRules
    let createdAt: StoredTime
    let updatedAt: StoredTime
}

/// `POST /v1/loyalty_programmes`; and `PATCH /v1/loyalty_programmes/{id}`, where each field present
/// replaces the programme's (a whole list for `tiers` and `earn_rules`) and `currency` cannot change.
struct LoyaltyProgrammeRequest: RequestBody {
    var name: String?
    var currency: String?
    var status: String?
    var earnPoints: Int64?
    var earnPerAmount: Int64?
    var pointValue: Int64?
    /// 0 (or absent on create): points never expire.
    var pointsExpireAfterDays: Int?
    var qualificationWindowDays: Int?
    var negativeBalance: String?
    var tiers: [LoyaltyTierInput]?
    var earnRules: [EarnRuleInput]?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, currency, status, earnPoints, earnPerAmount, pointValue, pointsExpireAfterDays, qualificationWindowDays, negativeBalance, tiers,
             earnRules
    }
}

struct LoyaltyTierInput: Codable, Sendable {
    var code: String?
    var name: String?
    var threshold: Int64?
    var earnPercent: Int64?
}

struct EarnRuleInput: Codable, Sendable {
    var name: String?
    var channels: [String]?
    var categories: [String]?
    var tiers: [String]?
    var startsAt: String?
    var endsAt: String?
    var earnPercent: Int64?
}

/// A customer's membership of a programme as the API shows it: points, tier and what expires next.
struct LoyaltyMembership: Encodable, Sendable, Equatable {
    /// The points account: the id to spend points by (`instruments[].id` with type `points`).
    let id: String
    let programmeId: String
    let customerId: String
    let currency: String
    /// Points held (posted), less any debt a return left (negative only under the `allow` policy).
    let balance: Int64
    /// What can be spent now: the points held less what open holds reserve.
    let available: Int64
    /// What `available` pays, in minor units of `currency`.
    let availableValue: Int64
    let debt: Int64
    let tier: LoyaltyTier
    let tierUntil: StoredTime
    /// Points earned within the qualification window, less what returns took back.
    let qualifyingPoints: Int64
    /// The next lots to expire, soonest first (up to five).
    let nextExpiries: [PointsExpiry]
}

struct PointsExpiry: Encodable, Sendable, Equatable {
    let points: Int64
    let expiresAt: StoredTime
}

/// `POST /v1/customers/{id}/loyalty/adjustments`: an agent's correction, with its reason (audited).
struct LoyaltyAdjustmentRequest: RequestBody {
    /// The programme; the active one in the tenant's currency when absent.
    var programmeId: String?
    /// Points to add (positive, a new lot) or take (negative, first-to-expire first).
    var points: Int64?
    var reason: String?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case programmeId, points, reason
    }
}

/// The data of `loyalty.points_*` events: which member, how many points, why, and their balance after.
struct PointsMovement: Encodable, Sendable {
    let accountId: String
    let programmeId: String
    let customerId: String
    let points: Int64
    /// The sale, return, adjustment, hold or merge that moved them.
    let sourceId: String
    let reason: String?
    /// Points a return could not take back (the `forbid` policy): written off.
    var writtenOff: Int64? = nil
}

/// The data of `loyalty.tier_changed`.
struct TierChange: Encodable, Sendable {
    let accountId: String
    let programmeId: String
    let customerId: String
    let from: String
    let to: String
    let until: StoredTime
}
