import OmniaCore

/// One identifier as sent: `{"kind": "email", "value": "ana@example.com"}`.
struct IdentifierInput: Codable, Sendable {
    var kind: String?
    var value: String?
}

/// The profile fields a request may set.
struct ProfileInput: Decodable, Sendable {
    var firstName: String?
    var lastName: String?
    var birthDate: String?
    var language: String?
    var addressLine1: String?
    var addressLine2: String?
    var city: String?
    var postcode: String?
    var region: String?
    var country: String?
    var attributes: [String: JSONValue]?
}

/// `POST /v1/customers`
struct CreateCustomerRequest: RequestBody {
    var profile: ProfileInput
    var identifiers: [IdentifierInput]?
    var channelId: String?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case firstName, lastName, birthDate, language, addressLine1, addressLine2, city, postcode, region, country, attributes
        case identifiers, channelId
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        profile = try ProfileInput(from: decoder)
        identifiers = try container.decodeIfPresent([IdentifierInput].self, forKey: .identifiers)
        channelId = try container.decodeIfPresent(String.self, forKey: .channelId)
    }
}

/// A field of a PATCH body: absent leaves the value alone, `null` clears it.
enum FieldPatch<Value: Sendable>: Sendable {
    case unchanged
    case clear
    case set(Value)
}

extension KeyedDecodingContainer {
    func patch<Value: Decodable & Sendable>(_: Value.Type, forKey key: Key) throws -> FieldPatch<Value> {
        guard contains(key) else { return .unchanged }
        if try decodeNil(forKey: key) { return .clear }
        return .set(try decode(Value.self, forKey: key))
    }
}

/// `PATCH /v1/customers/{id}`: profile fields (null clears one), `attributes` merged key by key
/// (a null value removes the key), identifiers added and removed.
struct UpdateCustomerRequest: RequestBody {
    var textFields: [String: FieldPatch<String>] = [:]
    var attributes: [String: JSONValue]?
    var addIdentifiers: [IdentifierInput]?
    var removeIdentifiers: [IdentifierInput]?
    var channelId: String?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case firstName, lastName, birthDate, language, addressLine1, addressLine2, city, postcode, region, country, attributes
        case addIdentifiers, removeIdentifiers, channelId
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        for key in [CodingKeys.firstName, .lastName, .birthDate, .language, .addressLine1, .addressLine2, .city, .postcode, .region, .country] {
            textFields[cachedSnakeCase(key.stringValue)] = try container.patch(String.self, forKey: key)
        }
        attributes = try container.decodeIfPresent([String: JSONValue].self, forKey: .attributes)
        addIdentifiers = try container.decodeIfPresent([IdentifierInput].self, forKey: .addIdentifiers)
        removeIdentifiers = try container.decodeIfPresent([IdentifierInput].self, forKey: .removeIdentifiers)
        channelId = try container.decodeIfPresent(String.self, forKey: .channelId)
    }
}

/// `POST /v1/identify`
struct IdentifyRequest: RequestBody {
    var identifiers: [IdentifierInput]?
    var traits: ProfileInput?
    var channelId: String?
    /// The device or browser's anonymous id: its earlier journey events are stitched to the customer.
    var anonymousId: String?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case identifiers, traits, channelId, anonymousId
    }
}

/// `POST /v1/customers/{id}/merge`: merge `customer_id` into the customer of the path.
struct MergeCustomersRequest: RequestBody {
    var customerId: String?
    var reason: String?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case customerId, reason
    }
}

/// `POST /v1/customers/{id}/unmerge`
struct UnmergeCustomerRequest: RequestBody {
    var reason: String?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case reason
    }
}

/// `PATCH /v1/identity/policy`
struct UpdateIdentityPolicyRequest: RequestBody {
    var mergeOn: [String]?
    var customKinds: [String]?
    var canonicalGmail: Bool?
    var defaultCountry: FieldPatch<String> = .unchanged

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case mergeOn, customKinds, canonicalGmail, defaultCountry
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mergeOn = try container.decodeIfPresent([String].self, forKey: .mergeOn)
        customKinds = try container.decodeIfPresent([String].self, forKey: .customKinds)
        canonicalGmail = try container.decodeIfPresent(Bool.self, forKey: .canonicalGmail)
        defaultCountry = try container.patch(String.self, forKey: .defaultCountry)
    }
}
