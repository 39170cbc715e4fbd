import OmniaCore

// The answers of the journey analytics reports (`JourneyAnalyticsController`). Money is in minor
// units of `currency`; ratios have four decimals and are 0 over an empty denominator.

/// `GET /v1/analytics/channel-mix`: sales and returns per channel kind (or channel) and interval.
struct ChannelMixReport: Encodable, Sendable {
    struct Figures: Encodable, Sendable {
        /// A channel kind, or a channel code with `by=channel`.
        let channel: String
        var sales: Int64 = 0
        /// The sales' totals.
        var revenue: Int64 = 0
        var returns: Int64 = 0
        /// The returns' totals.
        var refunded: Int64 = 0
        /// Of the interval's (or the period's) sales and revenue.
        var salesShare: Double = 0
        var revenueShare: Double = 0
    }

    struct Bucket: Encodable, Sendable {
        /// The interval's first local day (`YYYY-MM-DD`): a day, a Monday, or a month's first day.
        let start: String
        let sales: Int64
        let revenue: Int64
        /// Every channel of `series`, in its order, zeros included.
        let channels: [Figures]
    }

    let from: StoredTime
    let to: StoredTime
    let timeZone: String
    let interval: String
    let by: String
    let currency: String
    let channel: String?
    let channelKind: String?
    /// The channels with sales or returns in the period.
    let series: [String]
    let sales: Int64
    let revenue: Int64
    let totals: [Figures]
    /// Every interval of the period, in order, empty ones included.
    let buckets: [Bucket]
}

/// `GET /v1/analytics/channel-transitions`: from the channel of each purchase to the channel of the same customer's next one.
struct ChannelTransitionReport: Encodable, Sendable {
    let from: StoredTime
    let to: StoredTime
    let by: String
    /// Identified sales in the period, in any currency, ordered per customer (a merged customer's
    /// whole cluster as one); purchases at one instant are ordered by channel.
    let matrix: ChannelTransitionMatrix
}

/// `GET /v1/analytics/cross-channel`: customers who bought in two or more channel kinds against
/// those who bought in one, and what each group is worth.
struct CrossChannelReport: Encodable, Sendable {
    struct Group: Encodable, Sendable {
        let customers: Int64
        let customerShare: Double
        let orders: Int64
        let revenue: Int64
        let revenueShare: Double
        let ordersPerCustomer: Double
        let averageOrderValue: Int64
        let revenuePerCustomer: Int64
    }

    struct Anonymous: Codable, Sendable {
        let orders: Int64
        let revenue: Int64
    }

    let from: StoredTime
    let to: StoredTime
    let currency: String
    /// With a channel filter: the customers who bought in it at least once, and all their sales.
    let channel: String?
    let channelKind: String?
    let customers: Int64
    let crossChannelShare: Double
    let singleChannel: Group
    let crossChannel: Group
    /// Revenue per cross-channel customer over revenue per single-channel customer; absent when
    /// either group is empty or single-channel revenue is 0, for there is nothing to compare.
    let valueRatio: Double?
    /// Sales without a customer, which neither group holds.
    let anonymous: Anonymous
}

/// `GET /v1/analytics/ropo`: research online, purchase offline — and the reverse.
struct ROPOReport: Encodable, Sendable {
    struct Direction: Encodable, Sendable {
        let definition: String
        /// Sales on the buying side in the period, and those with a customer (only they can be matched).
        let purchases: Int64
        let identifiedPurchases: Int64
        /// Identified purchases preceded by the research within `days`.
        let matchedPurchases: Int64
        let shareOfIdentified: Double
        let revenue: Int64
        let customers: Int64
    }

    let from: StoredTime
    let to: StoredTime
    let currency: String
    let days: Int
    let researchOnlinePurchaseOffline: Direction
    let researchOfflinePurchaseOnline: Direction
}

/// `GET /v1/analytics/abandoned-carts`: carts abandoned in the period, and how many of their customers bought soon after.
struct AbandonedCartReport: Encodable, Sendable {
    struct CartChannel: Encodable, Sendable {
        /// The cart's channel kind (or code with a `channel` filter), `unknown` when the cart had none.
        let channel: String
        let abandoned: Int64
        let identified: Int64
        let recovered: Int64
        let recoveryRate: Double
    }

