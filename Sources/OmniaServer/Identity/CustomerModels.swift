import OmniaCore

/// A customer row as stored: the profile of one customer record, merged away or not.
struct CustomerRow: Decodable, Sendable {
    let id: String
    let canonicalId: String
    let mergedInto: String?
    var profile: CustomerProfile
    let createdAt: StoredTime
    var updatedAt: StoredTime

    enum CodingKeys: String, CodingKey {
        case id, canonicalId, mergedInto, createdAt, updatedAt
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        canonicalId = try container.decode(String.self, forKey: .canonicalId)
        mergedInto = try container.decodeIfPresent(String.self, forKey: .mergedInto)
        createdAt = try container.decode(StoredTime.self, forKey: .createdAt)
        updatedAt = try container.decode(StoredTime.self, forKey: .updatedAt)
        profile = try CustomerProfile(from: decoder)
    }
}

/// The editable profile of a customer. Every field is optional: a till may know nothing but a card number.
struct CustomerProfile: Codable, Sendable, Equatable {
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
    /// Free-form traits (`{"size": "M"}`), stored as a JSON object.
    var attributes: [String: JSONValue]

    static let empty = CustomerProfile(attributes: [:])

    init(firstName: String? = nil, lastName: String? = nil, birthDate: String? = nil, language: String? = nil, addressLine1: String? = nil,
         addressLine2: String? = nil, city: String? = nil, postcode: String? = nil, region: String? = nil, country: String? = nil,
         attributes: [String: JSONValue]) {
        self.firstName = firstName
        self.lastName = lastName
        self.birthDate = birthDate
        self.language = language
        self.addressLine1 = addressLine1
        self.addressLine2 = addressLine2
        self.city = city
        self.postcode = postcode
        self.region = region
        self.country = country
        self.attributes = attributes
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case firstName, lastName, birthDate, language, addressLine1, addressLine2, city, postcode, region, country, attributes
    }

    /// The text fields by key path with their column names, for merging and filling profiles generically.
    static var textFields: [(column: String, path: WritableKeyPath<CustomerProfile, String?>)] { [
        ("first_name", \.firstName), ("last_name", \.lastName), ("birth_date", \.birthDate), ("language", \.language),
        ("address_line1", \.addressLine1), ("address_line2", \.addressLine2), ("city", \.city), ("postcode", \.postcode),
        ("region", \.region), ("country", \.country),
    ] }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        firstName = try container.decodeIfPresent(String.self, forKey: .firstName)
        lastName = try container.decodeIfPresent(String.self, forKey: .lastName)
        birthDate = try container.decodeIfPresent(String.self, forKey: .birthDate)
        language = try container.decodeIfPresent(String.self, forKey: .language)
        addressLine1 = try container.decodeIfPresent(String.self, forKey: .addressLine1)
        addressLine2 = try container.decodeIfPresent(String.self, forKey: .addressLine2)
        city = try container.decodeIfPresent(String.self, forKey: .city)
        postcode = try container.decodeIfPresent(String.self, forKey: .postcode)
        region = try container.decodeIfPresent(String.self, forKey: .region)
        country = try container.decodeIfPresent(String.self, forKey: .country)
        // Stored as JSON text in a row; a JSON object in an event or request.
        if let text = try? container.decodeIfPresent(String.self, forKey: .attributes) {
            if case .object(let members) = StoredJSON(storedText: text).value { attributes = members } else { attributes = [:] }
        } else {
            attributes = try container.decodeIfPresent([String: JSONValue].self, forKey: .attributes) ?? [:]
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(firstName, forKey: .firstName)
        try container.encode(lastName, forKey: .lastName)
        try container.encode(birthDate, forKey: .birthDate)
        try container.encode(language, forKey: .language)
        try container.encode(addressLine1, forKey: .addressLine1)
        try container.encode(addressLine2, forKey: .addressLine2)
        try container.encode(city, forKey: .city)
        try container.encode(postcode, forKey: .postcode)
        try container.encode(region, forKey: .region)
        try container.encode(country, forKey: .country)
        try container.encode(JSONValue.object(attributes), forKey: .attributes)
    }

    /// `first last`, folded, for prefix search by full name.
    var nameKey: String? {
        let name = [firstName, lastName].compactMap { $0 }.joined(separator: " ")
        return name.isEmpty ? nil : CustomerSearch.fold(name)
    }

    var lastNameKey: String? { lastName.map(CustomerSearch.fold) }

    var attributesText: String { get throws { try JSONCoding.text(JSONValue.object(attributes)) } }
}

/// An identifier as shown on a customer.
struct CustomerIdentifier: Codable, Sendable, Equatable {
    let kind: String
    let value: String
    let channelId: String?
    let createdAt: StoredTime
}

/// A customer as the API shows it: the survivor's profile, every identifier of the customers merged
/// into it, and — when the ID asked for was merged away — the survivor it now redirects to.
struct Customer: Encodable, Sendable {
    let id: String
    let profile: CustomerProfile
    let identifiers: [CustomerIdentifier]
    /// IDs of the customers merged into this one (they redirect here).
    let mergedIds: [String]
    /// Set when the requested ID was merged away: the customer it redirects to (this one).
    let mergedInto: String?
    let createdAt: StoredTime
    let updatedAt: StoredTime

    enum CodingKeys: String, CodingKey {
        case id, identifiers, mergedIds, mergedInto, createdAt, updatedAt
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try profile.encode(to: encoder)
        try container.encode(identifiers, forKey: .identifiers)
        try container.encode(mergedIds, forKey: .mergedIds)
        try container.encode(mergedInto, forKey: .mergedInto)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

/// The answer to `POST /v1/identify`.
struct IdentifyResult: Encodable, Sendable {
    let customer: Customer
    /// True when no identifier was known and a customer was created.
    let created: Bool
    /// Identifiers attached to the customer by this call.
    let attached: [NormalizedIdentifier]
    /// Customers merged into `customer` by this call.
    let merged: [String]
    /// Earlier journey events of `anonymous_id` attached to the customer by this call.
    var stitchedEvents = 0
}

/// One merge as recorded: who merged which customer into which, why, and whether it was undone.
struct CustomerMerge: Codable, Sendable {
    let id: String
    let survivorId: String
    let mergedId: String
    let reason: String
    let identifiers: StoredJSON
    /// Survivor fields that were empty and were filled from the merged customer; unmerge clears them again.
    let filledFields: StoredJSON
    let actor: String
    let channelId: String?
    let requestId: String?
    let createdAt: StoredTime
    let unmergedAt: StoredTime?
    let unmergedBy: String?
}
