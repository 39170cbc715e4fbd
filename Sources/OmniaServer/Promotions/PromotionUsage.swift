import Foundation
import HTTPTypes
import OmniaCore
import SQLKit

/// A promotion's budget and limits as the catalog keeps them (only promotions that have any).
struct PromotionQuota: Sendable {
    let budget: PromotionBudget?
    let limits: PromotionLimits?

    init?(budget: PromotionBudget?, limits: PromotionLimits?) {
        guard budget != nil || limits != nil else { return nil }
        self.budget = budget
        self.limits = limits
    }

    /// Each counter a sale using the promotion moves, with its ceiling of uses: the promotion's in
    /// all, the local day's, the customer's. The discount budget is kept by the ledger
    /// (`PromotionBudgetLedger`); the counters add the discount up for reports.
    func scopes(day: Int32, customerID: String?) -> [(scope: String, maximumUses: Int64)] {
        var scopes: [(String, Int64)] = []
        if let budget { scopes.append((PromotionUsage.totalScope, budget.redemptions ?? .max)) }
        if let perDay = limits?.perDay { scopes.append((PromotionUsage.dayScope(day), perDay)) }
        if let perCustomer = limits?.perCustomer, let customerID { scopes.append((PromotionUsage.customerScope(customerID), perCustomer)) }
        return scopes
    }
}

/// Why a promotion cannot be had now, as a commit is refused for it.
struct PromotionUnavailability: Sendable {
    /// `promotion_budget_exhausted` or `promotion_limit_reached`.
    let code: String
    let detail: String
}

/// The counters of `promotion_usage`: read by an evaluation (which then leaves out a promotion whose
/// budget or limit is used up), taken by a commit with conditional upserts (so concurrent commits
/// in any channel, process or server never take more than the budget), given back by returns.
struct PromotionUsage: Sendable {
    static let totalScope = "total"
    static func dayScope(_ day: Int32) -> String { "day:\(day)" }
    static func customerScope(_ customerID: String) -> String { "customer:\(customerID)" }

    let tenantID: String

    /// What is used of each quota'd promotion of the catalog, for this local day and customer: one
    /// read, none when no active promotion has a budget or limit.
    struct Snapshot: Sendable {
        /// Promotions that cannot apply at all now, with why.
        var unavailable: [String: PromotionUnavailability] = [:]
        /// Of a promotion with a budget amount: how much discount it has left (its ledger account's available).
        var remainingDiscount: [String: Int64] = [:]
    }

    func snapshot(on sql: any SQLDatabase, quotas: [String: PromotionQuota], day: Int32, customerID: String?) async throws -> Snapshot {
        var snapshot = Snapshot()
        guard !quotas.isEmpty else { return snapshot }
        var scopes = [Self.totalScope, Self.dayScope(day)]
        if let customerID { scopes.append(Self.customerScope(customerID)) }
        let rows = try await sql.raw("""
            SELECT promotion_id, scope, uses FROM promotion_usage
            WHERE tenant_id = \(bind: tenantID) AND promotion_id IN (\(binds: quotas.keys.sorted())) AND scope IN (\(binds: scopes))
            """).all()
        var used: [String: [String: Int64]] = [:]
        for row in rows {
            used[try row.decode(column: "promotion_id", as: String.self), default: [:]][try row.decode(column: "scope", as: String.self)] =
                try row.decode(column: "uses", as: Int64.self)
        }
        let budgeted = quotas.filter { $0.value.budget?.amount != nil }.map(\.key).sorted()
        let left = try await PromotionBudgetLedger(tenantID: tenantID).available(on: sql, promotionIDs: budgeted)
        for promotionID in budgeted {
            let remaining = left[promotionID] ?? 0
            if remaining <= 0 {
                snapshot.unavailable[promotionID] = .init(code: "promotion_budget_exhausted", detail: "its discount budget is used up")
            } else {
                snapshot.remainingDiscount[promotionID] = remaining
            }
        }
        for (promotionID, quota) in quotas where snapshot.unavailable[promotionID] == nil {
            let counters = used[promotionID] ?? [:]
            if quota.limits?.perCustomer != nil && customerID == nil {
                snapshot.unavailable[promotionID] = .init(code: "promotion_limit_reached", detail: "limited per customer: it needs an identified customer")
                continue
            }
            for (scope, maximumUses) in quota.scopes(day: day, customerID: customerID) where (counters[scope] ?? 0) >= maximumUses {
                snapshot.unavailable[promotionID] = Self.unavailability(scope, limit: maximumUses)
                break
            }
        }
        return snapshot
    }

