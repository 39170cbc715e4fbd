import Foundation
import HTTPTypes
import OmniaCore
import SQLKit

/// A promotion's discount budget in the benefits ledger: an account of its own in the promotion's
/// currency (`prm_…_budget`, which can never go below zero), funded from the tenant's
/// `promotion_budgets` control account when the budget is set or raised, and spent into the
/// `promotion_discounts` control account by each committed sale's discount — a held conditional
/// write, so two channels committing the last of it at once cannot both succeed. A return gives
/// its share back; lowering the budget takes back what is left, never what is spent.
struct PromotionBudgetLedger: Sendable {
    static let fundingPurpose = "promotion_budgets"
    static let spendingPurpose = "promotion_discounts"

    let tenantID: String

    static func accountID(of promotionID: String) -> String { promotionID + "_budget" }

    private var ledger: LedgerStore { LedgerStore(tenantID: tenantID) }

    /// Moves the account to a budget of `amount` from one of `previous` (either nil: none): the
    /// difference is funded, or taken back while it is still unspent — else 400 `budget_below_spent`.
    func fund(on sql: any SQLDatabase, promotionID: String, currency: String?, from previous: Int64?, to amount: Int64?, ids: IDGenerator,
              requestID: String?, now: Int64) async throws {
        let delta = (amount ?? 0) - (previous ?? 0)
        guard delta != 0, let currency, let unit = LedgerUnit(rawValue: currency) else { return }
        let account = Self.accountID(of: promotionID)
        try await ledger.open(on: sql, id: account, unit: unit, kind: "promotion_budget", customerID: nil, flags: .debitsMustNotExceedCredits, now: now)
        let control = LedgerStore.controlAccountID(Self.fundingPurpose, unit: unit, for: promotionID)
        do {
            _ = try await ledger.post(on: sql, [delta > 0
                ? LedgerTransferRequest(debitAccountID: control, creditAccountID: account, amount: delta, unit: unit)
                : LedgerTransferRequest(debitAccountID: account, creditAccountID: control, amount: -delta, unit: unit)],
                ids: ids, reason: "budget of \(promotionID) set to \(amount ?? 0)", requestID: requestID, now: now)
        } catch is LedgerRefused {
            let left = try await available(on: sql, promotionIDs: [promotionID])[promotionID] ?? 0
            throw Problem.validation([FieldError(field: "budget.amount", code: "budget_below_spent",
                                                 detail: "\((previous ?? 0) - left) of the budget is spent already; it can go down by \(left) at most")])
        }
    }

    /// What is left of each promotion's budget: one read for all.
    func available(on sql: any SQLDatabase, promotionIDs: [String]) async throws -> [String: Int64] {
        guard !promotionIDs.isEmpty else { return [:] }
        return try await ledger.accounts(on: sql, ids: promotionIDs.map(Self.accountID)).reduce(into: [:]) { left, account in
            left[String(account.id.dropLast("_budget".count))] = account.balance.available
        }
    }

    /// The budget accounts of `promotionIDs`, as a commit reads them before its transaction.
    func accounts(on sql: any SQLDatabase, promotionIDs: [String]) async throws -> [String: LedgerAccount] {
        guard !promotionIDs.isEmpty else { return [:] }
        return Dictionary(uniqueKeysWithValues: try await ledger.accounts(on: sql, ids: promotionIDs.map(Self.accountID)).map { ($0.id, $0) })
    }

    /// Spends each discount from its promotion's budget, checked against the accounts as read and,
    /// held to the commit, against the rows as they are then (`LedgerStore.postEach`): a budget
    /// found short fails the transaction with `LedgerStore.accountsChanged`.
    func spend(on sql: any SQLDatabase, _ discounts: [(promotionID: String, amount: Int64, unit: LedgerUnit)], accounts: [String: LedgerAccount],
               saleID: String, ids: IDGenerator, requestID: String?, now: Int64) async throws {
        let spending = discounts.filter { $0.amount > 0 }
        guard !spending.isEmpty else { return }
        let transfers = spending.map { discount in
            LedgerTransferRequest(debitAccountID: Self.accountID(of: discount.promotionID),
                                  creditAccountID: LedgerStore.controlAccountID(Self.spendingPurpose, unit: discount.unit, for: saleID),
                                  amount: discount.amount, unit: discount.unit)
        }
        let results = try await ledger.postEach(on: sql, transfers, accounts: accounts, reasons: transfers.map { _ in saleID },
                                                requestIDs: transfers.map { _ in requestID }, ids: ids, now: now)
        for (discount, result) in zip(spending, results) {
            if case .failure = result {
                throw PromotionCommitError.unavailable(discount.promotionID, .init(code: "promotion_budget_exhausted",
                                                                                  detail: "what is left of its budget is less than its discount here"))
            }
        }
    }

    /// A return's share of a discount back into the promotion's budget.
    func giveBack(on sql: any SQLDatabase, promotionID: String, amount: Int64, currency: String, returnReason: String, ids: IDGenerator, requestID: String?,
                  now: Int64) async throws {
        guard amount > 0, let unit = LedgerUnit(rawValue: currency),
            try await ledger.accounts(on: sql, ids: [Self.accountID(of: promotionID)]).first != nil else { return }
        try await ledger.postUnrefusable(on: sql, [LedgerTransferRequest(debitAccountID: LedgerStore.controlAccountID(Self.spendingPurpose, unit: unit, for: promotionID),
                                                                         creditAccountID: Self.accountID(of: promotionID), amount: amount, unit: unit)],
                                         reasons: [returnReason], requestID: requestID, ids: ids, now: now)
    }
}
