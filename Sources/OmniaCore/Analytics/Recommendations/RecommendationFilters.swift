/// What must not be recommended, besides what the customer already owns and will not buy twice.
public struct RecommendationFilters: Hashable, Sendable {
    /// SKUs the caller cannot sell now (its stock view for the customer's store or web shop).
    public var outOfStock: Set<String>
    /// Category paths to leave out; each matches itself and everything below it, so "women" and
    /// "women/" both exclude "women/knitwear" (but not "womenswear").
    public var excludedCategories: [String]
    /// Leave out items the customer bought that are not consumables (nobody needs a second sofa).
    public var excludeOwnedNonConsumables: Bool

    public init(outOfStock: Set<String> = [], excludedCategories: [String] = [], excludeOwnedNonConsumables: Bool = true) {
        self.outOfStock = outOfStock
        self.excludedCategories = excludedCategories
        self.excludeOwnedNonConsumables = excludeOwnedNonConsumables
    }

    /// Whether a category path falls under an excluded one.
    public func excludes(category: String) -> Bool {
        excludedCategories.contains { excluded in
            let base = excluded.hasSuffix("/") ? String(excluded.dropLast()) : excluded
            guard !base.isEmpty else { return false }
            return category == base || category.hasPrefix(base + "/")
        }
    }
}
