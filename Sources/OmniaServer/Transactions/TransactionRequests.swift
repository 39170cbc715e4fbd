import OmniaCore

/// `POST /v1/transactions`: a sale or return in the neutral format (docs/transactions.md).
struct RecordTransactionRequest: RequestBody, Encodable {
    var externalId: String?
    var kind: String?
    var channel: String?
    var location: String?
    var occurredAt: String?
    var currency: String?
    var customer: [String: String]?
    var original: OriginalReference?
    var lines: [LineInput]?
    var discounts: [DiscountInput]?
    var taxes: [TaxInput]?
    var taxesIncluded: Bool?
    var tenders: [TenderInput]?
    var total: Int64?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case externalId, kind, channel, location, occurredAt, currency, customer, original, lines, discounts, taxes, taxesIncluded, tenders, total
    }
}

/// The sale a return takes back: by id, or by the channel and external id it was recorded with
/// (what a store till knows of a web order).
struct OriginalReference: Codable, Sendable {
    var id: String?
    var channel: String?
    var externalId: String?
}

/// A line as sent. A sale line names what was sold; a return line names the sale line it returns
/// (`original_line`) and how many units — its amounts come from the sale.
struct LineInput: Codable, Sendable {
    var sku: String?
    var name: String?
    var category: String?
    var quantity: Int64?
    var unitPrice: Int64?
    var discount: Int64?
    var originalLine: Int?
    var reason: String?
}

struct DiscountInput: Codable, Sendable {
    var code: String?
    var description: String?
    var amount: Int64?
}

struct TaxInput: Codable, Sendable {
    var name: String?
    var rate: Int64?
    var amount: Int64?
}

struct TenderInput: Codable, Sendable {
    var kind: String?
    var amount: Int64?
    var reference: String?
}

/// `POST /v1/receipts/claim`: attach an anonymous sale to a customer, named by id or found (or
/// created) from identifiers as `identify` would.
struct ClaimReceiptRequest: RequestBody {
    var claimCode: String?
    var customerId: String?
    var identifiers: [IdentifierInput]?
    var channelId: String?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case claimCode, customerId, identifiers, channelId
    }
}
