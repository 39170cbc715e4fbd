import OmniaCore

/// A customer's store credit in one currency: a ledger account only value the retailer gives
/// (a refund, a goodwill gesture) is put on, spendable in any channel as a checkout instrument by
/// the customer it belongs to.
struct StoreCredit: Codable, Sendable, Equatable {
    let id: String
    let customerId: String
    let currency: String
    /// Credits minus debits posted, in minor units.
    let balance: Int64
    /// The balance less what open holds reserve.
    let available: Int64
    let createdAt: StoredTime
}

/// `POST /v1/customers/{id}/store_credit`: credit given by an agent, with the reason the audit log keeps.
struct IssueStoreCreditRequest: RequestBody {
    /// Minor units, at least 1.
    var amount: Int64?
    /// ISO 4217; the tenant's currency when absent. Must be one the tenant accepts.
    var currency: String?
    var reason: String?

    typealias Field = CodingKeys
    enum CodingKeys: String, CodingKey, CaseIterable {
        case amount, currency, reason
    }
}
