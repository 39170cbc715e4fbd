/// A customer's live profile: what they bought, where and how, read from the aggregates kept on
/// every sale, return and claim (so it is current the moment a sale lands) and from their loyalty
/// tier, consents and segments. Figures are in one currency, the tenant's default; the attributes
/// that depend on today (days since the last purchase, to the birthday) are derived when read.
public struct LiveProfile: Sendable, Hashable {
    /// A channel's part in the customer's history.
    public struct Channel: Sendable, Hashable, Codable {
        public var code: String
        public var kind: String
        public var orders: Int64
        /// Sales less returns, in minor units.
        public var netSpend: Int64

        public init(code: String, kind: String, orders: Int64, netSpend: Int64) {
            self.code = code
            self.kind = kind
            self.orders = orders
            self.netSpend = netSpend
        }
    }

    /// Where a customer buys: nowhere yet, only in stores, only elsewhere (web, app, call centre,
    /// marketplaces), or in both.
    public enum ChannelMix: String, Sendable, Codable {
        case none
        case storeOnly = "store_only"
        case onlineOnly = "online_only"
        case omnichannel
    }

    public var id: String
    public var currency: Currency
    public var orders: Int64 = 0
    public var returns: Int64 = 0
    /// Minor units of `currency`.
    public var salesAmount: Int64 = 0
    public var returnedAmount: Int64 = 0
    /// Local days (since 1970-01-01) of the first and last purchase in any channel.
    public var firstPurchaseDay: Int32?
    public var lastPurchaseDay: Int32?
    /// Busiest first (orders, then spend, then code).
    public var channels: [Channel] = []
    /// The code of the store location bought at most often.
    public var preferredStore: String?
    /// Categories bought most, net of returns, most first.
    public var topCategories: [String] = []
    public var tier: String?
    /// Channels of contact the customer consented to (email, sms, whatsapp, push).
    public var consents: [String] = []
    /// Codes of the segments the customer is in.
    public var segments: [String] = []
    public var birthday: Int32?
    /// The tenant's computed attributes by code (`ProfileSchema` lists them).
    public var attributes: [String: RuleValue] = [:]
    /// The last RFM scoring's, if the customer had bought by then.
    public var rfm: RFM?
    /// The last lifetime-value fit's predictions, if the customer had bought by then.
    public var predictions: Predictions?

    /// Quintile scores 1–5 (5 best), their cell ("543") and named group.
    public struct RFM: Sendable, Hashable, Codable {
        public var recencyScore: Int
        public var frequencyScore: Int
        public var monetaryScore: Int
        public var cell: String
        public var group: String

        public init(recencyScore: Int, frequencyScore: Int, monetaryScore: Int, cell: String, group: String) {
            self.recencyScore = recencyScore
            self.frequencyScore = frequencyScore
            self.monetaryScore = monetaryScore
            self.cell = cell
            self.group = group
        }
    }

    /// What the lifetime-value models expect over their horizon; amounts in minor units of `currency`.
    public struct Predictions: Sendable, Hashable, Codable {
        public var expectedPurchases: Double
        public var probabilityAlive: Double
        public var expectedOrderValue: Int64
        public var value: Int64

        public init(expectedPurchases: Double, probabilityAlive: Double, expectedOrderValue: Int64, value: Int64) {
            self.expectedPurchases = expectedPurchases
            self.probabilityAlive = probabilityAlive
            self.expectedOrderValue = expectedOrderValue
            self.value = value
        }
    }

    public init(id: String, currency: Currency) {
        self.id = id
        self.currency = currency
    }

    public var netSpend: Int64 { salesAmount - returnedAmount }
    /// Sales amount per order, rounded down; 0 without orders.
    public var averageOrderValue: Int64 { orders == 0 ? 0 : salesAmount / orders }
    /// The share of what was bought that came back, by value (0 without sales).
    public var returnsRate: Double { salesAmount <= 0 ? 0 : min(1, Double(returnedAmount) / Double(salesAmount)) }
    /// Mean days between orders: the span from first to last purchase over the gaps in it; nil below two orders.
    public var purchaseIntervalDays: Double? {
        guard orders >= 2, let first = firstPurchaseDay, let last = lastPurchaseDay else { return nil }
        return Double(last - first) / Double(orders - 1)
    }
    public var preferredChannel: Channel? { channels.first }
    public var channelKinds: [String] { Array(Set(channels.filter { $0.orders > 0 }.map(\.kind))).sorted() }
    public var channelMix: ChannelMix {
        let kinds = channels.filter { $0.orders > 0 }.map(\.kind)
        let store = kinds.contains("store")
        let online = kinds.contains { $0 != "store" }
        switch (store, online) {
        case (true, true): return .omnichannel
        case (true, false): return .storeOnly
        case (false, true): return .onlineOnly
        case (false, false): return .none
        }
    }

    public func daysSinceLastPurchase(on day: Int32) -> Int32? { lastPurchaseDay.map { max(0, day - $0) } }
}
