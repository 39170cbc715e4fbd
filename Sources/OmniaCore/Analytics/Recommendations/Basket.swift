/// One purchase occasion as recommendations see it: who bought (nil for an anonymous till
/// receipt, which still teaches which items go together), when, in which kind of channel, and
/// the distinct SKUs bought. Returns are the server's business: it passes what was kept.
public struct Basket: Codable, Hashable, Sendable {
    public var customerID: String?
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var time: Int64
    /// A `ChannelKind` raw value ("store", "web", "app", …); any other text is kept as given.
    public var channelKind: String
    /// Distinct SKUs; a repeated SKU counts once.
    public var skus: [String]

    public init(customerID: String?, time: Int64, channelKind: String, skus: [String]) {
        self.customerID = customerID
        self.time = time
        self.channelKind = channelKind
        self.skus = skus
    }
}

/// What the catalogue says about a SKU: the name a reason shows and the category path filters match.
public struct CatalogueItem: Codable, Hashable, Sendable {
    public var name: String
    /// A path such as "women/knitwear"; empty when unknown.
    public var category: String

    public init(name: String, category: String) {
        self.name = name
        self.category = category
    }
}

/// One line of a customer's own history, from any channel: what the blender reads per request.
public struct PurchaseRecord: Codable, Hashable, Sendable {
    public var sku: String
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var time: Int64
    public var channelKind: String
    public var quantity: Int

    public init(sku: String, time: Int64, channelKind: String, quantity: Int = 1) {
        self.sku = sku
        self.time = time
        self.channelKind = channelKind
        self.quantity = quantity
    }
}

/// Whole UTC days, the granularity at which "bought again on another day" and intervals are judged.
enum RecommendationTime {
    static let day: Int64 = 86_400_000

    /// The UTC day of a time, rounding down for times before 1970 too.
    static func day(of time: Int64) -> Int64 {
        time >= 0 ? time / day : -((-time - 1) / day) - 1
    }
}
