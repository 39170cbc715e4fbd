import Crypto
import Foundation
import HTTPTypes
import OmniaCore
import SQLKit

/// `POST /v1/checkout/commit`: a cart evaluated once more and posted as a sale, every line
/// carrying the discount the promotions allocated to it (so a partial return in any channel
/// refunds exactly the line's net and takes back exactly its points), and in the same transaction
/// each promotion's budget and limits, and the coupon that unlocked it, taken by conditional
/// writes — two channels committing the last of a budget at once cannot both succeed.
///
/// The evaluation's reads happen before the write transaction, off SQLite's single writer; the
/// conditional writes inside it are what guarantee the budgets, whatever changed in between.
struct CheckoutCommitService: Sendable {
    let services: AppServices

    /// A commit worked out before its transaction: a retry to answer from what is stored, or a sale to record.
    enum Prepared: Sendable {
        case retry(TransactionRow, contentHash: String)
        case sale(Sale)
    }

    struct Sale: Sendable {
        let cart: CheckoutEvaluationService.Cart
        let result: PromotionEvaluation
        let draft: TransactionDraft
        let contentHash: String
        /// Per line, the promotions' bonus points (nil: none).
        let bonusPoints: [Int64]?
        /// The budget accounts of the applied promotions that have a discount budget, as read before the transaction.
        let budgetAccounts: [String: LedgerAccount]
    }

    func prepare(on sql: any SQLDatabase, caller: Caller, _ request: CommitCheckoutRequest, client: String?) async throws -> Prepared {
        var validator = Validator()
        let externalID = validator.text(request.externalId, field: "external_id", maxLength: 100)
        if let promotions = request.promotions {
            if promotions.count > 100 { validator.fail("promotions", "invalid_length", "promotions lists at most 100 promotions") }
            for (index, id) in promotions.enumerated() where !IDGenerator.isWellFormed(id, prefix: .promotion) {
                validator.fail("promotions[\(index)]", "unknown_promotion", "promotions[\(index)] is not a promotion id (prm_…)")
            }
        }
        guard validator.isValid, let externalID else { throw Problem.validation(validator.errors) }
        let evaluation = CheckoutEvaluationService(services: services)
        let cart = try await evaluation.prepare(on: sql, caller: caller, request.evaluation, client: client)
        let contentHash = try Self.contentHash(request, channelID: cart.channel.id)
        if let existing = try await TransactionStore(tenantID: caller.tenantID).existing(on: sql, channelID: cart.channel.id, externalID: externalID) {
            return .retry(existing, contentHash: contentHash)
        }
        let (result, unavailable) = try await evaluation.run(cart, on: sql)
        if let expected = request.promotions { try Self.check(result, expected: expected, unavailable: unavailable) }
        let lines = request.lines ?? []
        let record = RecordTransactionRequest(
            externalId: externalID, kind: TransactionKind.sale.rawValue, channel: cart.channel.id, location: nil,
            occurredAt: request.at ?? Timestamp.text(cart.at), currency: cart.currency.code, customer: cart.customerID.map { ["id": $0] }, original: nil,
            lines: zip(lines, result.lineDiscounts).map { line, discount in
                LineInput(sku: line.sku, name: line.name, category: line.category, quantity: line.quantity, unitPrice: line.unitPrice, discount: discount)
            },
            discounts: nil, taxes: request.taxes, taxesIncluded: request.taxesIncluded, tenders: request.tenders, total: nil)
        let draft = try TransactionService(services: services).validate(record, caller: caller)
        let budgeted = result.applied.map(\.promotionID).filter { cart.catalog.quotas[$0]?.budget?.amount != nil }
        let accounts = try await PromotionBudgetLedger(tenantID: caller.tenantID).accounts(on: sql, promotionIDs: budgeted)
        return .sale(Sale(cart: cart, result: result, draft: draft, contentHash: contentHash, bonusPoints: Self.bonusPerLine(result), budgetAccounts: accounts))
    }

