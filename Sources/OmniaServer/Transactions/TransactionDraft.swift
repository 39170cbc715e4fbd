import Crypto
import Foundation
import OmniaCore

/// A transaction request that passed every check needing no database. What remains — the channel
/// and location, the customer, the sale a return takes back — the service resolves in its
/// transaction. Encodes to the canonical form whose hash tells a till's retry (same content, the
/// stored transaction is returned) from a reused external id (different content, 409).
struct TransactionDraft: Encodable, Sendable {
    struct Line: Encodable, Sendable {
        let sku: String?
        let name: String?
        let category: String?
        let quantity: Int64
        let unitPrice: Int64?
        let discount: Int64
        let total: Int64?
        let originalLine: Int?
        let reason: String?
    }

    let kind: TransactionKind
    let externalID: String
    let channel: String?
    let location: String?
    let occurredAt: Int64
    let currency: String?
    let customerID: String?
    let identifiers: [NormalizedIdentifier]
    let originalID: String?
    let originalChannel: String?
    let originalExternalID: String?
    let lines: [Line]
    let discounts: [OrderDiscount]
    let taxes: [TaxAmount]
    let taxesIncluded: Bool
    let tenders: [Tender]?
    let statedTotal: Int64?

    var isAnonymous: Bool { customerID == nil && identifiers.isEmpty }

    /// Hex SHA-256 of the canonical form, with the channel and location as resolved rather than as
    /// named: a retry that names the channel by id instead of code, or leaves it to a bound key,
    /// is the same transaction.
    func contentHash(channelID: String, locationID: String?) throws -> String {
        SHA256.hash(data: resolved(channelID: channelID, locationID: locationID).canonicalJSON()).hexString
    }

    func resolved(channelID: String, locationID: String?) -> TransactionDraft {
        TransactionDraft(
            kind: kind, externalID: externalID, channel: channelID, location: locationID, occurredAt: occurredAt, currency: currency,
            customerID: customerID, identifiers: identifiers, originalID: originalID, originalChannel: originalChannel,
            originalExternalID: originalExternalID, lines: lines, discounts: discounts, taxes: taxes, taxesIncluded: taxesIncluded,
            tenders: tenders, statedTotal: statedTotal)
    }

    /// Exactly `JSONWriter.encode(self)` (stored hashes depend on it; a test compares the two on
    /// random drafts), written member by member: every sale of an import is hashed, and the
    /// `Encodable` containers cost several times the bytes.
    func canonicalJSON() -> [UInt8] {
        var json = JSONBytes()
        json.object { json in
            json.member("kind", kind.rawValue)
            json.member("external_id", externalID)
            json.member("channel", channel)
            json.member("location", location)
            json.member("occurred_at", occurredAt)
            json.member("currency", currency)
            json.member("customer_id", customerID)
            json.member("identifiers", identifiers) { json, identifier in
                json.object { json in
                    json.member("kind", identifier.kind)
                    json.member("value", identifier.value)
                }
            }
            json.member("original_id", originalID)
            json.member("original_channel", originalChannel)
            json.member("original_external_id", originalExternalID)
            json.member("lines", lines) { json, line in
                json.object { json in
                    json.member("sku", line.sku)
                    json.member("name", line.name)
                    json.member("category", line.category)
                    json.member("quantity", line.quantity)
                    json.member("unit_price", line.unitPrice)
                    json.member("discount", line.discount)
                    json.member("total", line.total)
                    json.member("original_line", line.originalLine.map(Int64.init))
                    json.member("reason", line.reason)
                }
            }
            json.member("discounts", discounts) { json, discount in
                json.object { json in
                    json.member("code", discount.code)
                    json.member("description", discount.description)
                    json.member("amount", discount.amount)
                }
            }
            json.member("taxes", taxes) { json, tax in
                json.object { json in
                    json.member("name", tax.name)
                    json.member("rate", tax.rate)
                    json.member("amount", tax.amount)
                }
            }
            json.member("taxes_included", taxesIncluded)
            if let tenders {
                json.member("tenders", tenders) { json, tender in
                    json.object { json in
                        json.member("kind", tender.kind)
                        json.member("amount", tender.amount)
                        json.member("reference", tender.reference)
                    }
                }
            }
            json.member("stated_total", statedTotal)
        }
        return json.bytes
    }
}

