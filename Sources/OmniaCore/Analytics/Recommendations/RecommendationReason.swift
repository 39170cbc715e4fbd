/// One recommended item, with the score it ranked by and why it is there.
public struct RecommendedItem: Codable, Hashable, Sendable {
    public var sku: String
    public var score: Double
    public var reason: RecommendationReason

    public init(sku: String, score: Double, reason: RecommendationReason) {
        self.sku = sku
        self.score = score
        self.reason = reason
    }
}

/// Why an item is recommended: a stable code, an English sentence, and the parts it was made
/// of, so a console in another language can say the same from the parts.
public struct RecommendationReason: Codable, Hashable, Sendable {
    public enum Code: String, Codable, Hashable, Sendable, CaseIterable {
        /// Often bought with an item the customer bought ("bought with Wool jersey in store").
        case boughtWith = "bought_with"
        /// Often bought with an item in the cart or on the page now.
        case goesWith = "goes_with"
        /// The customer buys it regularly and is due ("you buy this every 3 weeks").
        case repeatPurchase = "repeat"
        /// A fallback: what many customers buy now.
        case popular
        /// A product's related item, bought in one basket with it ("often bought together in store").
        case boughtTogether = "bought_together"
        /// A product's related item, bought by the same customers on other occasions.
        case alsoBought = "also_bought"
    }

    public var code: Code
    public var text: String
    /// The item that led here (bought, in the cart, or the product itself).
    public var anchorSKU: String?
    public var anchorName: String?
    /// For `bought_with`, where the customer bought the anchor; for `bought_together`, where
    /// the two are most often bought together; for `repeat`, where it was bought last.
    public var channelKind: String?
    /// For `repeat`: the typical days between purchases.
    public var intervalDays: Int?

    public init(code: Code, text: String, anchorSKU: String? = nil, anchorName: String? = nil, channelKind: String? = nil,
                intervalDays: Int? = nil) {
        self.code = code
        self.text = text
        self.anchorSKU = anchorSKU
        self.anchorName = anchorName
        self.channelKind = channelKind
        self.intervalDays = intervalDays
    }

    /// "bought with Wool jersey in store": the anchor, and where the customer bought it.
    public static func boughtWith(anchorSKU: String, anchorName: String, channelKind: String) -> RecommendationReason {
        let text = ["bought with \(anchorName)", channelPhrase(channelKind)].compactMap { $0 }.joined(separator: " ")
        return RecommendationReason(code: .boughtWith, text: text, anchorSKU: anchorSKU, anchorName: anchorName, channelKind: channelKind)
    }

    /// "goes with Wool jersey in your cart", or "often bought with Wool jersey" on its product page.
    public static func goesWith(anchorSKU: String, anchorName: String, context: RecommendationContext.Kind) -> RecommendationReason {
        let text = switch context {
        case .cart: "goes with \(anchorName) in your cart"
        case .product: "often bought with \(anchorName)"
        }
        return RecommendationReason(code: .goesWith, text: text, anchorSKU: anchorSKU, anchorName: anchorName)
    }

    /// "you buy this every 3 weeks".
    public static func repeatPurchase(intervalDays: Double, channelKind: String) -> RecommendationReason {
        RecommendationReason(code: .repeatPurchase, text: "you buy this \(intervalPhrase(days: intervalDays))", channelKind: channelKind,
                             intervalDays: Int(max(1, intervalDays).rounded()))
    }

    /// "popular right now".
    public static let popular = RecommendationReason(code: .popular, text: "popular right now")

    /// "often bought together in store": where the two most often share a basket.
    public static func boughtTogether(anchorSKU: String, channelKind: String) -> RecommendationReason {
        let text = ["often bought together", channelPhrase(channelKind)].compactMap { $0 }.joined(separator: " ")
        return RecommendationReason(code: .boughtTogether, text: text, anchorSKU: anchorSKU, channelKind: channelKind.isEmpty ? nil : channelKind)
    }

    /// "customers who bought this also bought": same buyers, other baskets.
    public static func alsoBought(anchorSKU: String) -> RecommendationReason {
        RecommendationReason(code: .alsoBought, text: "customers who bought this also bought", anchorSKU: anchorSKU)
    }

    /// Where, in words: "in store", "online", "in the app"…; nil for a kind it has no words for.
    public static func channelPhrase(_ channelKind: String) -> String? {
        switch ChannelKind(rawValue: channelKind) {
        case .store: "in store"
        case .web: "online"
        case .app: "in the app"
        case .callCenter: "by phone"
        case .marketplace: "on a marketplace"
        case .social: "on social media"
        case nil: nil
        }
    }

    /// A period in the unit a person would use: "every day", "every 10 days", "every week",
    /// "every 3 weeks", "every 2 months", "every year".
    public static func intervalPhrase(days: Double) -> String {
        let days = max(1, days.rounded())
        func every(_ count: Double, _ unit: String) -> String { count == 1 ? "every \(unit)" : "every \(Int(count)) \(unit)s" }
        switch days {
        case 7: return every(1, "week")
        case ..<11: return every(days, "day")
        case ..<56: return every((days / 7).rounded(), "week")
        case ..<335: return every((days / 30.4375).rounded(), "month")
        default: return every((days / 365.25).rounded(), "year")
        }
    }
}