    func commit(on sql: any SQLDatabase, caller: Caller, _ prepared: Prepared, actor: Actor) async throws -> CheckoutCommit {
        let sale: Sale
        switch prepared {
        case .retry(let existing, let contentHash): return try await stored(existing, contentHash: contentHash, on: sql, tenantID: caller.tenantID)
        case .sale(let prepared): sale = prepared
        }
        let recorded = try await TransactionService(services: services).record(on: sql, caller: caller, draft: sale.draft, actor: actor,
                                                                              contentHash: sale.contentHash, bonusPoints: sale.bonusPoints)
        // The same commit, recorded by a concurrent retry since it was prepared: nothing more to take.
        guard recorded.created else {
            let row = try await TransactionStore(tenantID: caller.tenantID).row(on: sql, id: recorded.transaction.id)
            return try await stored(row!, contentHash: sale.contentHash, on: sql, tenantID: caller.tenantID)
        }
        let saleRow = recorded.transaction
        let cart = sale.cart
        let now = services.nowMilliseconds
        var rows: [PromotionRedemptionStore.NewRow] = []
        var issued: [CheckoutCommit.Issued] = []
        for applied in sale.result.applied {
            let (row, given) = try await redeem(applied, of: sale, transaction: saleRow, on: sql, caller: caller, actor: actor, now: now)
            rows.append(row)
            issued += given
        }
        try await PromotionRedemptionStore(tenantID: caller.tenantID).insert(on: sql, rows, now: now)
        // Last, and held to the commit on PostgreSQL: a hot promotion's rows are every commit's.
        try await PromotionUsage(tenantID: caller.tenantID).take(on: sql, sale.result.applied.compactMap { applied in
            cart.catalog.quotas[applied.promotionID].map { (applied.promotionID, $0, applied.discount) }
        }, day: cart.localDay, customerID: cart.customerID, now: now)
        if let unit = LedgerUnit(rawValue: cart.currency.code) {
            try await PromotionBudgetLedger(tenantID: caller.tenantID).spend(
                on: sql, sale.result.applied.filter { sale.budgetAccounts[PromotionBudgetLedger.accountID(of: $0.promotionID)] != nil }
                    .map { ($0.promotionID, $0.discount, unit) },
                accounts: sale.budgetAccounts, saleID: saleRow.id, ids: services.ids, requestID: actor.requestID, now: now)
        }
        return CheckoutCommit(
            transaction: saleRow, promotions: rows.map(\.redemption), discount: sale.result.discount, bonusPoints: sale.result.bonusPoints,
            freeShipping: sale.result.freeShipping, codes: cart.codes, issued: issued, created: true)
    }

    /// One applied promotion's part of the sale: the coupon that unlocked it spent (held by the
    /// sale itself, so a return of everything it discounted gives it back), and what it gives for
    /// next time — a code of each coupon campaign into the customer's wallet, and gift cards, whose
    /// codes are shown once, in this answer.
    private func redeem(_ applied: PromotionEvaluation.Applied, of sale: Sale, transaction: SalesTransaction, on sql: any SQLDatabase, caller: Caller,
                        actor: Actor, now: Int64) async throws -> (PromotionRedemptionStore.NewRow, [CheckoutCommit.Issued]) {
        let cart = sale.cart
        var coupon: CouponService.Resolved?
        if case .couponCampaign(let campaignID) = cart.catalog.byID[applied.promotionID]?.unlock, let entered = cart.coupons[campaignID] {
            try await CouponService(services: services).take(entered, customerID: cart.customerID, holdID: transaction.id, redeemed: true, on: sql,
                                                             tenantID: caller.tenantID, now: now)
            coupon = entered
        }
        var issued: [CheckoutCommit.Issued] = []
        var issuedCoupons: [String] = []
        if let customerID = cart.customerID {
            for campaignID in applied.couponCampaigns {
                guard let code = try await CampaignRuns(services: services).assignCodes(on: sql, tenantID: caller.tenantID, couponCampaignID: campaignID,
                                                                                       to: [customerID], after: nil, now: now)[customerID] else { continue }
                issuedCoupons.append(CouponCode.display(code))
                issued.append(.init(promotionId: applied.promotionID, type: "coupon", couponCode: CouponCode.display(code), couponCampaignId: campaignID))
            }
        }
        var issuedCards: [String] = []
        for amount in applied.giftCardAmounts {
            let card = try await GiftCardService(services: services).issue(
                on: sql, caller: caller, IssueGiftCardRequest(amount: amount, currency: cart.currency.code, customerId: cart.customerID, active: true), actor: actor)
            issuedCards.append(card.id)
            issued.append(.init(promotionId: applied.promotionID, type: "gift_card", giftCardId: card.id, giftCardCode: card.code, amount: amount))
        }
        var redemption = PromotionRedemption(
            id: services.ids.make(.promotionRedemption), promotionId: applied.promotionID, version: applied.version, transactionId: transaction.id,
            customerId: cart.customerID, channelId: cart.channel.id, currency: cart.currency.code, discount: applied.discount,
            lines: applied.lineDiscounts.enumerated().compactMap { index, amount in amount > 0 ? .init(line: index + 1, amount: amount) : nil },
            bonusPoints: applied.bonusPoints, couponCode: coupon?.coupon.code, returnedDiscount: 0, useReturned: false, occurredAt: transaction.occurredAt)
        (redemption.issuedCoupons, redemption.issuedGiftCards) = (issuedCoupons, issuedCards)
        return (.init(redemption: redemption, localDay: cart.localDay, saleNet: transaction.subtotal - transaction.discountTotal), issued)
    }

