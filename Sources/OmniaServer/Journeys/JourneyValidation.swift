import Foundation
import OmniaCore

/// A tracked event that passed the checks needing no database.
struct JourneyDraft: Sendable {
    let type: String
    let occurredAt: Int64
    let anonymousID: String?
    let customerID: String?
    let identifiers: [NormalizedIdentifier]
    let channel: String?
    let properties: [String: JSONValue]
}

enum JourneyValidation {
    static let maximumBatch = 100
    static let maximumPropertiesBytes = 8_192

    static func drafts(_ request: TrackEventsRequest, now: Int64, policy: IdentityPolicy) throws -> [JourneyDraft] {
        var validator = Validator()
        if request.events.isEmpty { validator.fail("events", "required", "send at least one event") }
        if request.events.count > maximumBatch { validator.fail("events", "too_many", "at most \(maximumBatch) events per call") }
        guard validator.isValid else { throw Problem.validation(validator.errors) }
        var drafts: [JourneyDraft] = []
        for (index, input) in request.events.enumerated() {
            let path = request.isBatch ? "events[\(index)]." : ""
            if let draft = draft(input, path: path, now: now, policy: policy, into: &validator) { drafts.append(draft) }
        }
        guard validator.isValid else { throw Problem.validation(validator.errors) }
        return drafts
    }

    private static func draft(_ input: TrackEventInput, path: String, now: Int64, policy: IdentityPolicy, into validator: inout Validator) -> JourneyDraft? {
        let before = validator.errors.count
        var type: String?
        if let name = input.type {
            if name == JourneyEventType.cartAbandoned.rawValue {
                validator.fail("\(path)type", "reserved_type", "cart_abandoned is raised by Omnia when a cart sits idle; it cannot be tracked")
            } else if isTypeName(name) {
                type = name
            } else {
                validator.fail("\(path)type", "invalid_format", "type is a known type (\(JourneyEventType.allCases.dropLast().map(\.rawValue).joined(separator: ", "))) or a custom one of a-z, 0-9 and _ (1–64)")
            }
        } else {
            validator.fail("\(path)type", "required", "\(path)type is required")
        }
        var occurredAt = now
        if let text = input.occurredAt, let milliseconds = TransactionValidation.occurredAt(text, field: "\(path)occurred_at", now: now, into: &validator) {
            occurredAt = milliseconds
        }
        let anonymousID = validator.text(input.anonymousId, field: "\(path)anonymous_id", required: false, maxLength: 100)
        if let id = input.customerId, !IDGenerator.isWellFormed(id, prefix: .customer) {
            validator.fail("\(path)customer_id", "unknown_customer", "customer_id does not name a customer of this tenant")
        }
        let identifiers = CustomerValidation.identifiers(input.identifiers, field: "\(path)identifiers", policy: policy, into: &validator)
        if anonymousID == nil && input.customerId == nil && (input.identifiers?.isEmpty ?? true) {
            validator.fail("\(path)anonymous_id", "required", "an event names who: anonymous_id, customer_id or identifiers")
        }
        if input.customerId != nil && !(input.identifiers?.isEmpty ?? true) {
            validator.fail("\(path)customer_id", "ambiguous_customer", "give customer_id or identifiers, not both")
        }
        let channel = validator.text(input.channel, field: "\(path)channel", required: false, maxLength: 64)
        let properties = input.properties ?? [:]
        if let size = try? JSONCoding.text(JSONValue.object(properties)).utf8.count, size > maximumPropertiesBytes {
            validator.fail("\(path)properties", "too_large", "properties take at most \(maximumPropertiesBytes) bytes of JSON")
        }
        for key in ["value", "item_count"] {
            if let value = properties[key], !isCount(value) {
                validator.fail("\(path)properties.\(key)", "invalid_type", "\(key) is a whole number of at least 0 (value in minor units)")
            }
        }
        switch properties["cart_id"] {
        case nil: break
        case .string(let text)?: validator.text(text, field: "\(path)properties.cart_id", maxLength: 100)
        default: validator.fail("\(path)properties.cart_id", "invalid_type", "cart_id is a string of 1–100 characters")
        }
        if let currency = properties["currency"] {
            if case .string(let code) = currency, Currency(code: code) != nil {} else {
                validator.fail("\(path)properties.currency", "unknown_currency", "currency must be an ISO 4217 code such as EUR")
            }
        }
        guard validator.errors.count == before, let type else { return nil }
        return JourneyDraft(type: type, occurredAt: occurredAt, anonymousID: anonymousID, customerID: input.customerId, identifiers: identifiers,
                            channel: channel, properties: properties)
    }

    static func isTypeName(_ name: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_")
        return (1...64).contains(name.count) && name.first?.isLetter == true && name.allSatisfy(allowed.contains)
    }

    private static func isCount(_ value: JSONValue) -> Bool {
        switch value {
        case .integer(let number): number >= 0
        case .number(let number): number >= 0 && number == number.rounded() && number < 1e15
        default: false
        }
    }
}