/// The checks of `POST /v1/transactions` that need no database, every failure reported by its path.
enum TransactionValidation {
    static let maximumLines = 500
    static let maximumQuantity: Int64 = 1_000_000
    /// The earliest and the latest (relative to now) a transaction may have happened: a till whose
    /// clock is a little ahead is fine, a date years ahead is a bug upstream.
    static let earliestOccurredAt: Int64 = 946_684_800_000
    static let allowedClockSkew: Int64 = 24 * 3_600_000

    static func draft(_ request: RecordTransactionRequest, now: Int64, accepted currencies: Set<String>, policy: IdentityPolicy) throws -> TransactionDraft {
        var validator = Validator()
        let kind = request.kind == nil ? .sale : validator.oneOf(request.kind, TransactionKind.self, field: "kind")
        let externalID = validator.text(request.externalId, field: "external_id", maxLength: 100)
        let channel = validator.text(request.channel, field: "channel", required: false, maxLength: 64)
        let location = validator.text(request.location, field: "location", required: false, maxLength: 64)
        let occurredAt = self.occurredAt(request.occurredAt, now: now, into: &validator)
        var currency: String?
        if let code = request.currency {
            currency = validator.currency(code, field: "currency")?.code
            if let accepted = currency, !currencies.contains(accepted) {
                validator.fail("currency", "currency_not_accepted", "this tenant accepts \(currencies.sorted().joined(separator: ", ")), not \(accepted)")
            }
        } else if kind != .return {
            validator.fail("currency", "required", "currency is required")
        }
        let (customerID, identifiers) = customer(request.customer, policy: policy, into: &validator)
        let lines = self.lines(request.lines, kind: kind, into: &validator)
        let discounts = (request.discounts ?? []).enumerated().compactMap { index, input in discount(input, field: "discounts[\(index)]", into: &validator) }
        let taxes = (request.taxes ?? []).enumerated().compactMap { index, input in tax(input, field: "taxes[\(index)]", into: &validator) }
        // An empty list records no payment details, like an absent one; it does not claim a zero total.
        let tenders = request.tenders.flatMap { $0.isEmpty ? nil : $0.enumerated().compactMap { index, input in tender(input, field: "tenders[\(index)]", into: &validator) } }
        if kind == .return && !discounts.isEmpty {
            validator.fail("discounts", "not_allowed_on_return", "a return refunds the sale's net amounts; it has no discounts of its own")
        }
        if kind == .return && !taxes.isEmpty {
            validator.fail("taxes", "not_allowed_on_return", "a return's taxes are the sale's, in proportion to what is returned")
        }
        let original = request.original
        if kind == .return {
            if original == nil {
                validator.fail("original", "required", "a return names the sale it takes back: original.id, or original.channel and original.external_id")
            } else if original?.id == nil && original?.externalId == nil {
                validator.fail("original", "required", "name the sale by original.id, or by original.external_id (and original.channel when it was sold elsewhere)")
            }
        } else if original != nil {
            validator.fail("original", "not_allowed_on_sale", "only a return references an original transaction")
        }
        if let total = request.total { validator.amount(total, field: "total") }
        guard validator.isValid, let kind, let externalID, let occurredAt, let lines else { throw Problem.validation(validator.errors) }
        return TransactionDraft(
            kind: kind, externalID: externalID, channel: channel, location: location, occurredAt: occurredAt, currency: currency,
            customerID: customerID, identifiers: identifiers, originalID: original?.id, originalChannel: original?.channel,
            originalExternalID: original?.externalId, lines: lines, discounts: discounts, taxes: taxes,
            taxesIncluded: request.taxesIncluded ?? true, tenders: tenders, statedTotal: request.total)
    }

