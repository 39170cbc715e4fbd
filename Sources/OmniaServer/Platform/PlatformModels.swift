import OmniaCore

/// A tenant: one retail chain, with its default currency and time zone.
public struct TenantResponse: Codable, Sendable {
    public let id: String
    public let name: String
    public let defaultCurrency: String
    public let timezone: String
    public let country: String?
    public let createdAt: String
}

/// A place where stock lives or customers shop.
struct LocationResponse: Codable, Sendable {
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
    let createdAt: String
}

/// A sales or service channel: a store till, the web shop, the app, the call centre…
struct ChannelResponse: Codable, Sendable {
    let id: String
    let code: String
    let name: String
    let kind: String
    let locationId: String?
    let createdAt: String
}

/// An API key as listed: never the secret, only a hint to tell keys apart.
struct APIKeyResponse: Codable, Sendable {
    let id: String
    let name: String
    let hint: String
    let scopes: [String]
    let channelId: String?
    let locationId: String?
    let createdAt: String
    let revokedAt: String?
}

/// A newly created key: the only response that carries the secret.
public struct CreatedAPIKey: Codable, Sendable {
    public let id: String
    public let name: String
    public let key: String
    public let scopes: [String]
    public let channelId: String?
    public let locationId: String?
    public let createdAt: String
}

struct TenantRow: Decodable {
    let id: String
    let name: String
    let defaultCurrency: String
    let timezone: String
    let country: String?
    let createdAt: Int64

    var response: TenantResponse {
        TenantResponse(id: id, name: name, defaultCurrency: defaultCurrency, timezone: timezone, country: country,
                       createdAt: Timestamp.text(createdAt))
    }
}

struct LocationRow: Decodable {
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
    let createdAt: Int64

    var response: LocationResponse {
        LocationResponse(id: id, code: code, name: name, kind: kind, addressLine1: addressLine1, addressLine2: addressLine2,
                         city: city, postcode: postcode, region: region, country: country, timezone: timezone,
                         createdAt: Timestamp.text(createdAt))
    }
}

struct ChannelRow: Decodable {
    let id: String
    let code: String
    let name: String
    let kind: String
    let locationId: String?
    let createdAt: Int64

    var response: ChannelResponse {
        ChannelResponse(id: id, code: code, name: name, kind: kind, locationId: locationId, createdAt: Timestamp.text(createdAt))
    }
}

struct APIKeyRow: Decodable {
    let id: String
    let name: String
    let keyHint: String
    let scopes: String
    let channelId: String?
    let locationId: String?
    let createdAt: Int64
    let revokedAt: Int64?

    var response: APIKeyResponse {
        APIKeyResponse(id: id, name: name, hint: keyHint, scopes: scopes.split(separator: " ").map(String.init),
                       channelId: channelId, locationId: locationId, createdAt: Timestamp.text(createdAt),
                       revokedAt: revokedAt.map(Timestamp.text))
    }
}
