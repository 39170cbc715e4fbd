import OmniaCore

// Each type is both the decoded row (columns in snake_case) and the API response.

/// A tenant: one retail chain, with its default currency and time zone.
public struct Tenant: Codable, Sendable {
    public let id: String
    public let name: String
    public let defaultCurrency: String
    public let timezone: String
    public let country: String?
    /// Currencies accepted besides `default_currency` (sales in others are refused).
    let additionalCurrencies: StoredWords?
    /// Printed on every receipt, e.g. "Returns within 30 days in any store or online".
    let returnPolicy: String?
    /// Minutes an open cart may sit idle before `cart_abandoned` is raised (60 when unset).
    let cartAbandonmentMinutes: Int?
    let createdAt: StoredTime

    enum CodingKeys: String, CodingKey {
        case id, name, defaultCurrency, timezone, country, additionalCurrencies, returnPolicy, cartAbandonmentMinutes, createdAt
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(defaultCurrency, forKey: .defaultCurrency)
        try container.encode(timezone, forKey: .timezone)
        try container.encodeIfPresent(country, forKey: .country)
        try container.encode(additionalCurrencies ?? StoredWords([]), forKey: .additionalCurrencies)
        try container.encodeIfPresent(returnPolicy, forKey: .returnPolicy)
        try container.encode(cartAbandonmentMinutes ?? CartAbandonment.defaultMinutes, forKey: .cartAbandonmentMinutes)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

/// A place where stock lives or customers shop.
struct Location: Codable, Sendable {
    let id: String
    let code: String
    let name: String
    let kind: String
    let addressLine1: String?
    let addressLine2: String?
    let city: String?
    let postcode: String?
    let region: String?
    let country: String
    let timezone: String
    let createdAt: StoredTime
}

/// A sales or service channel: a store till, the web shop, the app, the call centre…
struct Channel: Codable, Sendable {
    let id: String
    let code: String
    let name: String
    let kind: String
    let locationId: String?
    let createdAt: StoredTime
}

/// An API key as listed: never the secret, only a hint to tell keys apart.
struct APIKey: Codable, Sendable {
    let id: String
    let name: String
    let hint: String
    let scopes: StoredWords
    let channelId: String?
    let locationId: String?
    let createdAt: StoredTime
    let revokedAt: StoredTime?
}

/// A newly created key: the only time its secret is shown.
public struct CreatedAPIKey: Sendable {
    public let id: String
    /// The bearer token, `omk_…`.
    public let key: String
    public let scopes: [String]
}
