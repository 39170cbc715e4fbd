/// What a loyalty programme gives and takes, as the retailer configured it: how many points a
/// sale earns (a base rate, raised by the member's tier and by earn rules for a channel, a
/// category, a tier or a bonus period), what a point is worth when spent, when points expire,
/// the tiers and their qualification window, and whether a return may take a balance below zero.
/// Pure rules: the server stores them and applies them to sales, returns and time.
public struct LoyaltyRules: Codable, Hashable, Sendable {
    /// `points` for every `perAmount` minor units of a line's net amount (1 per 100: a point per euro).
    public var earnPoints: Int64
    public var earnPerAmount: Int64
    /// The minor units of the programme's currency one point pays when it is spent.
    public var pointValue: Int64
    /// Days after which an earned lot expires; nil: points never expire.
    public var pointsExpireAfterDays: Int?
    /// Days of earning that count toward a tier, and for which a reached tier is kept.
    public var qualificationWindowDays: Int
    public var negativeBalance: NegativeBalancePolicy
    /// In ascending thresholds; the first has threshold 0 (every member's tier).
    public var tiers: [LoyaltyTier]
    public var earnRules: [EarnRule]

    public init(earnPoints: Int64, earnPerAmount: Int64, pointValue: Int64, pointsExpireAfterDays: Int?, qualificationWindowDays: Int,
                negativeBalance: NegativeBalancePolicy, tiers: [LoyaltyTier], earnRules: [EarnRule]) {
        self.earnPoints = earnPoints
        self.earnPerAmount = earnPerAmount
        self.pointValue = pointValue
        self.pointsExpireAfterDays = pointsExpireAfterDays
        self.qualificationWindowDays = qualificationWindowDays
        self.negativeBalance = negativeBalance
        self.tiers = tiers
        self.earnRules = earnRules
    }

    public static let maximumTiers = 10
    public static let maximumEarnRules = 50
    /// Percentages run from 0 to 1000 %: their product and the base rate can never overflow the
    /// arithmetic below on the largest line a sale may carry.
    public static let percentRange: ClosedRange<Int64> = 0...1_000
    public static let earnPointsRange: ClosedRange<Int64> = 1...1_000
    public static let earnPerAmountRange: ClosedRange<Int64> = 1...1_000_000
    public static let pointValueRange: ClosedRange<Int64> = 1...1_000_000
    public static let dayRange: ClosedRange<Int> = 1...3_650
    private static let day: Int64 = 86_400_000

    public var baseTier: LoyaltyTier { tiers[0] }

    public func tier(_ code: String?) -> LoyaltyTier { tiers.first { $0.code == code } ?? baseTier }

    // MARK: Earning

    /// One line of a sale as earning sees it.
    public struct Line: Sendable, Equatable {
        public let category: String?
        public let net: Int64

        public init(category: String?, net: Int64) {
            self.category = category
            self.net = net
        }
    }

    /// The points each line of a sale earns, for a member of `tierCode`, in channel `channel`, at
    /// `occurredAt`. Each line's exact share is `net × points / perAmount × tier % × rule %`
    /// (the best earn rule the line matches, 100 % when none); the sale earns the whole part of
    /// their sum, spread back over the lines by largest remainder — so small lines are not each
    /// rounded down to nothing, and a line's points are what its return takes back.
    public func earn(_ lines: [Line], channel: String, tierCode: String?, occurredAt: Int64) -> [Int64] {
        let tierPercent = tier(tierCode).earnPercent
        let active = earnRules.filter { $0.applies(channel: channel, tierCode: tier(tierCode).code, at: occurredAt) }
        let weights = lines.map { line -> Int64 in
            guard line.net > 0 else { return 0 }
            let rulePercent = active.filter { $0.matches(category: line.category) }.map(\.earnPercent).max() ?? 100
            // ≤ 10¹¹ × 10³ × 10⁴: within Int64.
            return line.net * earnPoints * (tierPercent * rulePercent / 100)
        }
        let denominator = earnPerAmount * 100
        let exact = weights.reduce(Int64(0)) { sum, weight in sum + weight / denominator } +
            weights.reduce(Int64(0)) { sum, weight in sum + weight % denominator } / denominator
        // Spread by the weights, scaled down on an absurdly large sale whose weights' sum would not fit.
        var overflows = false
        _ = weights.reduce(Int64(0)) { sum, weight in
            let (next, overflow) = sum.addingReportingOverflow(weight)
            overflows = overflows || overflow
            return next
        }
        return TransactionMath.allocate(exact, over: overflows ? weights.map { $0 >> 16 } : weights)
    }

    /// What a return takes back of the points a sale line earned: the difference of cumulative
    /// shares, as for its money, so returning every unit in any number of returns takes back
    /// exactly what the line earned.
    public static func reversal(earned: Int64, sold: Int64, alreadyReturned: Int64, quantity: Int64) -> Int64 {
        TransactionMath.refund(net: earned, sold: sold, alreadyReturned: alreadyReturned, quantity: quantity)
    }

