/// A promotion as the engine runs it: its rules compiled, its amounts in minor units.
public struct Promotion: Sendable {
    public let id: String
    public let version: Int
    public let name: String
    /// Higher first; ties by id.
    public let priority: Int
    public let stacking: PromotionStacking
    /// Null: always (within its schedule, channels and countries).
    public let condition: RuleProgram?
    public let effects: [PromotionEffect]
    /// The currency of its amounts; a cart in another currency is not eligible. Nil: percentages only.
    public let currency: Currency?
    /// Channels (by code) it applies in; empty: every channel.
    public let channels: Set<String>
    /// Channel kinds it applies in; empty: every kind.
    public let channelKinds: Set<String>
    /// Countries it applies in; empty: every country.
    public let countries: Set<String>
    public let schedule: PromotionSchedule
    public let unlock: PromotionUnlock

    public init(id: String, version: Int = 1, name: String, priority: Int = 0, stacking: PromotionStacking = .stackable,
                condition: RuleProgram? = nil, effects: [PromotionEffect], currency: Currency? = nil, channels: Set<String> = [], channelKinds: Set<String> = [],
                countries: Set<String> = [], schedule: PromotionSchedule = .always, unlock: PromotionUnlock = .none) {
        self.id = id
        self.version = version
        self.name = name
        self.priority = priority
        self.stacking = stacking
        self.condition = condition
        self.effects = effects
        self.currency = currency
        self.channels = channels
        self.channelKinds = channelKinds
        self.countries = countries
        self.schedule = schedule
        self.unlock = unlock
    }
}

/// How a promotion combines with others that apply to the same checkout.
public enum PromotionStacking: Sendable, Hashable {
    /// Applies only alone: if it comes first (by priority) no other applies after it; after others it does not apply.
    case exclusive
    /// Applies together with any other stackable or grouped promotion.
    case stackable
    /// At most one promotion of the group applies (the first by priority); it stacks with the rest.
    case group(String)
}

/// When a promotion runs, in the checkout's local time.
public struct PromotionSchedule: Sendable, Hashable {
    /// Local days (days since 1970-01-01), inclusive; nil: open-ended.
    public var firstDay: Int32?
    public var lastDay: Int32?
    /// 0 = Monday … 6 = Sunday; empty: every day.
    public var weekdays: Set<Int>
    /// Minutes of the day, from inclusive to exclusive; nil: all day. `from > to` runs over midnight.
    public var hours: (from: Int16, to: Int16)?

    public static let always = PromotionSchedule()

    public init(firstDay: Int32? = nil, lastDay: Int32? = nil, weekdays: Set<Int> = [], hours: (from: Int16, to: Int16)? = nil) {
        self.firstDay = firstDay
        self.lastDay = lastDay
        self.weekdays = weekdays
        self.hours = hours
    }

    public static func == (lhs: PromotionSchedule, rhs: PromotionSchedule) -> Bool {
        lhs.firstDay == rhs.firstDay && lhs.lastDay == rhs.lastDay && lhs.weekdays == rhs.weekdays && lhs.hours?.from == rhs.hours?.from
            && lhs.hours?.to == rhs.hours?.to
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(firstDay)
        hasher.combine(lastDay)
        hasher.combine(weekdays)
        hasher.combine(hours?.from)
        hasher.combine(hours?.to)
    }

    func contains(day: Int32, weekday: Int, minute: Int16) -> Bool {
        if let firstDay, day < firstDay { return false }
        if let lastDay, day > lastDay { return false }
        if !weekdays.isEmpty && !weekdays.contains(weekday) { return false }
        guard let hours else { return true }
        return hours.from <= hours.to ? (hours.from <= minute && minute < hours.to) : (minute >= hours.from || minute < hours.to)
    }
}

/// What must be entered at the checkout for a promotion to apply.
public enum PromotionUnlock: Sendable, Hashable {
    case none
    /// A promotional code, upper case (`WELCOME10`).
    case code(String)
    /// Any valid code of a coupon campaign (`cpc_…`), as the checkout's coupon validation found.
    case couponCampaign(String)
}

/// What a promotion gives. Amounts are minor units of the promotion's currency; percentages are
/// basis points (1,250 = 12.5 %), from 1 to 10,000. Line selectors read one cart line.
public enum PromotionEffect: Sendable {
    case percentOffCart(basisPoints: Int64)
    case amountOffCart(Int64)
    case percentOffLines(RuleProgram, basisPoints: Int64)
    /// An amount off each matching unit.
    case amountOffLines(RuleProgram, perUnit: Int64)
    /// Of every `every` matching units, the cheapest is free ("3 for 2": every 3).
    case cheapestFree(RuleProgram, every: Int)
    /// Buy `buyQuantity` of one set, get `getQuantity` of another (or the same) set `basisPoints` off (10,000: free), repeatedly.
    case buyXGetY(buy: RuleProgram, buyQuantity: Int, get: RuleProgram, getQuantity: Int, basisPoints: Int64)
    /// `quantity` matching units for `price` (as many times as the cart allows).
    case bundlePrice(RuleProgram, quantity: Int, price: Int64)
    /// The highest tier whose threshold the cart (after the promotions before) reaches.
    case tiered([PromotionTier])
    case freeShipping
    case bonusPoints(Int64)
    /// Issued when the sale is committed, for the next visit.
    case issueCoupon(campaignID: String)
    case issueGiftCard(amount: Int64)
}

public struct PromotionTier: Sendable, Hashable {
    public let threshold: Int64
    public let discount: PromotionTierDiscount

    public init(threshold: Int64, discount: PromotionTierDiscount) {
        self.threshold = threshold
        self.discount = discount
    }
}

public enum PromotionTierDiscount: Sendable, Hashable {
    case amount(Int64)
    case percent(basisPoints: Int64)
}
