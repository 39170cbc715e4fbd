import OmniaCore

/// `POST /v1/locations`
struct CreateLocationRequest: RequestBody {
    var code: String?
    var name: String?
    var kind: String?
    var addressLine1: String?
    var addressLine2: String?
    var city: String?
    var postcode: String?
    var region: String?
    var country: String?
    var timezone: String?
    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case code, name, kind, addressLine1, addressLine2, city, postcode, region, country, timezone
    }
}

/// `POST /v1/channels`
struct CreateChannelRequest: RequestBody {
    var code: String?
    var name: String?
    var kind: String?
    var locationId: String?
    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case code, name, kind, locationId
    }
}

/// `POST /v1/api_keys`
struct CreateAPIKeyRequest: RequestBody {
    var name: String?
    var scopes: [String]?
    var channelId: String?
    var locationId: String?
    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, scopes, channelId, locationId
    }
}

/// `PATCH /v1/tenant`
struct UpdateTenantRequest: RequestBody {
    var additionalCurrencies: [String]?
    var returnPolicy: FieldPatch<String> = .unchanged
    var cartAbandonmentMinutes: Int?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case additionalCurrencies, returnPolicy, cartAbandonmentMinutes
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        additionalCurrencies = try container.decodeIfPresent([String].self, forKey: .additionalCurrencies)
        returnPolicy = try container.patch(String.self, forKey: .returnPolicy)
        cartAbandonmentMinutes = try container.decodeIfPresent(Int.self, forKey: .cartAbandonmentMinutes)
    }
}
