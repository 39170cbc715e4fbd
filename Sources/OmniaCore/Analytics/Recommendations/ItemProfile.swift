/// What the model knows of one item on its own: a row the server stores per SKU and reads for the
/// popular list, the names of anchor items and whether an owned item may be sold again.
public struct ItemProfile: Codable, Hashable, Sendable {
    public var sku: String
    public var name: String
    public var category: String
    /// Baskets that held the item, anonymous ones included.
    public var baskets: Int
    /// Distinct buyers: identified customers, plus each anonymous basket as one buyer.
    public var buyers: Int
    /// Buyers weighted by how recent their last purchase of it is (half-life in the build
    /// parameters), so last season's best seller gives way to this season's.
    public var popularity: Double
    /// The share of identified buyers who bought it again on another day.
    public var repeatRate: Double
    /// The median days between two purchases of it by the same customer, when anyone repeated.
    public var repeatIntervalDays: Double?
    /// Bought again often enough to be recommended to someone who already has it.
    public var isConsumable: Bool

    public init(sku: String, name: String, category: String, baskets: Int, buyers: Int, popularity: Double, repeatRate: Double,
                repeatIntervalDays: Double?, isConsumable: Bool) {
        self.sku = sku
        self.name = name
        self.category = category
        self.baskets = baskets
        self.buyers = buyers
        self.popularity = popularity
        self.repeatRate = repeatRate
        self.repeatIntervalDays = repeatIntervalDays
        self.isConsumable = isConsumable
    }
}

/// An item often bought with another: one row of that item's neighbour list.
public struct Neighbour: Codable, Hashable, Sendable {
    public var sku: String
    /// Similarity in 0…1 (shrunk cosine of co-occurrence); comparable across anchors.
    public var score: Double
    /// Baskets that held both items.
    public var coBaskets: Int
    /// The channel kind in which the two were most often in one basket.
    public var channelKind: String
    /// The neighbour's category, carried so filters need no second lookup.
    public var category: String

    public init(sku: String, score: Double, coBaskets: Int, channelKind: String, category: String) {
        self.sku = sku
        self.score = score
        self.coBaskets = coBaskets
        self.channelKind = channelKind
        self.category = category
    }
}

/// An item and its neighbours, best first: what the server stores per SKU (one row per neighbour
/// with its rank) and returns, filtered, as the product's related items.
public struct ItemNeighbours: Codable, Hashable, Sendable {
    public var sku: String
    public var neighbours: [Neighbour]

    public init(sku: String, neighbours: [Neighbour]) {
        self.sku = sku
        self.neighbours = neighbours
    }
}
