import Foundation
import OmniaCore
import SQLKit

/// Store credit: one ledger account per customer and currency, opened by the first credit given,
/// loaded from the tenant's `store_credit_issued` control accounts and spent, like a gift card,
/// through holds and redemptions — but only by the customer it belongs to (or the survivor they
/// were merged into).
struct StoreCreditService: Sendable {
    let services: AppServices

    /// The control account credit comes from when it is given.
    static let issuedPurpose = "store_credit_issued"

    /// Gives `customerID` credit (an agent's goodwill, a refund to credit): opens the customer's
    /// account in the currency if need be and posts the amount onto it, audited with its reason.
    func issue(on sql: any SQLDatabase, caller: Caller, customerID requested: String, _ request: IssueStoreCreditRequest,
               actor: Actor) async throws -> StoreCredit {
        let customer = try await CustomerStore(tenantID: caller.tenantID).requiredResolvedRow(on: sql, id: requested)
        var validator = Validator()
        let amount = validator.amount(request.amount, field: "amount")
        if amount == 0 { validator.fail("amount", "amount_not_positive", "amount must be at least 1") }
        let currency = request.currency == nil ? Currency(code: caller.tenantCurrency) : validator.currency(request.currency, field: "currency")
        if let currency, !caller.acceptedCurrencies.contains(currency.code) {
            validator.fail("currency", "currency_not_accepted", "currency must be one the tenant accepts: \(caller.acceptedCurrencies.sorted().joined(separator: ", "))")
        }
        let reason = validator.text(request.reason, field: "reason", maxLength: 500)
        guard validator.isValid, let amount, let currency, let reason else { throw Problem.validation(validator.errors) }

        let now = services.nowMilliseconds
        let id = try await account(on: sql, tenantID: caller.tenantID, customerID: customer.id, currency: currency, now: now)
        let unit = LedgerUnit.currency(currency)
        do {
            _ = try await LedgerStore(tenantID: caller.tenantID).post(
                on: sql, [LedgerTransferRequest(debitAccountID: LedgerStore.controlAccountID(Self.issuedPurpose, unit: unit, for: id), creditAccountID: id,
                                                amount: amount, unit: unit)],
                ids: services.ids, reason: reason, requestID: actor.requestID, now: now)
        } catch let refused as LedgerRefused {
            throw GiftCardError.refused(refused)
        }
        guard let credit = try await credits(on: sql, tenantID: caller.tenantID, ids: [id]).first else { throw Problem.notFound("store credit") }
        try await services.events.append(on: sql, tenantID: caller.tenantID, type: "store_credit.issued",
                                         data: StoreCreditIssued(storeCredit: credit, amount: amount, reason: reason), requestID: actor.requestID)
        try await services.audit.record(on: sql, tenantID: caller.tenantID, actor: actor.id, action: "store_credit.issue", targetType: "store_credit",
                                        targetID: id, details: ["amount": .integer(amount), "currency": .string(currency.code), "reason": .string(reason)],
                                        requestID: actor.requestID)
        return credit
    }

    /// The id of the customer's credit account in `currency`, opened now if it is the first. Two
    /// first credits at once open one account: the unique index decides, and both read it after.
    private func account(on sql: any SQLDatabase, tenantID: String, customerID: String, currency: Currency, now: Int64) async throws -> String {
        let existing: SQLQueryString = """
            SELECT id FROM store_credits WHERE tenant_id = \(bind: tenantID) AND customer_id = \(bind: customerID) AND currency = \(bind: currency.code)
            """
        if let id = try await sql.raw(existing).all().first?.decode(column: "id", as: String.self) { return id }
        let id = services.ids.make(.storeCredit)
        try await sql.raw("""
            INSERT INTO store_credits (tenant_id, id, customer_id, currency, created_at)
            VALUES (\(bind: tenantID), \(bind: id), \(bind: customerID), \(bind: currency.code), \(bind: now))
            ON CONFLICT (tenant_id, customer_id, currency) DO NOTHING
            """).run()
        guard let opened = try await sql.raw(existing).all().first?.decode(column: "id", as: String.self) else { throw Problem.notFound("store credit") }
        if opened == id {
            try await LedgerStore(tenantID: tenantID).open(on: sql, id: id, unit: .currency(currency), kind: "store_credit", customerID: customerID,
                                                          flags: .debitsMustNotExceedCredits, now: now)
        }
        return opened
    }

    /// The credit accounts of a customer's whole merged cluster, by currency.
    func credits(on sql: any SQLDatabase, tenantID: String, customerID: String) async throws -> [StoreCredit] {
        let ids = try await sql.raw("""
            SELECT id FROM store_credits WHERE tenant_id = \(bind: tenantID)
              AND customer_id IN (SELECT id FROM customers WHERE tenant_id = \(bind: tenantID) AND canonical_id = \(bind: customerID))
            """).all().map { try $0.decode(column: "id", as: String.self) }
        return try await credits(on: sql, tenantID: tenantID, ids: ids)
    }

    /// The credit accounts `ids` name, with their balances, in id order.
    func credits(on sql: any SQLDatabase, tenantID: String, ids: [String]) async throws -> [StoreCredit] {
        guard !ids.isEmpty else { return [] }
        return try await sql.raw("""
            SELECT s.id, s.customer_id, s.currency, s.created_at, a.debits_pending, a.debits_posted, a.credits_posted
            FROM store_credits s JOIN ledger_accounts a ON a.tenant_id = s.tenant_id AND a.id = s.id
            WHERE s.tenant_id = \(bind: tenantID) AND s.id IN (\(binds: ids)) ORDER BY s.id
            """).all().map { row in
            let (debitsPending, debitsPosted, creditsPosted) = (try row.decode(column: "debits_pending", as: Int64.self),
                                                                try row.decode(column: "debits_posted", as: Int64.self),
                                                                try row.decode(column: "credits_posted", as: Int64.self))
            return StoreCredit(id: try row.decode(column: "id", as: String.self), customerId: try row.decode(column: "customer_id", as: String.self),
                               currency: try row.decode(column: "currency", as: String.self), balance: creditsPosted - debitsPosted,
                               available: creditsPosted - debitsPosted - debitsPending,
                               createdAt: StoredTime(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
        }
    }
}

/// The data of `store_credit.issued`: the account after the credit, and what was given and why.
struct StoreCreditIssued: Encodable {
    let storeCredit: StoreCredit
    let amount: Int64
    let reason: String
}
