import Foundation

/// One problem with one field of a request, reported in problem+json `errors`.
public struct FieldError: Sendable, Equatable, Codable {
    /// JSON path of the field, e.g. `name` or `lines[2].quantity`.
    public let field: String
    /// Stable machine code, e.g. `required`, `too_long`, `invalid_enum`.
    public let code: String
    public let detail: String

    public init(field: String, code: String, detail: String) {
        self.field = field
        self.code = code
        self.detail = detail
    }
}

/// The rules every free-text value follows, whether a request field or a customer identifier:
/// trimmed of white space, not empty, at most `maxLength` Unicode scalars (as JSON Schema's
/// `maxLength` counts them, so the contract and the server agree), no control characters.
public enum FreeText {
    public enum Problem: Error, Sendable {
        case empty
        case tooLong
        case controlCharacters
    }

    public static func check(_ value: String, maxLength: Int) -> Result<String, Problem> {
        // Printable ASCII that neither starts nor ends with a space — nearly every SKU, code and
        // name — has nothing to trim and no control character: the Unicode work below is skipped.
        let utf8 = value.utf8
        if let first = utf8.first, let last = utf8.last, first != 0x20, last != 0x20, utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            return utf8.count > maxLength ? .failure(.tooLong) : .success(value)
        }
        let trimmed = value.trimmingWhitespace()
        if trimmed.isEmpty { return .failure(.empty) }
        if trimmed.unicodeScalars.count > maxLength { return .failure(.tooLong) }
        if trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return .failure(.controlCharacters) }
        return .success(trimmed)
    }
}

/// Collects every field error of a request so a client learns all of them at once.
public struct Validator: Sendable {
    public private(set) var errors: [FieldError] = []

    public init() {}

    public var isValid: Bool { errors.isEmpty }

    public mutating func fail(_ field: String, _ code: String, _ detail: String) {
        errors.append(FieldError(field: field, code: code, detail: detail))
    }

    /// A required, trimmed, non-empty string of at most `maxLength` characters without control characters.
    @discardableResult
    public mutating func text(_ value: String?, field: String, required: Bool = true, maxLength: Int = 200) -> String? {
        guard let value else {
            if required { fail(field, "required", "\(field) is required") }
            return nil
        }
        switch FreeText.check(value, maxLength: maxLength) {
        case .success(let text):
            return text
        case .failure(.empty):
            if required { fail(field, "required", "\(field) must not be empty") }
        case .failure(.tooLong):
            fail(field, "too_long", "\(field) must be at most \(maxLength) characters")
        case .failure(.controlCharacters):
            fail(field, "invalid_characters", "\(field) must not contain control characters")
        }
        return nil
    }

    /// A code-like identifier: lower-case letters, digits, `-`, `_` and `.`, 1…64 characters.
    @discardableResult
    public mutating func code(_ value: String?, field: String, required: Bool = true) -> String? {
        guard let value else {
            if required { fail(field, "required", "\(field) is required") }
            return nil
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-_.")
        guard (1...64).contains(value.count), value.allSatisfy(allowed.contains) else {
            fail(field, "invalid_format", "\(field) must be 1–64 characters of a-z, 0-9, '-', '_' or '.'")
            return nil
        }
        return value
    }

    /// One of an enum's raw values.
    @discardableResult
    public mutating func oneOf<E: RawRepresentable & CaseIterable>(_ value: String?, _: E.Type, field: String, required: Bool = true) -> E?
    where E.RawValue == String {
        guard let value else {
            if required { fail(field, "required", "\(field) is required") }
            return nil
        }
        guard let parsed = E(rawValue: value) else {
            let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
            fail(field, "invalid_enum", "\(field) must be one of: \(allowed)")
            return nil
        }
        return parsed
    }

    /// An ISO 4217 currency code.
    @discardableResult
    public mutating func currency(_ value: String?, field: String, required: Bool = true) -> Currency? {
        guard let value else {
            if required { fail(field, "required", "\(field) is required") }
            return nil
        }
        guard let currency = Currency(code: value) else {
            fail(field, "unknown_currency", "\(field) must be an ISO 4217 currency code such as EUR")
            return nil
        }
        return currency
    }

    /// An IANA time-zone name such as `Europe/Madrid`.
    @discardableResult
    public mutating func timeZone(_ value: String?, field: String, required: Bool = true) -> String? {
        guard let value else {
            if required { fail(field, "required", "\(field) is required") }
            return nil
        }
        guard value.count <= 64, value.contains("/") || value == "UTC", TimeZone(identifier: value) != nil else {
            fail(field, "unknown_time_zone", "\(field) must be an IANA time zone such as Europe/Madrid")
            return nil
        }
        return value
    }

    /// An ISO 3166-1 alpha-2 country code (two upper-case letters).
    @discardableResult
    public mutating func country(_ value: String?, field: String, required: Bool = true) -> String? {
        guard let value else {
            if required { fail(field, "required", "\(field) is required") }
            return nil
        }
        guard value.count == 2, value.allSatisfy({ $0.isASCII && $0.isUppercase }), Locale.Region(value).isISORegion else {
            fail(field, "invalid_country", "\(field) must be an ISO 3166-1 alpha-2 code such as ES")
            return nil
        }
        return value
    }

    /// An integer amount of minor units within `0...maximum`.
    @discardableResult
    public mutating func amount(_ value: Int64?, field: String, required: Bool = true, maximum: Int64 = 1_000_000_000_00) -> Int64? {
        guard let value else {
            if required { fail(field, "required", "\(field) is required") }
            return nil
        }
        guard value >= 0 else {
            fail(field, "negative_amount", "\(field) must not be negative")
            return nil
        }
        guard value <= maximum else {
            fail(field, "amount_too_large", "\(field) must be at most \(maximum) minor units")
            return nil
        }
        return value
    }
}