    private static func occurredAt(_ text: String?, now: Int64, into validator: inout Validator) -> Int64? {
        guard let text else {
            validator.fail("occurred_at", "required", "occurred_at is required")
            return nil
        }
        return occurredAt(text, field: "occurred_at", now: now, into: &validator)
    }

    /// When something happened, as RFC 3339 text: neither more than a day ahead of the server's
    /// clock nor before 2000. Shared with journey events.
    static func occurredAt(_ text: String, field: String, now: Int64, into validator: inout Validator) -> Int64? {
        guard let milliseconds = RFC3339.milliseconds(text) else {
            validator.fail(field, "invalid_date_time", "occurred_at must be an RFC 3339 date-time such as 2026-03-01T10:15:00Z")
            return nil
        }
        if milliseconds > now + allowedClockSkew {
            validator.fail(field, "in_future", "occurred_at must not be more than a day ahead of the server's clock")
            return nil
        }
        if milliseconds < earliestOccurredAt {
            validator.fail(field, "too_old", "occurred_at must be in the year 2000 or later")
            return nil
        }
        return milliseconds
    }

    /// `customer`: `{"id": "cus_…"}`, or identifiers keyed by kind (`{"email": "…", "loyalty_card": "…"}`), or absent for an anonymous sale.
    private static func customer(_ fields: [String: String]?, policy: IdentityPolicy, into validator: inout Validator) -> (String?, [NormalizedIdentifier]) {
        guard let fields else { return (nil, []) }
        var customerID: String?
        var identifiers: [NormalizedIdentifier] = []
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            let path = "customer.\(name)"
            if name == "id" {
                if IDGenerator.isWellFormed(value, prefix: .customer) {
                    customerID = value
                } else {
                    validator.fail(path, "unknown_customer", "customer.id does not name a customer of this tenant")
                }
                continue
            }
            guard let kind = policy.kind(named: name) else {
                validator.fail(path, "unknown_identifier_kind", "customer holds id or identifiers by kind: \(policy.knownKinds.joined(separator: ", "))")
                continue
            }
            do {
                identifiers.append(NormalizedIdentifier(kind: kind.name, value: try policy.normalization.normalize(value, as: kind)))
            } catch {
                validator.fail(path, error.code, error.detail)
            }
        }
        if fields.isEmpty { validator.fail("customer", "required", "customer must hold id or at least one identifier; omit it for an anonymous sale") }
        if customerID != nil && !identifiers.isEmpty {
            validator.fail("customer", "ambiguous_customer", "give customer.id or identifiers, not both")
        }
        return (customerID, identifiers)
    }

    private static func lines(_ inputs: [LineInput]?, kind: TransactionKind?, into validator: inout Validator) -> [TransactionDraft.Line]? {
        guard let inputs, !inputs.isEmpty else {
            validator.fail("lines", "required", "a transaction has at least one line")
            return nil
        }
        guard inputs.count <= maximumLines else {
            validator.fail("lines", "too_many", "at most \(maximumLines) lines per transaction")
            return nil
        }
        var lines: [TransactionDraft.Line] = []
        var returned = Set<Int>()
        for (index, input) in inputs.enumerated() {
            let path = "lines[\(index)]"
            let quantity = self.quantity(input.quantity, field: "\(path).quantity", into: &validator)
            let reason = validator.text(input.reason, field: "\(path).reason", required: false, maxLength: 200)
            let sku = validator.text(input.sku, field: "\(path).sku", required: kind == .sale, maxLength: 100)
            if kind == .return {
                guard let originalLine = input.originalLine else {
                    validator.fail("\(path).original_line", "required", "a return line names the sale line it returns (original_line, from 1)")
                    continue
                }
                if originalLine < 1 { validator.fail("\(path).original_line", "invalid_value", "original_line counts from 1") }
                if !returned.insert(originalLine).inserted {
                    validator.fail("\(path).original_line", "duplicate_line", "line \(originalLine) is returned twice in this return; send one line with the total quantity")
                }
                for (present, name) in [(input.unitPrice != nil, "unit_price"), (input.discount != nil, "discount"), (input.name != nil, "name"),
                                        (input.category != nil, "category")] where present {
                    validator.fail("\(path).\(name)", "not_allowed_on_return", "a return line takes its amounts and description from the sale line it returns")
                }
                if let quantity {
                    lines.append(.init(sku: sku, name: nil, category: nil, quantity: quantity, unitPrice: nil, discount: 0, total: nil,
                                       originalLine: originalLine, reason: reason))
                }
                continue
            }
            if input.originalLine != nil { validator.fail("\(path).original_line", "not_allowed_on_sale", "only a return line has an original_line") }
            let name = validator.text(input.name, field: "\(path).name", required: false, maxLength: 200)
            let category = validator.text(input.category, field: "\(path).category", required: false, maxLength: 200)
            let unitPrice = validator.amount(input.unitPrice, field: "\(path).unit_price")
            let discount = validator.amount(input.discount ?? 0, field: "\(path).discount") ?? 0
            guard let quantity, let unitPrice else { continue }
            guard let total = TransactionMath.lineTotal(quantity: quantity, unitPrice: unitPrice, discount: discount) else {
                validator.fail("\(path).discount", "discount_exceeds_price", "a line's discount cannot exceed quantity × unit_price")
                continue
            }
            if total > 1_000_000_000_00 {
                validator.fail("\(path).quantity", "amount_too_large", "a line's total must be at most 100000000000 minor units")
                continue
            }
            lines.append(.init(sku: sku, name: name, category: category, quantity: quantity, unitPrice: unitPrice, discount: discount,
                               total: total, originalLine: nil, reason: reason))
        }
        return lines
    }

    private static func quantity(_ value: Int64?, field: String, into validator: inout Validator) -> Int64? {
        guard let value else {
            validator.fail(field, "required", "\(field) is required")
            return nil
        }
        guard (1...maximumQuantity).contains(value) else {
            validator.fail(field, "invalid_quantity", "\(field) must be a whole number from 1 to \(maximumQuantity)")
            return nil
        }
        return value
    }

    private static func discount(_ input: DiscountInput, field: String, into validator: inout Validator) -> OrderDiscount? {
        let code = validator.text(input.code, field: "\(field).code", required: false, maxLength: 64)
        let description = validator.text(input.description, field: "\(field).description", required: false, maxLength: 200)
        guard let amount = validator.amount(input.amount, field: "\(field).amount") else { return nil }
        return OrderDiscount(code: code, description: description, amount: amount)
    }

    private static func tax(_ input: TaxInput, field: String, into validator: inout Validator) -> TaxAmount? {
        let name = validator.text(input.name, field: "\(field).name", maxLength: 64)
        if let rate = input.rate, !(0...100_000).contains(rate) {
            validator.fail("\(field).rate", "invalid_rate", "rate is in basis points, from 0 to 100000 (2100 = 21 %)")
        }
        guard let amount = validator.amount(input.amount, field: "\(field).amount"), let name else { return nil }
        return TaxAmount(name: name, rate: input.rate, amount: amount)
    }

    private static func tender(_ input: TenderInput, field: String, into validator: inout Validator) -> Tender? {
        let kind = validator.code(input.kind, field: "\(field).kind")
        let reference = validator.text(input.reference, field: "\(field).reference", required: false, maxLength: 100)
        guard let amount = validator.amount(input.amount, field: "\(field).amount"), let kind else { return nil }
        return Tender(kind: kind, amount: amount, reference: reference)
    }
}
