import Foundation
import HTTPTypes
import OmniaCore
import SQLKit

/// One promotion's part of a committed sale, as stored (`promotion_redemptions`) and shown.
struct PromotionRedemption: Codable, Sendable {
    struct LineDiscount: Codable, Sendable, Equatable {
        /// The sale's line number (from 1).
        let line: Int
        let amount: Int64
    }

    let id: String
    let promotionId: String
    /// The version of the promotion's terms the sale used.
    let version: Int
    let transactionId: String
    let customerId: String?
    let channelId: String
    let currency: String
    let discount: Int64
    let lines: [LineDiscount]
    let bonusPoints: Int64
    /// The coupon (as printed) whose use it took.
    let couponCode: String?
    /// What it issued for the next visit: coupon codes assigned to the customer, gift cards (ids).
    var issuedCoupons: [String] = []
    var issuedGiftCards: [String] = []
    /// What returns of the sale have given back of `discount` so far.
    let returnedDiscount: Int64
    /// Whether returns took back everything it discounted, giving its use back to the budget and limits.
    let useReturned: Bool
    let occurredAt: StoredTime
}

/// `promotion_redemptions`: written by a commit, read by its retry, and given back by returns.
struct PromotionRedemptionStore: Sendable {
    let tenantID: String

    /// A redemption about to be written, with what its row needs beyond the view.
    struct NewRow: Sendable {
        let redemption: PromotionRedemption
        let localDay: Int32
        /// The sale's net (after every discount): the revenue reports credit to the promotion.
        let saleNet: Int64
    }

    func insert(on sql: any SQLDatabase, _ rows: [NewRow], now: Int64) async throws {
        try await sql.insertRows(into: "promotion_redemptions", columns: [
            "tenant_id", "id", "promotion_id", "version", "transaction_id", "customer_id", "channel_id", "currency", "local_day", "discount", "sale_net",
            "bonus_points", "line_discounts", "coupon_code", "issued", "returned_discount", "use_returned", "occurred_at", "created_at",
        ], rows) { row, values in
            let redemption = row.redemption
            values.add(tenantID)
            values.add(redemption.id)
            values.add(redemption.promotionId)
            values.add(Int64(redemption.version))
            values.add(redemption.transactionId)
            values.add(redemption.customerId)
            values.add(redemption.channelId)
            values.add(redemption.currency)
            values.add(Int64(row.localDay))
            values.add(redemption.discount)
            values.add(row.saleNet)
            values.add(redemption.bonusPoints)
            values.add(Self.lineText(redemption.lines))
            values.add(redemption.couponCode)
            values.add(redemption.issuedCoupons.isEmpty && redemption.issuedGiftCards.isEmpty ? nil
                : try? JSONCoding.text(Issued(coupons: redemption.issuedCoupons, giftCards: redemption.issuedGiftCards)))
            values.add(Int64(0))
            values.add(Int64(0))
            values.add(redemption.occurredAt.milliseconds)
            values.add(now)
        }
    }

    /// The redemptions of a sale, in promotion order.
    func redemptions(on sql: any SQLDatabase, transactionID: String) async throws -> [(redemption: PromotionRedemption, localDay: Int32)] {
        try await sql.raw("""
            SELECT * FROM promotion_redemptions WHERE tenant_id = \(bind: tenantID) AND transaction_id = \(bind: transactionID) ORDER BY id
            """).all().map { row in
            let issued = try row.decode(column: "issued", as: String?.self).flatMap { try? JSONCoding.decoder.decode(Issued.self, from: Data($0.utf8)) }
            var redemption = PromotionRedemption(
                id: try row.decode(column: "id", as: String.self), promotionId: try row.decode(column: "promotion_id", as: String.self),
                version: try row.decode(column: "version", as: Int.self), transactionId: transactionID,
                customerId: try row.decode(column: "customer_id", as: String?.self), channelId: try row.decode(column: "channel_id", as: String.self),
                currency: try row.decode(column: "currency", as: String.self), discount: try row.decode(column: "discount", as: Int64.self),
                lines: Self.lines(try row.decode(column: "line_discounts", as: String.self)), bonusPoints: try row.decode(column: "bonus_points", as: Int64.self),
                couponCode: try row.decode(column: "coupon_code", as: String?.self),
                returnedDiscount: try row.decode(column: "returned_discount", as: Int64.self),
                useReturned: try row.decode(column: "use_returned", as: Int64.self) != 0,
                occurredAt: StoredTime(milliseconds: try row.decode(column: "occurred_at", as: Int64.self)))
            redemption.issuedCoupons = issued?.coupons ?? []
            redemption.issuedGiftCards = issued?.giftCards ?? []
            return (redemption, Int32(try row.decode(column: "local_day", as: Int64.self)))
        }
    }