    /// When a lot earned at `earnedAt` expires, or nil when points never do.
    public func expiry(earnedAt: Int64) -> Int64? {
        pointsExpireAfterDays.map { earnedAt + Int64($0) * Self.day }
    }

    /// What `points` pay, in minor units of the programme's currency.
    public func value(of points: Int64) -> Int64 { points * pointValue }

    // MARK: Tiers

    public var qualificationWindow: Int64 { Int64(qualificationWindowDays) * Self.day }

    /// A member's tier after re-evaluation at `now`, from the points that qualify (earned within
    /// the window, less what returns took back). A higher tier is reached at once and kept for a
    /// whole window; a member who still qualifies keeps theirs for a window from now; one who no
    /// longer does keeps it until their window ends, then drops to the tier they qualify for.
    public func evaluate(current: String?, until: Int64?, qualifying: Int64, now: Int64) -> (tier: String, until: Int64) {
        let reached = tiers.last { $0.threshold <= qualifying } ?? baseTier
        let held = tier(current)
        let heldIndex = tiers.firstIndex(of: held) ?? 0
        let reachedIndex = tiers.firstIndex(of: reached) ?? 0
        if reachedIndex >= heldIndex { return (reached.code, now + qualificationWindow) }
        if let until, now < until { return (held.code, until) }
        return (reached.code, now + qualificationWindow)
    }

    /// The higher of two tiers (merging two members keeps the better one).
    public func higher(_ first: String?, _ second: String?) -> String {
        let a = tier(first), b = tier(second)
        return (tiers.firstIndex(of: a) ?? 0) >= (tiers.firstIndex(of: b) ?? 0) ? a.code : b.code
    }
}

/// What a return does when the points it takes back were already spent.
public enum NegativeBalancePolicy: String, Codable, Hashable, Sendable, CaseIterable {
    /// Take back only what the member still has; the rest is written off (and reported).
    case forbid
    /// Take it all: the shortfall is a debt the member's next earnings repay first.
    case allow
}

public struct LoyaltyTier: Codable, Hashable, Sendable {
    public var code: String
    public var name: String
    /// Qualifying points within the window that reach this tier.
    public var threshold: Int64
    /// Earn rate of the tier, in percent of the base rate (150: half as much again).
    public var earnPercent: Int64

    public init(code: String, name: String, threshold: Int64, earnPercent: Int64) {
        self.code = code
        self.name = name
        self.threshold = threshold
        self.earnPercent = earnPercent
    }
}

/// An earn rate for the lines that match: any of `channels` (codes), any of `categories`, members
/// of any of `tiers`, within `startsAt..<endsAt` (a bonus event). Nil matches everything.
public struct EarnRule: Codable, Hashable, Sendable {
    public var name: String
    public var channels: [String]?
    public var categories: [String]?
    public var tiers: [String]?
    public var startsAt: Int64?
    public var endsAt: Int64?
    public var earnPercent: Int64

    public init(name: String, channels: [String]? = nil, categories: [String]? = nil, tiers: [String]? = nil, startsAt: Int64? = nil,
                endsAt: Int64? = nil, earnPercent: Int64) {
        self.name = name
        self.channels = channels
        self.categories = categories
        self.tiers = tiers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.earnPercent = earnPercent
    }

    func applies(channel: String, tierCode: String, at time: Int64) -> Bool {
        if let channels, !channels.contains(channel) { return false }
        if let tiers, !tiers.contains(tierCode) { return false }
        if let startsAt, time < startsAt { return false }
        if let endsAt, time >= endsAt { return false }
        return true
    }

    func matches(category: String?) -> Bool {
        guard let categories else { return true }
        return category.map(categories.contains) ?? false
    }
}

/// Points held in lots, each with the time it expires: spending takes from the lot that expires
/// first (FIFO by expiry, then by age), so points are never lost to expiry while younger ones are spent.
public enum LoyaltyLots {
    public struct Lot: Sendable, Equatable {
        public let id: String
        public let remaining: Int64
        public let expiresAt: Int64?

        public init(id: String, remaining: Int64, expiresAt: Int64?) {
            self.id = id
            self.remaining = remaining
            self.expiresAt = expiresAt
        }
    }

    /// What taking `points` takes from each lot, in the order they are spent — the lot `first`
    /// names before all others (a return takes back its own sale's points) — less than `points`
    /// in all when the lots hold less.
    public static func take(_ points: Int64, from lots: [Lot], first: String? = nil) -> [(id: String, points: Int64)] {
        var left = points
        var taken: [(id: String, points: Int64)] = []
        let ordered = lots.filter { $0.id == first } + spendingOrder(lots.filter { $0.id != first })
        for lot in ordered where left > 0 && lot.remaining > 0 {
            let part = min(left, lot.remaining)
            taken.append((lot.id, part))
            left -= part
        }
        return taken
    }

    /// Lots that expire first come first; those that never expire last; ties by id (age).
    public static func spendingOrder(_ lots: [Lot]) -> [Lot] {
        lots.sorted { a, b in
            switch (a.expiresAt, b.expiresAt) {
            case let (x?, y?) where x != y: x < y
            case (.some, nil): true
            case (nil, .some): false
            default: a.id < b.id
            }
        }
    }
}