    private static func unavailability(_ scope: String, limit: Int64) -> PromotionUnavailability {
        if scope == totalScope { return .init(code: "promotion_budget_exhausted", detail: "its budget of \(limit) redemptions is used up") }
        if scope.hasPrefix("day:") { return .init(code: "promotion_limit_reached", detail: "used \(limit) times today, its daily limit") }
        return .init(code: "promotion_limit_reached", detail: "the customer has used it \(limit) times, its limit per customer")
    }

    /// Takes one use and `discount` of each counter of each promotion, refusing the whole commit
    /// (its transaction fails with the refusal) when one would pass its ceiling. Counters are
    /// taken in one order — by promotion, then scope — so two commits never wait on each other's
    /// rows crosswise.
    func take(on sql: any SQLDatabase, _ uses: [(promotionID: String, quota: PromotionQuota, discount: Int64)], day: Int32, customerID: String?,
              now: Int64) async throws {
        var counters: [(promotionID: String, scope: String, maximumUses: Int64, discount: Int64)] = []
        for use in uses {
            if use.quota.limits?.perCustomer != nil && customerID == nil {
                throw PromotionCommitError.unavailable(use.promotionID, .init(code: "promotion_limit_reached",
                                                                             detail: "limited per customer: it needs an identified customer"))
            }
            for (scope, maximumUses) in use.quota.scopes(day: day, customerID: customerID) {
                counters.append((use.promotionID, scope, maximumUses, use.discount))
            }
        }
        counters.sort { ($0.promotionID, $0.scope) < ($1.promotionID, $1.scope) }
        for counter in counters {
            // A first use inserts the row; later ones add to it only while under the ceiling. Held
            // to the commit on PostgreSQL: a hot budget's row is locked only for the commit itself.
            try await sql.runDeferrable("""
                INSERT INTO promotion_usage (tenant_id, promotion_id, scope, uses, discount, updated_at)
                VALUES (\(bind: tenantID), \(bind: counter.promotionID), \(bind: counter.scope), 1, \(bind: counter.discount), \(bind: now))
                ON CONFLICT (tenant_id, promotion_id, scope) DO UPDATE SET uses = promotion_usage.uses + 1,
                  discount = promotion_usage.discount + excluded.discount, updated_at = excluded.updated_at
                WHERE promotion_usage.uses < \(bind: counter.maximumUses)
                RETURNING uses
                """, expecting: RowExpectation(rows: 1, error: PromotionCommitError.unavailable(counter.promotionID, Self.unavailability(
                    counter.scope, limit: counter.maximumUses))))
        }
    }

    /// Gives back what a return takes off a redemption: `discount` to every counter of the
    /// promotion the sale moved, and the use itself when the sale no longer has any of it.
    func giveBack(on sql: any SQLDatabase, promotionID: String, day: Int32, customerID: String?, discount: Int64, use: Bool, now: Int64) async throws {
        var scopes = [Self.totalScope, Self.dayScope(day)]
        if let customerID { scopes.append(Self.customerScope(customerID)) }
        try await sql.raw("""
            UPDATE promotion_usage SET uses = uses - \(bind: use ? 1 : 0), discount = discount - \(bind: discount), updated_at = \(bind: now)
            WHERE tenant_id = \(bind: tenantID) AND promotion_id = \(bind: promotionID) AND scope IN (\(binds: scopes))
            """).run()
    }
}

/// Why a commit is refused for a promotion.
enum PromotionCommitError {
    static func unavailable(_ promotionID: String, _ why: PromotionUnavailability) -> Problem {
        Problem(.conflict, code: why.code, detail: "promotion \(promotionID) cannot be used: \(why.detail); evaluate the cart again",
                extensions: ["promotion_id": .string(promotionID)])
    }
}