    /// A return of the sale `saleID`: each promotion it used gives back its discount on the units
    /// returned (by cumulative shares, so returning everything in any number of returns gives back
    /// exactly what it took), and, once none of what it discounted is left sold, its use — to the
    /// budget, the day's and the customer's limits, and the coupon that unlocked it — and the gift
    /// cards it issued are disabled.
    func giveBack(on sql: any SQLDatabase, saleID: String, saleLines: [TransactionLine], takeBacks: [TransactionService.Plan.TakeBack],
                  services: AppServices, actor: Actor) async throws {
        let stored = try await redemptions(on: sql, transactionID: saleID)
        guard !stored.isEmpty else { return }
        let now = services.nowMilliseconds
        let returning = Dictionary(takeBacks.map { ($0.lineNumber, $0) }, uniquingKeysWith: { first, _ in first })
        let usage = PromotionUsage(tenantID: tenantID)
        for (redemption, localDay) in stored where !redemption.useReturned {
            var given: Int64 = 0
            var allReturned = true
            // A promotion that discounted no line (bonus points, free shipping, something for next
            // time) was for the whole sale: its use comes back with the last of the sale's lines.
            let lines = redemption.lines.isEmpty ? saleLines.map { PromotionRedemption.LineDiscount(line: $0.lineNumber, amount: 0) } : redemption.lines
            for line in lines {
                guard let sold = saleLines.first(where: { $0.lineNumber == line.line }) else { continue }
                var returnedAfter = sold.returnedQuantity
                if let takeBack = returning[line.line] {
                    given += TransactionMath.refund(net: line.amount, sold: takeBack.sold, alreadyReturned: takeBack.returnedBefore, quantity: takeBack.quantity)
                    returnedAfter = takeBack.returnedBefore + takeBack.quantity
                }
                if returnedAfter < sold.quantity { allReturned = false }
            }
            guard given > 0 || allReturned else { continue }
            try await sql.raw("""
                UPDATE promotion_redemptions SET returned_discount = returned_discount + \(bind: given), use_returned = \(bind: allReturned ? 1 : 0)
                WHERE tenant_id = \(bind: tenantID) AND id = \(bind: redemption.id)
                """).run()
            try await usage.giveBack(on: sql, promotionID: redemption.promotionId, day: localDay, customerID: redemption.customerId, discount: given,
                                     use: allReturned, now: now)
            try await PromotionBudgetLedger(tenantID: tenantID).giveBack(on: sql, promotionID: redemption.promotionId, amount: given,
                                                                          currency: redemption.currency, returnReason: "return of \(saleID)",
                                                                          ids: services.ids, requestID: actor.requestID, now: now)
            // What it gave for next time goes with it: a gift card it issued is disabled, whatever is left on it.
            for cardID in allReturned ? redemption.issuedGiftCards : [] {
                do {
                    _ = try await GiftCardService(services: services).disable(on: sql, tenantID: tenantID, id: cardID,
                                                                             GiftCardActionRequest(reason: "return of \(saleID)"), actor: actor)
                } catch let problem as Problem where problem.status == .conflict {
                    continue
                }
            }
            if allReturned, let couponCode = redemption.couponCode {
                let coupons = CouponService(services: services)
                if let coupon = try await coupons.resolve(on: sql, tenantID: tenantID, couponCode) {
                    try await coupons.giveBack(coupon, customerID: redemption.customerId, holdID: saleID, on: sql, tenantID: tenantID, now: now)
                }
            }
        }
    }

    private struct Issued: Codable {
        let coupons: [String]
        let giftCards: [String]
    }

    private static func lineText(_ lines: [PromotionRedemption.LineDiscount]) -> String {
        (try? JSONCoding.text(lines.map { [Int64($0.line), $0.amount] })) ?? "[]"
    }

    private static func lines(_ text: String) -> [PromotionRedemption.LineDiscount] {
        ((try? JSONCoding.decoder.decode([[Int64]].self, from: Data(text.utf8))) ?? []).compactMap { pair in
            pair.count == 2 ? .init(line: Int(pair[0]), amount: pair[1]) : nil
        }
    }
}
