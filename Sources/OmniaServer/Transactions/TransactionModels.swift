import Foundation
import OmniaCore

/// Whether a transaction sells or takes back.
enum TransactionKind: String, Codable, Sendable, CaseIterable {
    case sale
    case `return`
}

/// How a transaction was paid (a sale) or refunded (a return).
struct Tender: Codable, Sendable, Hashable {
    let kind: String
    let amount: Int64
    let reference: String?
}

/// A tax of a transaction: VAT at 21 %, a city tax… `rate` is in basis points (2100 = 21 %).
struct TaxAmount: Codable, Sendable, Hashable {
    let name: String
    let rate: Int64?
    let amount: Int64
}

/// An order-level discount (a line's own discount is on the line).
struct OrderDiscount: Codable, Sendable, Hashable {
    let code: String?
    let description: String?
    let amount: Int64
}

/// A row of `transactions`.
struct TransactionRow: Decodable, Sendable {
    let id: String
    let kind: String
    let channelId: String
    let locationId: String?
    let externalId: String
    let customerId: String?
    let originalId: String?
    let occurredAt: Int64
    let currency: String
    let subtotal: Int64
    let discountTotal: Int64
    let taxTotal: Int64
    let taxesIncluded: Int64
    let total: Int64
    let discounts: String
    let taxes: String
    let tenders: String
    let claimCode: String?
    let claimedAt: Int64?
    let receiptToken: String
    let contentHash: String
    let createdAt: Int64
}

extension TransactionRow {
    /// This row recorded for `customerID` (a bulk import builds the row before it knows the customer).
    func with(customerID: String?) -> TransactionRow {
        TransactionRow(id: id, kind: kind, channelId: channelId, locationId: locationId, externalId: externalId, customerId: customerID,
                       originalId: originalId, occurredAt: occurredAt, currency: currency, subtotal: subtotal, discountTotal: discountTotal,
                       taxTotal: taxTotal, taxesIncluded: taxesIncluded, total: total, discounts: discounts, taxes: taxes, tenders: tenders,
                       claimCode: claimCode, claimedAt: claimedAt, receiptToken: receiptToken, contentHash: contentHash, createdAt: createdAt)
    }
}

/// A line of a sale or return, as stored and as shown. A return line copies the sku, name and
/// category of the sale line it returns (`original_line`), so every line reads on its own.
struct TransactionLine: Codable, Sendable {
    let lineNumber: Int
    let sku: String
    let name: String?
    let category: String?
    let quantity: Int64
    let unitPrice: Int64
    let discount: Int64
    /// `quantity × unit_price − discount`.
    let total: Int64
    /// `total` less this line's share of order discounts: what returning the whole line refunds.
    let netTotal: Int64
    /// Of a sale line: how many units have been returned so far, in any channel.
    let returnedQuantity: Int64
    /// Of a return line: the line number of the sale line it returns.
    let originalLine: Int?
    let reason: String?
}

/// A sale or return as the API shows it.
struct SalesTransaction: Encodable, Sendable {
    let id: String
    let kind: String
    let channelId: String
    let locationId: String?
    let externalId: String
    private(set) var customerId: String?
    let originalTransactionId: String?
    let occurredAt: StoredTime
    let currency: String
    let subtotal: Int64
    let discountTotal: Int64
    let taxTotal: Int64
    let taxesIncluded: Bool
    let total: Int64
    let lines: [TransactionLine]
    let discounts: [OrderDiscount]
    let taxes: [TaxAmount]
    private(set) var tenders: [Tender]
    /// Printed on an anonymous sale's receipt until a customer claims it.
    let claimCode: String?
    let claimedAt: StoredTime?
    let receiptToken: String
    let createdAt: StoredTime

    init(row: TransactionRow, lines: [TransactionLine]) {
        self.init(row: row, lines: lines, discounts: Self.decodeList(row.discounts), taxes: Self.decodeList(row.taxes), tenders: Self.decodeList(row.tenders))
    }

    /// A transaction just written, from the values its row's JSON columns were encoded from.
    init(row: TransactionRow, lines: [TransactionLine], discounts: [OrderDiscount], taxes: [TaxAmount], tenders: [Tender]) {
        id = row.id
        kind = row.kind
        channelId = row.channelId
        locationId = row.locationId
        externalId = row.externalId
        customerId = row.customerId
        originalTransactionId = row.originalId
        occurredAt = StoredTime(milliseconds: row.occurredAt)
        currency = row.currency
        subtotal = row.subtotal
        discountTotal = row.discountTotal
        taxTotal = row.taxTotal
        taxesIncluded = row.taxesIncluded != 0
        total = row.total
        self.lines = lines
        self.discounts = discounts
        self.taxes = taxes
        self.tenders = tenders
        claimCode = row.customerId == nil ? row.claimCode.map(ClaimCode.display) : nil
        claimedAt = row.claimedAt.map(StoredTime.init(milliseconds:))
        receiptToken = row.receiptToken
        createdAt = StoredTime(milliseconds: row.createdAt)
    }

    /// What a receipt link shows anyone who holds it: no customer id, no payment references.
    func forPublicReceipt() -> SalesTransaction {
        var copy = self
        copy.customerId = nil
        copy.tenders = tenders.map { Tender(kind: $0.kind, amount: $0.amount, reference: nil) }
        return copy
    }

    private static func decodeList<Element: Decodable>(_ text: String) -> [Element] {
        (try? JSONCoding.decoder.decode([Element].self, from: Data(text.utf8))) ?? []
    }
}

/// What `POST /v1/receipts/claim` answers: the claimed sale and any returns of it that were
/// anonymous too, now all on the customer.
struct ClaimResult: Encodable, Sendable {
    let customerId: String
    let transaction: SalesTransaction
    let returns: [SalesTransaction]
}
