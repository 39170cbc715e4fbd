/// The kind of a customer identifier: one of the built-in kinds, or one a tenant defines
/// (`member_number`, `crm_id`…), which is normalized only by trimming.
public enum IdentifierKind: Hashable, Sendable, CustomStringConvertible {
    case email
    case phone
    case loyaltyCard
    /// An e-commerce login.
    case accountID
    case deviceID
    /// A hash of a card fingerprint from the payment provider, never the card number itself.
    case paymentToken
    case custom(String)

    public static let builtIn: [IdentifierKind] = [.email, .phone, .loyaltyCard, .accountID, .deviceID, .paymentToken]

    /// `email`, `loyalty_card`… or a tenant-defined name: lower-case letters, digits and `_`,
    /// starting with a letter, at most 40 characters.
    public init?(name: String) {
        if let known = Self.builtIn.first(where: { $0.name == name }) {
            self = known
            return
        }
        guard (1...40).contains(name.utf8.count), let first = name.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
            name.utf8.allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_") })
        else { return nil }
        self = .custom(name)
    }

    public var name: String {
        switch self {
        case .email: "email"
        case .phone: "phone"
        case .loyaltyCard: "loyalty_card"
        case .accountID: "account_id"
        case .deviceID: "device_id"
        case .paymentToken: "payment_token"
        case .custom(let name): name
        }
    }

    public var description: String { name }

    /// Whether two customers sharing this identifier are the same person with enough certainty
    /// to merge them without review. A device or a card is often shared in a household; a phone
    /// number is too (landlines), so only the personal logins and cards are strong by default.
    public var isStrong: Bool {
        switch self {
        case .email, .accountID, .loyaltyCard: true
        case .phone, .deviceID, .paymentToken, .custom: false
        }
    }
}

/// Why an identifier value was refused; `code` is stable and becomes the problem's field error code.
public struct IdentifierError: Error, Equatable, Sendable {
    public let code: String
    public let detail: String

    init(_ code: String, _ detail: String) {
        self.code = code
        self.detail = detail
    }
}

/// How a tenant wants identifiers normalized.
public struct IdentifierNormalization: Sendable, Equatable {
    /// ISO 3166-1 alpha-2 country whose numbering plan applies to phone numbers given without `+`.
    public var defaultCountry: String?
    /// Gmail ignores dots and `+tags` in the local part: with this on, `J.Doe+shop@googlemail.com`
    /// and `jdoe@gmail.com` are the same identifier.
    public var canonicalGmail: Bool

    public init(defaultCountry: String? = nil, canonicalGmail: Bool = true) {
        self.defaultCountry = defaultCountry
        self.canonicalGmail = canonicalGmail
    }

    public static let maximumLength = 200

    /// The canonical form of `value` as an identifier of `kind`: two spellings of the same
    /// identifier normalize to the same text, which is what makes one value belong to one customer.
    public func normalize(_ value: String, as kind: IdentifierKind) throws(IdentifierError) -> String {
        let trimmed: String
        switch FreeText.check(value, maxLength: Self.maximumLength) {
        case .success(let text): trimmed = text
        case .failure(.empty): throw IdentifierError("empty", "the identifier is empty")
        case .failure(.tooLong): throw IdentifierError("too_long", "an identifier has at most \(Self.maximumLength) characters")
        case .failure(.controlCharacters): throw IdentifierError("invalid_characters", "an identifier must not contain control characters")
        }
        switch kind {
        case .email: return try email(trimmed)
        case .phone: return try PhoneNumbers.e164(trimmed, defaultCountry: defaultCountry)
        case .loyaltyCard: return try loyaltyCard(trimmed)
        case .paymentToken: return try paymentToken(trimmed)
        case .accountID, .deviceID, .custom: return trimmed
        }
    }

    private func email(_ text: String) throws(IdentifierError) -> String {
        let lowered = text.lowercased()
        let parts = lowered.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix("."), !lowered.contains(where: \.isWhitespace)
        else { throw IdentifierError("invalid_email", "not an email address") }
        var local = parts[0]
        var domain = parts[1]
        if canonicalGmail && (domain == "gmail.com" || domain == "googlemail.com") {
            if let plus = local.firstIndex(of: "+") { local = local[..<plus] }
            local = Substring(local.filter { $0 != "." })
            domain = "gmail.com"
            guard !local.isEmpty else { throw IdentifierError("invalid_email", "not an email address") }
        }
        return "\(local)@\(domain)"
    }

    private func loyaltyCard(_ text: String) throws(IdentifierError) -> String {
        let digits = try Self.digits(text, allowing: " -.")
        guard (4...32).contains(digits.count) else {
            throw IdentifierError("invalid_loyalty_card", "a loyalty card number has 4 to 32 digits")
        }
        return digits
    }

    private func paymentToken(_ text: String) throws(IdentifierError) -> String {
        // A payment token is an opaque hash; a string that reads as a card number is a PAN sent by
        // mistake and must never be stored.
        if let digits = try? Self.digits(text, allowing: " -"), (12...19).contains(digits.count), Luhn.isValid(digits) {
            throw IdentifierError("raw_card_number", "this looks like a card number; send the payment provider's card fingerprint token instead")
        }
        return text
    }

    /// The digits of `text`, which may contain only digits and the given separators.
    static func digits(_ text: String, allowing separators: String) throws(IdentifierError) -> String {
        var digits = ""
        for character in text {
            if character.isASCII, character.isNumber {
                digits.append(character)
            } else if !separators.contains(character) {
                throw IdentifierError("invalid_characters", "only digits and '\(separators)' are allowed")
            }
        }
        return digits
    }
}

/// The Luhn check digit scheme of card numbers (ISO/IEC 7812).
public enum Luhn {
    public static func isValid(_ digits: String) -> Bool {
        var sum = 0
        for (index, character) in digits.reversed().enumerated() {
            guard let digit = character.wholeNumberValue else { return false }
            if index % 2 == 1 {
                let doubled = digit * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += digit
            }
        }
        return !digits.isEmpty && sum % 10 == 0
    }
}
