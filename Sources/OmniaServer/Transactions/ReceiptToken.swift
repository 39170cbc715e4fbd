import OmniaCore

/// The unguessable token of a digital receipt, `rct_<tenant>_<issue time><secret>` (see
/// `TenantScopedToken`): whoever holds the link may read that one receipt without an API key — it
/// is mailed to the shopper. Every sale and return gets one, so the time comes first to keep the
/// token index growing at one end (tokens issued before it was added have none, and still work).
enum ReceiptToken {
    static let prefix = "rct_"

    static func generate(tenantID: String, issuedAt: Int64) -> String {
        TenantScopedToken.generate(prefix: prefix, tenantID: tenantID, issuedAt: issuedAt)
    }

    /// The tenant a presented token belongs to, or nil when it cannot be a receipt token.
    static func tenantID(of token: String) -> String? {
        TenantScopedToken.tenantID(of: token, prefix: prefix, timeOrdered: true)
    }

    /// Where the receipt is served, relative to the server's base URL.
    static func path(_ token: String) -> String { "/v1/receipts/\(token)" }
}

/// The `receipt.issued` event: what a retailer's mailer needs to send the receipt, and the link to it.
struct ReceiptIssued: Encodable, Sendable {
    let transactionId: String
    let kind: String
    let customerId: String?
    let channelId: String
    let occurredAt: StoredTime
    let currency: String
    let total: Int64
    let claimCode: String?
    let receiptToken: String
    let receiptPath: String

    init(_ transaction: SalesTransaction) {
        transactionId = transaction.id
        kind = transaction.kind
        customerId = transaction.customerId
        channelId = transaction.channelId
        occurredAt = transaction.occurredAt
        currency = transaction.currency
        total = transaction.total
        claimCode = transaction.claimCode
        receiptToken = transaction.receiptToken
        receiptPath = ReceiptToken.path(transaction.receiptToken)
    }
}
