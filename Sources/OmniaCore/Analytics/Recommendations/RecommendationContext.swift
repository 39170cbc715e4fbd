/// What the shopper is looking at now, as `context=cart:SKU1,SKU2` or `context=product:SKU`:
/// those items anchor the recommendations more strongly than anything bought before, and are
/// not recommended themselves.
public struct RecommendationContext: Hashable, Sendable {
    public enum Kind: String, Codable, Hashable, Sendable, CaseIterable {
        /// Items in the cart.
        case cart
        /// The product being viewed.
        case product
    }

    public var kind: Kind
    public var skus: [String]

    public static let maximumSKUs = 50

    public init(kind: Kind, skus: [String]) {
        self.kind = kind
        self.skus = skus
    }

    /// Reads the query parameter: a kind, a colon, and comma-separated SKUs (blank entries and
    /// repeats ignored, at most `maximumSKUs`).
    public static let maximumSKULength = 100

    public init(parsing text: String) throws(RecommendationContextError) {
        guard let colon = text.firstIndex(of: ":") else { throw .init(detail: "context must look like cart:SKU1,SKU2 or product:SKU") }
        guard let kind = Kind(rawValue: String(text[..<colon])) else {
            throw .init(detail: "context kind must be one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var skus: [String] = []
        for part in text[text.index(after: colon)...].split(separator: ",") {
            let sku = part.trimmingWhitespace()
            // As a sale's line would take it: no control characters (a NUL never reaches a database), at most 64 characters.
            guard sku.count <= Self.maximumSKULength, !sku.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw .init(detail: "a SKU in context has at most \(Self.maximumSKULength) characters and no control characters")
            }
            if !sku.isEmpty && !skus.contains(sku) { skus.append(sku) }
        }
        guard !skus.isEmpty else { throw .init(detail: "context must name at least one SKU") }
        guard skus.count <= Self.maximumSKUs else { throw .init(detail: "context may name at most \(Self.maximumSKUs) SKUs") }
        if kind == .product && skus.count > 1 { throw .init(detail: "a product context names one SKU") }
        self.init(kind: kind, skus: skus)
    }
}

/// A `context` query parameter that cannot be read; `detail` says why, for a 400 problem.
public struct RecommendationContextError: Error, Hashable, Sendable {
    public var detail: String

    public init(detail: String) { self.detail = detail }
}
