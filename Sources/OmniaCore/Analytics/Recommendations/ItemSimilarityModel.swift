/// The recommendation model of a tenant: a profile per item (popularity, repeat rate, category)
/// and a neighbour list per item, built from baskets of every channel. It is plain rows: the
/// server stores `items` and `neighbours` in tables and, per request, reads only the popular
/// head, the neighbour lists of the customer's anchor items and the profiles of those items.
public struct ItemSimilarityModel: Codable, Sendable {
    /// The `now` the model was built at (popularity decays from it).
    public let builtAt: Int64
    public let parameters: ItemSimilarityParameters
    public let basketCount: Int
    /// Distinct SKUs per basket, summed.
    public let lineCount: Int
    /// Identified customers (anonymous baskets are not counted).
    public let customerCount: Int
    /// Every item seen, most popular first (then by SKU).
    public let items: [ItemProfile]
    /// Items with at least one neighbour, by SKU.
    public let neighbours: [ItemNeighbours]

    /// Positions by SKU, rebuilt whenever the rows are (never stored), so lookups are constant time.
    private let itemIndex: [String: Int]
    private let neighbourIndex: [String: Int]

    private enum CodingKeys: String, CodingKey {
        case builtAt, parameters, basketCount, lineCount, customerCount, items, neighbours
    }

    /// A model from its rows, as the server reads them back (for `omnia recs evaluate`, a cache…).
    public init(builtAt: Int64, parameters: ItemSimilarityParameters, basketCount: Int, lineCount: Int, customerCount: Int,
                items: [ItemProfile], neighbours: [ItemNeighbours]) {
        self.builtAt = builtAt
        self.parameters = parameters
        self.basketCount = basketCount
        self.lineCount = lineCount
        self.customerCount = customerCount
        self.items = items
        self.neighbours = neighbours
        itemIndex = Self.index(items.map(\.sku))
        neighbourIndex = Self.index(neighbours.map(\.sku))
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(builtAt: try container.decode(Int64.self, forKey: .builtAt),
                  parameters: try container.decode(ItemSimilarityParameters.self, forKey: .parameters),
                  basketCount: try container.decode(Int.self, forKey: .basketCount),
                  lineCount: try container.decode(Int.self, forKey: .lineCount),
                  customerCount: try container.decode(Int.self, forKey: .customerCount),
                  items: try container.decode([ItemProfile].self, forKey: .items),
                  neighbours: try container.decode([ItemNeighbours].self, forKey: .neighbours))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(builtAt, forKey: .builtAt)
        try container.encode(parameters, forKey: .parameters)
        try container.encode(basketCount, forKey: .basketCount)
        try container.encode(lineCount, forKey: .lineCount)
        try container.encode(customerCount, forKey: .customerCount)
        try container.encode(items, forKey: .items)
        try container.encode(neighbours, forKey: .neighbours)
    }

    /// The first position of each SKU (a later duplicate row is ignored, never a crash).
    private static func index(_ skus: [String]) -> [String: Int] {
        var index: [String: Int] = [:]
        index.reserveCapacity(skus.count)
        for (position, sku) in skus.enumerated() where index[sku] == nil { index[sku] = position }
        return index
    }

    public func profile(_ sku: String) -> ItemProfile? { itemIndex[sku].map { items[$0] } }

    /// The item's neighbours, best first; empty for an unknown item. A product's related items.
    public func neighbours(of sku: String) -> [Neighbour] { neighbourIndex[sku].map { neighbours[$0].neighbours } ?? [] }

    /// The neighbour lists of `skus`, as the server would read them for one request.
    public func neighbourLists(for skus: some Sequence<String>) -> [String: [Neighbour]] {
        var lists: [String: [Neighbour]] = [:]
        for sku in skus { if let at = neighbourIndex[sku] { lists[sku] = neighbours[at].neighbours } }
        return lists
    }

    /// The profiles of `skus` that the model knows.
    public func profiles(for skus: some Sequence<String>) -> [String: ItemProfile] {
        var found: [String: ItemProfile] = [:]
        for sku in skus { if let at = itemIndex[sku] { found[sku] = items[at] } }
        return found
    }

    /// The `limit` most popular items: the blender's fallback for customers it knows little of.
    public func popular(limit: Int) -> [ItemProfile] { Array(items.prefix(max(0, limit))) }
}

/// How a model is built. The defaults suit a fashion-to-grocery retailer; they are stored with
/// the model so an evaluation states what it measured.
public struct ItemSimilarityParameters: Codable, Hashable, Sendable {
    /// Neighbours kept per item.
    public var neighbours: Int
    /// Distinct items of one basket that count toward pairs: pairs grow with the square of the
    /// basket, and a huge basket (a B2B order, a shop refit) says little about what goes together.
    public var maxBasketItems: Int
    /// Pairs seen together fewer times (in one basket, or by one buyer) are not neighbours.
    public var minSupport: Int
    /// A similarity from `c` co-occurrences is multiplied by `c / (c + shrinkage)`, so two rare
    /// items bought together once do not outrank a pair seen in hundreds of baskets.
    public var shrinkage: Double
    /// Co-occurrences are divided by `anchorCount^(1 - asymmetry) × neighbourCount^asymmetry`:
    /// 0.5 is cosine, 0 the conditional probability of the neighbour given the anchor.
    public var asymmetry: Double
    /// The weight (0…1) of "bought by the same customer, in any basket" in the score; the rest is
    /// "in the same basket": taste besides complements. An anonymous basket is a buyer of its own.
    public var customerWeight: Double
    /// Distinct items per customer that count toward customer-level pairs (the most recent).
    public var maxCustomerItems: Int
    /// A buyer counts half toward popularity when their last purchase is this many days old.
    public var popularityHalfLifeDays: Double
    /// The repeat rate from which an item is a consumable …
    public var consumableRepeatRate: Double
    /// … judged only once it has this many identified buyers (fewer: not a consumable).
    public var consumableMinBuyers: Int

    public init(neighbours: Int = 30, maxBasketItems: Int = 40, minSupport: Int = 1, shrinkage: Double = 5, asymmetry: Double = 0.5,
                customerWeight: Double = 0.5, maxCustomerItems: Int = 60, popularityHalfLifeDays: Double = 60,
                consumableRepeatRate: Double = 0.2, consumableMinBuyers: Int = 5) {
        self.neighbours = neighbours
        self.maxBasketItems = maxBasketItems
        self.minSupport = minSupport
        self.shrinkage = shrinkage
        self.asymmetry = asymmetry
        self.customerWeight = customerWeight
        self.maxCustomerItems = maxCustomerItems
        self.popularityHalfLifeDays = popularityHalfLifeDays
        self.consumableRepeatRate = consumableRepeatRate
        self.consumableMinBuyers = consumableMinBuyers
    }
}
