import OmniaCore

/// `POST /v1/promotions` and `PATCH /v1/promotions/{id}` (where every field is optional and
/// replaces the current one; a change of terms makes a new version, a change of status does not).
struct PromotionRequest: RequestBody {
    var name: String?
    var description: String?
    /// `draft` (the default), `active`, `paused` or `archived`.
    var status: String?
    /// The rule as text, or `condition_json` in the rule language's JSON form; neither: always.
    var condition: String?
    var conditionJson: JSONValue?
    var effects: [PromotionEffectInput]?
    /// Needed when an effect names an amount (`amount`, `price`, tier thresholds).
    var currency: String?
    var priority: Int?
    /// `stackable` (the default) or `exclusive`.
    var stacking: String?
    /// Of promotions sharing a group, one applies.
    var stackingGroup: String?
    /// Channel codes; every channel when absent or empty.
    var channels: [String]?
    var channelKinds: [String]?
    var countries: [String]?
    var schedule: PromotionScheduleInput?
    /// A promotional code that unlocks it (stored in upper case).
    var code: String?
    /// A coupon campaign (`cpc_…`) any valid code of which unlocks it.
    var couponCampaignId: String?
    /// How much it may give in all; `{}` removes the budget.
    var budget: PromotionBudget?
    /// How often one customer, and everyone in one local day, may have it; `{}` removes the limits.
    var limits: PromotionLimits?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, description, status, condition, conditionJson, effects, currency, priority, stacking, stackingGroup, channels, channelKinds,
             countries, schedule, code, couponCampaignId, budget, limits
    }
}

/// A promotion's budget, taken by committed sales and given back by returns.
struct PromotionBudget: Codable, Sendable, Equatable {
    /// The total discount it may give, in minor units of its currency.
    var amount: Int64?
    /// How many sales may use it.
    var redemptions: Int64?

    var isEmpty: Bool { amount == nil && redemptions == nil }
}

/// How many sales may use a promotion per customer (over its life) and per local day (everyone together).
struct PromotionLimits: Codable, Sendable, Equatable {
    var perCustomer: Int64?
    var perDay: Int64?

    var isEmpty: Bool { perCustomer == nil && perDay == nil }
}

/// One effect, by `type`; each type reads its own fields (see docs/promotions.md).
struct PromotionEffectInput: Codable, Sendable, Equatable {
    var type: String?
    /// A percentage as text or number, up to two decimals: `"12.5"`.
    var percent: PercentText?
    var amount: Int64?
    /// A line selector in the rule language (reads one line: `category startsWith "women/"`); absent: every line.
    var lines: String?
    var every: Int?
    var buy: String?
    var buyQuantity: Int?
    var get: String?
    var getQuantity: Int?
    var quantity: Int?
    var price: Int64?
    var tiers: [PromotionTierInput]?
    var points: Int64?
    var campaignId: String?
}

struct PromotionTierInput: Codable, Sendable, Equatable {
    var threshold: Int64?
    var amountOff: Int64?
    var percentOff: PercentText?
}

struct PromotionScheduleInput: Codable, Sendable, Equatable {
    /// Local days, `YYYY-MM-DD`, inclusive.
    var startsOn: String?
    var endsOn: String?
    /// `monday` … `sunday`; every day when absent.
    var weekdays: [String]?
    /// Local times of day, `HH:MM`; `from` after `to` runs over midnight.
    var hoursFrom: String?
    var hoursTo: String?
}

/// A percentage given as `12.5` or `"12.5"`, kept as the text the client wrote.
struct PercentText: Codable, Sendable, Equatable {
    let text: String

    init(_ text: String) { self.text = text }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self.text = text
        } else if let integer = try? container.decode(Int64.self) {
            self.text = String(integer)
        } else {
            let number = try container.decode(Double.self)
            self.text = String(number)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    /// Basis points (12.5 → 1,250), or nil when it is not 0.01 to 100 with at most two decimals.
    var basisPoints: Int64? {
        guard let number = RuleDecimal(parsing: Substring(text)), number.scaled % 10_000 == 0 else { return nil }
        let points = number.scaled / 10_000
        return (1...10_000).contains(points) ? points : nil
    }
}

/// A promotion as the API shows it: its current terms, version and status.
struct PromotionView: Codable, Sendable {
    let id: String
    let version: Int
    let status: String
    let name: String
    let description: String?
    let condition: String?
    let conditionJson: JSONValue?
    let effects: [PromotionEffectInput]
    let currency: String?
    let priority: Int
    let stacking: String
    let stackingGroup: String?
    let channels: [String]
    let channelKinds: [String]
    let countries: [String]
    let schedule: PromotionScheduleInput?
    let code: String?
    let couponCampaignId: String?
    let budget: PromotionBudget?
    let limits: PromotionLimits?
    /// Warnings from the last change that did not stop it (an effect naming a SKU never sold).
    let warnings: [String]?
    let createdAt: StoredTime
    let updatedAt: StoredTime
}

/// The validated terms of one version of a promotion, stored as JSON and compiled by the catalog.
struct PromotionTerms: Codable, Sendable, Equatable {
    var name: String
    var description: String?
    /// Canonical text of the rule.
    var condition: String?
    var effects: [PromotionEffectInput]
    var currency: String?
    var priority: Int
    var stacking: String
    var stackingGroup: String?
    var channels: [String]
    var channelKinds: [String]
    var countries: [String]
    var schedule: PromotionScheduleInput?
    var code: String?
    var couponCampaignId: String?
    var budget: PromotionBudget?
    var limits: PromotionLimits?
}
