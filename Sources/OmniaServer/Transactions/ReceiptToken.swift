import OmniaCore

/// The unguessable token of a digital receipt, `rct_<tenant>_<secret>` (see `TenantScopedToken`):
/// whoever holds the link may read that one receipt without an API key — it is mailed to the shopper.
enum ReceiptToken {
    static let prefix = "rct_"

    static func generate(tenantID: String) -> String {
        TenantScopedToken.generate(prefix: prefix, tenantID: tenantID)
    }

    /// The tenant a presented token belongs to, or nil when it cannot be a receipt token.
    static func tenantID(of token: String) -> String? {
        TenantScopedToken.tenantID(of: token, prefix: prefix)
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