    struct Recovery: Encodable, Sendable {
        /// The channel kind of the recovering purchase.
        let channel: String
        let recovered: Int64
        let share: Double
    }

    let from: StoredTime
    let to: StoredTime
    let channel: String?
    let channelKind: String?
    let definition: String
    let recoveryDays: Int
    let abandoned: Int64
    let ordersPlaced: Int64
    /// Abandoned over abandoned plus orders placed: of the carts that ended in the period, the share left.
    let abandonmentRate: Double
    /// Abandoned carts with a known customer: only they can be followed to a purchase.
    let identified: Int64
    let recovered: Int64
    let recoveryRate: Double
    let identifiedRecoveryRate: Double
    let byCartChannel: [CartChannel]
    let recoveredIn: [Recovery]
}

/// `GET /v1/analytics/store-identification`: how many store sales have a known customer.
struct StoreIdentificationReport: Encodable, Sendable {
    struct Store: Encodable, Sendable {
        let channel: String
        let location: String?
        let locationName: String?
        let sales: Int64
        let identified: Int64
        let anonymous: Int64
        let identifiedShare: Double
        let revenue: Int64
        let identifiedRevenue: Int64
        let identifiedRevenueShare: Double
    }

    let from: StoredTime
    let to: StoredTime
    let currency: String
    let channel: String?
    let sales: Int64
    let identified: Int64
    let anonymous: Int64
    let identifiedShare: Double
    let revenue: Int64
    let identifiedRevenue: Int64
    let identifiedRevenueShare: Double
    /// Each store channel with sales, by code.
    let stores: [Store]
}

/// `GET /v1/analytics/returns`: returns by the channel kind of their sale and the channel kind they came back in.
struct ReturnsReport: Encodable, Sendable {
    struct Flow: Encodable, Sendable {
        /// `unknown` for a return not linked to its sale.
        let soldIn: String
        let returnedIn: String
        let returns: Int64
        let amount: Int64
        let crossChannel: Bool
    }

    struct Matrix: Encodable, Sendable {
        let channels: [String]
        /// `counts[i][j]`: returns of sales in `channels[i]` made in `channels[j]`; `amounts` likewise.
        let counts: [[Int64]]
        let amounts: [[Int64]]
    }

    let from: StoredTime
    let to: StoredTime
    let currency: String
    let returns: Int64
    let amount: Int64
    /// Returns whose sale is known (all a till can post by the sale's id or external id).
    let linked: Int64
    let unlinked: Int64
    /// Linked returns made in another channel kind than their sale's, and their share of the linked ones.
    let crossChannel: Int64
    let crossChannelAmount: Int64
    let crossChannelShare: Double
    let flows: [Flow]
    let matrix: Matrix
}

/// Rounding shared by the reports: four decimals for ratios (a hundredth of a percentage point,
/// as `ChannelTransitionMatrix`), whole minor units for money; 0 over an empty denominator, never NaN.
enum AnalyticsFigures {
    static func ratio(_ part: Double, _ whole: Double) -> Double {
        guard whole > 0, part.isFinite, whole.isFinite else { return 0 }
        return (part / whole * 10_000).rounded() / 10_000
    }

    static func ratio(_ part: Int64, _ whole: Int64) -> Double {
        ratio(Double(part), Double(whole))
    }

    /// `amount / count` in whole minor units (half away from zero); 0 when `count` is 0.
    static func perUnit(_ amount: Int64, _ count: Int64) -> Int64 {
        guard count > 0 else { return 0 }
        return Int64((Double(amount) / Double(count)).rounded())
    }

    /// Channel kinds in their declared order (store, web, app, …), then any other value seen, sorted:
    /// the rows and columns of a grid keep one shape from one period to the next.
    static func kindOrder(_ seen: Set<String>) -> [String] {
        let known = ChannelKind.allCases.map(\.rawValue)
        return known + seen.subtracting(known).sorted()
    }
}
