import Foundation
import OmniaCore

/// The rules of customer profiles and identifiers in requests, shared by create, update, identify and imports.
enum CustomerValidation {
    static let maximumIdentifiersPerRequest = 20
    static let maximumAttributes = 50
    static let maximumAttributesBytes = 8_192

    /// Normalizes each identifier with the tenant's policy, reporting every bad one by its path.
    static func identifiers(_ inputs: [IdentifierInput]?, field: String, policy: IdentityPolicy, into validator: inout Validator) -> [NormalizedIdentifier] {
        guard let inputs else { return [] }
        guard inputs.count <= maximumIdentifiersPerRequest else {
            validator.fail(field, "too_many", "at most \(maximumIdentifiersPerRequest) identifiers per request")
            return []
        }
        var result: [NormalizedIdentifier] = []
        for (index, input) in inputs.enumerated() {
            let path = "\(field)[\(index)]"
            guard let kindName = input.kind else {
                validator.fail("\(path).kind", "required", "\(path).kind is required")
                continue
            }
            guard let kind = policy.kind(named: kindName) else {
                validator.fail("\(path).kind", "unknown_identifier_kind", "kind must be one of: \(policy.knownKinds.joined(separator: ", "))")
                continue
            }
            guard let value = input.value else {
                validator.fail("\(path).value", "required", "\(path).value is required")
                continue
            }
            do {
                let normalized = NormalizedIdentifier(kind: kind.name, value: try policy.normalization.normalize(value, as: kind))
                if !result.contains(normalized) { result.append(normalized) }
            } catch {
                validator.fail("\(path).value", error.code, error.detail)
            }
        }
        return result
    }

    /// A profile from a request's fields (nil fields stay nil).
    static func profile(_ input: ProfileInput?, field prefix: String = "", now: Date, into validator: inout Validator) -> CustomerProfile {
        var profile = CustomerProfile.empty
        guard let input else { return profile }
        let values: [String: String?] = [
            "first_name": input.firstName, "last_name": input.lastName, "birth_date": input.birthDate, "language": input.language,
            "address_line1": input.addressLine1, "address_line2": input.addressLine2, "city": input.city, "postcode": input.postcode,
            "region": input.region, "country": input.country,
        ]
        for (column, path) in CustomerProfile.textFields {
            guard let value = values[column] ?? nil else { continue }
            profile[keyPath: path] = text(value, column: column, field: prefix + column, now: now, into: &validator)
        }
        if let attributes = input.attributes {
            profile.attributes = self.attributes(attributes, field: prefix + "attributes", into: &validator)
        }
        return profile
    }

    /// One profile text field checked by its column's rule.
    static func text(_ value: String, column: String, field: String, now: Date, into validator: inout Validator) -> String? {
        switch column {
        case "birth_date": return birthDate(value, field: field, now: now, into: &validator)
        case "country": return validator.country(value, field: field)
        case "language": return language(value, field: field, into: &validator)
        case "first_name", "last_name", "city", "region": return validator.text(value, field: field, required: false, maxLength: 100)
        case "postcode": return validator.text(value, field: field, required: false, maxLength: 20)
        default: return validator.text(value, field: field, required: false, maxLength: 200)
        }
    }

    /// `YYYY-MM-DD`, a real calendar day from 1900 up to today.
    static func birthDate(_ value: String, field: String, now: Date, into validator: inout Validator) -> String? {
        let parts = value.split(separator: "-", omittingEmptySubsequences: false)
        guard value.utf8.count == 10, parts.count == 3, parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            parts[0].count == 4, parts[1].count == 2, parts[2].count == 2, (1...12).contains(month)
        else {
            validator.fail(field, "invalid_date", "\(field) must be a date as YYYY-MM-DD")
            return nil
        }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...days).contains(day) else {
            validator.fail(field, "invalid_date", "\(field) is not a calendar day")
            return nil
        }
        let today = Timestamp.text(Timestamp.milliseconds(now)).prefix(10)
        guard year >= 1900, value <= today else {
            validator.fail(field, "out_of_range", "\(field) must be between 1900-01-01 and today")
            return nil
        }
        return value
    }

    /// A BCP 47 language tag such as `es` or `pt-BR`.
    static func language(_ value: String, field: String, into validator: inout Validator) -> String? {
        let subtags = value.split(separator: "-", omittingEmptySubsequences: false)
        let isAlphanumeric = { (subtag: Substring) in subtag.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
        guard value.utf8.count <= 35, let first = subtags.first, (2...3).contains(first.count), first.allSatisfy({ $0.isASCII && $0.isLowercase }),
            subtags.dropFirst().allSatisfy({ (1...8).contains($0.count) && isAlphanumeric($0) })
        else {
            validator.fail(field, "invalid_language", "\(field) must be a language tag such as es or pt-BR")
            return nil
        }
        return value
    }

    /// Free-form attributes: at most 50 names of a-z, 0-9 and `_`, 8 KB in all.
    static func attributes(_ attributes: [String: JSONValue], field: String, into validator: inout Validator) -> [String: JSONValue] {
        if attributes.count > maximumAttributes {
            validator.fail(field, "too_many", "at most \(maximumAttributes) attributes")
        }
        for name in attributes.keys.sorted() where !isAttributeName(name) {
            validator.fail("\(field).\(name)", "invalid_name", "attribute names are 1–64 characters of a-z, 0-9 and '_'")
        }
        if let data = try? JSONCoding.encode(JSONValue.object(attributes)), data.count > maximumAttributesBytes {
            validator.fail(field, "too_large", "\(field) must encode to at most \(maximumAttributesBytes) bytes")
        }
        return attributes
    }

    static func isAttributeName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_") }
    }
}

extension CustomerProfile {
    /// This profile with every field `traits` sets overwritten and its attributes merged in
    /// (a null attribute removes the attribute).
    func applying(_ traits: CustomerProfile) -> CustomerProfile {
        var result = self
        for (_, path) in Self.textFields {
            if let value = traits[keyPath: path] { result[keyPath: path] = value }
        }
        for (name, value) in traits.attributes {
            if value == .null { result.attributes[name] = nil } else { result.attributes[name] = value }
        }
        return result
    }
}