    /// A retry: the stored sale and its redemptions, or 409 when the external id was used for another request.
    private func stored(_ row: TransactionRow, contentHash: String, on sql: any SQLDatabase, tenantID: String) async throws -> CheckoutCommit {
        guard row.contentHash == contentHash else { throw TransactionError.externalIDTaken(externalID: row.externalId, transactionID: row.id) }
        let transaction = try await TransactionStore(tenantID: tenantID).views(on: sql, [row])[0]
        let promotions = try await PromotionRedemptionStore(tenantID: tenantID).redemptions(on: sql, transactionID: row.id).map(\.redemption)
        return CheckoutCommit(transaction: transaction, promotions: promotions, discount: promotions.reduce(0) { $0 + $1.discount },
                              bonusPoints: promotions.reduce(0) { $0 + $1.bonusPoints }, freeShipping: false, codes: [],
                              issued: promotions.flatMap { redemption in
                                  redemption.issuedCoupons.map { CheckoutCommit.Issued(promotionId: redemption.promotionId, type: "coupon", couponCode: $0) }
                                      + redemption.issuedGiftCards.map { CheckoutCommit.Issued(promotionId: redemption.promotionId, type: "gift_card", giftCardId: $0) }
                              }, created: false)
    }

    /// The promotions the customer was shown must be the ones that apply now.
    private static func check(_ result: PromotionEvaluation, expected: [String], unavailable: [String: PromotionUnavailability]) throws {
        let applied = Set(result.applied.map(\.promotionID))
        let expected = Set(expected)
        guard applied != expected else { return }
        for missing in expected.subtracting(applied).sorted() {
            if let why = unavailable[missing] { throw PromotionCommitError.unavailable(missing, why) }
        }
        throw Problem(.conflict, code: "evaluation_changed",
                      detail: "the promotions that apply are no longer the ones given in promotions; evaluate the cart again",
                      extensions: ["applied": .array(result.applied.map { .string($0.promotionID) }),
                                   "no_longer_applied": .array(expected.subtracting(applied).sorted().map(JSONValue.string)),
                                   "newly_applied": .array(applied.subtracting(expected).sorted().map(JSONValue.string))])
    }

    /// The bonus points of each promotion spread over the lines it discounted (every line, by its
    /// net, when it discounted none): earned with those lines, so a return takes back exactly theirs.
    static func bonusPerLine(_ result: PromotionEvaluation) -> [Int64]? {
        guard result.bonusPoints > 0 else { return nil }
        var perLine = Array(repeating: Int64(0), count: result.lineTotals.count)
        for applied in result.applied where applied.bonusPoints > 0 {
            let nets = zip(result.lineTotals, result.lineDiscounts).map { $0 - $1 }
            let weights = applied.discount > 0 ? applied.lineDiscounts : nets.contains(where: { $0 > 0 }) ? nets : perLine.map { _ in 1 }
            for (index, share) in spread(applied.bonusPoints, over: weights).enumerated() { perLine[index] += share }
        }
        return perLine
    }

    /// `amount` split over `weights` in proportion, exactly (largest remainder, ties to the earlier).
    static func spread(_ amount: Int64, over weights: [Int64]) -> [Int64] {
        let total = weights.reduce(0, +)
        guard total > 0 else { return weights.map { _ in 0 } }
        var shares: [Int64] = []
        var remainders: [(remainder: Int64, index: Int)] = []
        for (index, weight) in weights.enumerated() {
            let (quotient, remainder) = total.dividingFullWidth(amount.multipliedFullWidth(by: weight))
            shares.append(quotient)
            remainders.append((remainder, index))
        }
        var left = amount - shares.reduce(0, +)
        for entry in remainders.sorted(by: { $0.remainder != $1.remainder ? $0.remainder > $1.remainder : $0.index < $1.index }) where left > 0 {
            shares[entry.index] += 1
            left -= 1
        }
        return shares
    }

    /// The hash a retry must match: of the request as sent, with the channel as resolved.
    static func contentHash(_ request: CommitCheckoutRequest, channelID: String) throws -> String {
        var resolved = request
        resolved.channel = channelID
        return "commit:" + SHA256.hash(data: try JSONCoding.encode(resolved)).hexString
    }
}
